// The fake authority's HTML: sign-in, account picker, consent, device code entry, form_post
// auto-submit and error pages, written with hono's `html` template, which escapes every interpolated value.

import { html as template, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** A page or a fragment of one, for `c.html()`. */
export type Html = HtmlEscapedString;

/** What a page interpolates: text (escaped), numbers, fragments, lists of fragments, or nothing. */
type Value = string | number | Html | Html[] | undefined;

// hono's template is asynchronous only when a value is a promise, which `Value` rules out.
function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  return template(strings, ...values) as Html;
}

const STYLE = `
  *{box-sizing:border-box}
  body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
    background:#f2f2f2;font:15px/1.4 "Segoe UI",system-ui,-apple-system,sans-serif;color:#1b1b1b}
  main{width:100%;max-width:440px;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
  .brand{font-weight:600;color:#737373;margin-bottom:16px}
  h1{font-size:24px;font-weight:600;margin:0 0 16px}
  label{display:block;margin:12px 0 4px;font-size:13px}
  input[type=text],input[type=email],input[type=password]{width:100%;padding:6px 0;font:inherit;
    border:0;border-bottom:1px solid #666;outline:none}
  input:focus{border-bottom-color:#0067b8}
  .error{color:#e81123;margin:8px 0}
  .actions{display:flex;flex-direction:row-reverse;gap:8px;margin-top:24px}
  button{min-width:108px;padding:6px 12px;font:inherit;border:1px solid #0067b8;background:#0067b8;
    color:#fff;cursor:pointer}
  button.secondary{background:#ccc;border-color:#ccc;color:#000}
  ul.accounts{list-style:none;padding:0;margin:0}
  ul.accounts button{width:100%;text-align:left;background:#fff;color:#1b1b1b;border:0;
    border-bottom:1px solid #ddd;padding:12px 4px}
  ul.accounts button:hover{background:#f2f2f2}
  ul.accounts small{display:block;color:#666}
  code.user-code{font-size:20px;letter-spacing:2px}
`;

// Primary buttons come first in the markup so Enter submits them (the first submit button is the
// default); `.actions` reverses the row so Cancel still shows on the left.
function page(title: string, body: Html): Html {
  return html`
    <!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${title}</title>
        <style>${raw(STYLE)}</style>
      </head>
      <body>
        <main>
    <div class="brand">Fake Entra ID</div>
    ${body}
        </main>
      </body>
    </html>
  `;
}

function errorLine(error: string | undefined): Html | undefined {
  return error ? html`<p class="error" id="error" role="alert">${error}</p>` : undefined;
}

function hidden(name: string, value: string): Html {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

/** What the sign-in page shows. */
export interface LoginPageOptions {
  /** The pending authorization request id, posted back as `request`. */
  requestId: string;
  /** Prefilled username (from `login_hint` or a failed attempt). */
  username?: string;
  /** Shown above the form, e.g. a wrong-password message. */
  error?: string;
}

/** The username + password sign-in page; posts to `/login`. */
export function loginPage(options: LoginPageOptions): Html {
  return page(
    "Sign in",
    html`<h1>Sign in</h1>
${errorLine(options.error)}
<form method="post" action="/login">
${hidden("request", options.requestId)}
<label for="username">Email, phone, or Skype</label>
<input type="email" id="username" name="username" autocomplete="username" required autofocus value="${
      options.username ?? ""
    }">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" id="submit" name="action" value="login">Sign in</button>
<button type="submit" id="cancel" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</div>
</form>`,
  );
}

/** One entry of the account picker. */
export interface PickerAccount {
  /** Sign-in name. */
  username: string;
  /** Display name. */
  name: string;
}

/** The "Pick an account" page; posts `account` (an index or `other`) to `/select`. */
export function accountPickerPage(requestId: string, accounts: PickerAccount[]): Html {
  const items = accounts.map((a, i) =>
    html`<li><button type="submit" id="account-${i}" name="account" value="${i}">${a.name}<small>${a.username}</small></button></li>\n`
  );
  return page(
    "Pick an account",
    html`<h1>Pick an account</h1>
<form method="post" action="/select">
${hidden("request", requestId)}
<ul class="accounts">
${items}<li><button type="submit" id="account-other" name="account" value="other">Use another account</button></li>
</ul>
</form>`,
  );
}

/** The consent page; posts `action=accept|cancel` to `/consent`. */
export function consentPage(requestId: string, username: string, clientId: string, scopes: string[]): Html {
  return page(
    "Permissions requested",
    html`<h1>Permissions requested</h1>
<p>${username}</p>
<p>The application <strong>${clientId}</strong> would like to:</p>
<ul>
${scopes.map((scope) => html`<li>${scope}</li>\n`)}</ul>
<form method="post" action="/consent">
${hidden("request", requestId)}
<div class="actions">
<button type="submit" id="accept" name="action" value="accept">Accept</button>
<button type="submit" id="cancel" name="action" value="cancel" class="secondary">Cancel</button>
</div>
</form>`,
  );
}

/** What the device code entry page shows. */
export interface DeviceLoginPageOptions {
  /** Prefilled code (from `?otc=`). */
  code?: string;
  /** Prefilled username. */
  username?: string;
  /** Shown above the form. */
  error?: string;
}

/** The device code entry page: code, username and password on one form; posts to `/devicelogin`. */
export function deviceLoginPage(options: DeviceLoginPageOptions = {}): Html {
  return page(
    "Enter code",
    html`
      <h1>Enter code</h1>
      <p>Enter the code displayed on your app or device, then sign in.</p>
      ${errorLine(options.error)}
      <form method="post" action="/devicelogin">
        <label for="code">Code</label>
        <input type="text" id="code" name="code" autocomplete="off" required value="${options.code ?? ""}">
        <label for="username">Email, phone, or Skype</label>
        <input type="email" id="username" name="username" autocomplete="username" required value="${options
          .username ?? ""}">
        <label for="password">Password</label>
        <input type="password" id="password" name="password" autocomplete="current-password" required>
        <div class="actions">
          <button type="submit" id="submit" name="action" value="login">Next</button>
          <button type="submit" id="cancel" name="action" value="cancel" class="secondary"
            formnovalidate>Cancel</button>
        </div>
      </form>
    `,
  );
}

/** A page with a heading and one message, e.g. "You have signed in". */
export function messagePage(title: string, message: string): Html {
  return page(title, html`<h1>${title}</h1>\n<p id="message">${message}</p>`);
}

/** An error page, shown instead of redirecting when the redirect URI cannot be trusted. */
export function errorPage(message: string, detail?: string): Html {
  return page(
    "Sign in",
    html`<h1>Sorry, but we're having trouble signing you in.</h1>
<p class="error" id="error">${message}</p>${detail && html`\n<pre>${detail}</pre>`}`,
  );
}

/** The page a server error answers with. */
export function serverErrorPage(status: number): Html {
  return page(
    "Service unavailable",
    html`<h1>Service unavailable</h1>\n<p>HTTP Error ${status}. Please try again later.</p>`,
  );
}

/** The `response_mode=form_post` page: a form that posts `fields` to `action` as soon as it loads. */
export function autoPostPage(action: string, fields: Record<string, string>): Html {
  return html`
    <!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <title>Working...</title>
      </head>
      <body>
        <form method="post" action="${action}">
    ${Object.entries(fields).map(([name, value]) =>
      html`${hidden(name, value)}\n`
    )}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript>
        </form>
        <script>document.forms[0].submit()</script>
      </body>
    </html>
  `;
}
