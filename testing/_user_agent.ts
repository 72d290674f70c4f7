// A user at a browser, reduced to what the fake authority's pages need: opens the authorization URL,
// signs in on the sign-in page, answers the consent page, and delivers the answer (a redirect or an
// auto-submitted form_post) to the app's redirect URI.

import { parseAutoPostForm } from "./form_post.ts";
import { decodeEntities } from "./_html.ts";

/** What the user does on the consent page. */
export type ConsentAnswer = "accept" | "cancel";

/** The user's part: who signs in, and how they answer consent. */
export interface UserAgentOptions {
  /** The fake authority's routing fetch. */
  fetch: typeof fetch;
  /** The sign-in name. */
  username: string;
  /** The password typed on the sign-in page. */
  password: string;
  /** The consent page's answer; default `"accept"`. */
  consent?: ConsentAnswer;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_STEPS = 10;

function titleOf(html: string): string {
  return /<title>([^<]*)<\/title>/i.exec(html)?.[1]?.trim() ?? "";
}

/** What a page tells the user went wrong: its `#error` element's text, "" when it has none. */
function errorTextOf(html: string): string {
  const element = /<(\w+)\b[^>]*\bid="error"[^>]*>([\s\S]*?)<\/\1>/i.exec(html);
  return element ? decodeEntities(element[2].replace(/<[^>]*>/g, "")).trim() : "";
}

/** `what`, then the page's status and title, then its error text: where a test author should look. */
function pageError(what: string, response: Response, html: string): Error {
  const error = errorTextOf(html);
  return new Error(`${what} (HTTP ${response.status}, page "${titleOf(html)}")${error ? `: ${error}` : ""}`);
}

/**
 * Opens `url` and acts as the user until the answer reached the redirect URI.
 *
 * @throws {Error} when a page is not one the user knows how to answer (e.g. an error page).
 */
export async function signInAt(url: string, options: UserAgentOptions): Promise<void> {
  let response = await options.fetch(url, { redirect: "manual" });
  let at = url;
  for (let step = 0; step < MAX_STEPS; step++) {
    const location = response.headers.get("location");
    if (REDIRECTS.has(response.status) && location !== null) {
      // The redirect URI (a code or an error), or another page of the authority.
      await response.body?.cancel();
      at = new URL(location, at).href;
      response = await options.fetch(at, { redirect: "manual" });
      continue;
    }
    const html = await response.text();
    const title = titleOf(html);
    if (!response.ok || !/<form\b/i.test(html)) {
      if (!isAuthorityPage(at, url)) return; // the app's own page after the redirect
      throw pageError("The fake authority showed an error page instead of the sign-in", response, html);
    }
    // A form showing an error (a wrong password, a refused choice) would be answered the same way again.
    if (errorTextOf(html)) throw pageError("The fake authority refused the sign-in", response, html);
    const form = parseAutoPostForm(html);
    const fields = { ...form.fields };
    if (title === "Sign in" && /id="password"/.test(html)) {
      Object.assign(fields, { username: options.username, password: options.password, action: "login" });
    } else if (title === "Permissions requested") {
      fields.action = options.consent ?? "accept";
    } else if (title === "Pick an account") {
      fields.account = "other";
    } else if (title !== "Working...") {
      throw pageError("The user does not know what to do on this page", response, html);
    }
    at = new URL(form.action, at).href;
    response = await options.fetch(at, {
      method: "POST",
      body: new URLSearchParams(fields),
      redirect: "manual",
    });
  }
  throw new Error(`The sign-in did not finish within ${MAX_STEPS} pages`);
}

/** Whether `at` is a page of the authority that served `start` (and not the app's redirect URI). */
function isAuthorityPage(at: string, start: string): boolean {
  return new URL(at).origin === new URL(start).origin;
}
