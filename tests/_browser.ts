/**
 * A tiny fetch-based "browser" for headless sign-in tests: it follows redirects, keeps cookies per
 * host (so the identity provider's session cookie gives single sign-on), reads and submits HTML forms,
 * and runs the one script a `response_mode=form_post` page has (`document.forms[0].submit()`).
 *
 * Not a test file; the interactive tests import it.
 *
 * @module
 */

import { decodeEntities, htmlAttributes } from "../testing/_html.ts";

/** A page the browser shows. */
export interface Page {
  /** The address of the page (after redirects). */
  url: string;
  /** HTTP status of the page. */
  status: number;
  /** Response headers. */
  headers: Headers;
  /** The HTML. */
  html: string;
  /** The `<title>`, or `""`. */
  title: string;
}

/** A form control that submits a value. */
interface Control {
  kind: "input" | "button";
  id?: string;
  name?: string;
  value: string;
  type: string;
}

/** A form of a page. */
export interface ParsedForm {
  /** Where it submits, resolved against the page. */
  action: string;
  /** `GET` or `POST`. */
  method: string;
  controls: Control[];
}

/** How to submit a form. */
export interface SubmitOptions {
  /** Values to type, by control id (or name when no id matches). */
  fill?: Record<string, string>;
  /** The id of the button to click; the first submit button when omitted. */
  click?: string;
}

/** Something the browser does with a request before sending it (tests use it to tamper). */
export type Interceptor = (url: URL, init: RequestInit) => void | { url: URL; init: RequestInit };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A fetch-driven user agent with a cookie jar and form handling. */
export class FetchBrowser {
  /** Every page shown, in order (auto-posted `form_post` pages included). */
  readonly history: Page[] = [];
  /** Runs on every request before it is sent. */
  interceptor?: Interceptor;
  /** Whether the `form_post` page's script runs (auto-submits); off, the page stays for the test. */
  scripts = true;

  readonly #fetch: typeof fetch;
  readonly #jar = new Map<string, Map<string, string>>();
  readonly #busy = new Set<Promise<unknown>>();

  constructor(options: { fetch?: typeof fetch } = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** The page shown now. */
  get page(): Page {
    const page = this.history.at(-1);
    if (!page) throw new Error("The browser has not loaded any page yet");
    return page;
  }

  /** The cookies the browser holds for `host` (a hostname, e.g. `127.0.0.1`). */
  cookies(host: string): Record<string, string> {
    return Object.fromEntries(this.#jar.get(host) ?? []);
  }

  /** Forgets every cookie, like a fresh browser profile. */
  clearCookies(): void {
    this.#jar.clear();
  }

  /**
   * Resolves once nothing is loading. The app may get its token before the browser has finished
   * reading the last page, just as with a real browser.
   */
  async idle(): Promise<void> {
    while (this.#busy.size) await Promise.allSettled([...this.#busy]);
  }

  /** Navigates to `url` (GET), following redirects and auto-submitting `form_post` pages. */
  goto(url: string): Promise<Page> {
    return this.#navigate(new URL(url), { method: "GET" });
  }

  /**
   * Sends a request on the side, as a page's subresource or another tab would (e.g. a stray
   * `/favicon.ico`), and returns what came back; the current page stays as it is.
   */
  async request(url: string, init: RequestInit = {}): Promise<Page> {
    return await this.#load(new URL(url), init, false);
  }

  /** The forms of the current page. */
  forms(page: Page = this.page): ParsedForm[] {
    return parseForms(page.html, page.url);
  }

  /** Fills and submits the form of the current page that holds the clicked button. */
  async submit(options: SubmitOptions = {}): Promise<Page> {
    const forms = this.forms();
    const form = options.click === undefined
      ? forms[0]
      : forms.find((f) => f.controls.some((c) => c.id === options.click));
    if (!form) {
      throw new Error(`No form${options.click ? ` with #${options.click}` : ""} on "${this.page.title}"`);
    }
    return await this.#navigate(...formRequest(form, options));
  }

  /**
   * What a user does in the fake authority's pages: signs in with `credentials` on a sign-in page,
   * picks the first account on an account picker, accepts a consent page; then the auto-submitted
   * redirect reaches the app. Returns the last page.
   */
  async signIn(url: string, credentials?: { username: string; password: string }): Promise<Page> {
    let page = await this.goto(url);
    for (let steps = 0; steps < 5; steps++) {
      if (page.title === "Sign in" && /id="password"/.test(page.html)) {
        if (!credentials) {
          throw new Error("The identity provider asks to sign in, but no credentials were given");
        }
        page = await this.submit({
          fill: { username: credentials.username, password: credentials.password },
          click: "submit",
        });
      } else if (page.title === "Pick an account") {
        page = await this.submit({ click: "account-0" });
      } else if (page.title === "Permissions requested") {
        page = await this.submit({ click: "accept" });
      } else {
        return page;
      }
    }
    return page;
  }

  #navigate(url: URL, init: RequestInit): Promise<Page> {
    const navigation = this.#navigateNow(url, init);
    this.#busy.add(navigation);
    const done = () => void this.#busy.delete(navigation);
    navigation.then(done, done);
    return navigation;
  }

  async #navigateNow(url: URL, init: RequestInit): Promise<Page> {
    let page = this.#show(await this.#load(url, init, true));
    // The form_post page's script: document.forms[0].submit()
    if (this.scripts && /document\.forms\[0\]\.submit\(\)/.test(page.html)) {
      const [form] = this.forms(page);
      if (form) page = this.#show(await this.#load(...formRequest(form, {}), true));
    }
    return page;
  }

  async #load(url: URL, init: RequestInit, follow: boolean): Promise<Page> {
    for (let hops = 0; hops <= 20; hops++) {
      const request = this.#intercept(url, init);
      const headers = new Headers(request.init.headers);
      const cookie = this.#cookieHeader(request.url.hostname);
      if (cookie) headers.set("cookie", cookie);
      const response = await this.#fetch(request.url.href, { ...request.init, headers, redirect: "manual" });
      this.#store(request.url.hostname, response.headers);
      const location = response.headers.get("location");
      if (follow && REDIRECTS.has(response.status) && location !== null) {
        await response.body?.cancel();
        const keep = response.status === 307 || response.status === 308;
        url = new URL(location, request.url);
        init = keep ? request.init : { method: "GET" };
        continue;
      }
      const html = await response.text();
      const page: Page = {
        url: request.url.href,
        status: response.status,
        headers: response.headers,
        html,
        title: decodeEntities(/<title>([^<]*)<\/title>/i.exec(html)?.[1] ?? "").trim(),
      };
      return page;
    }
    throw new Error("Too many redirects");
  }

  #show(page: Page): Page {
    this.history.push(page);
    return page;
  }

  #intercept(url: URL, init: RequestInit): { url: URL; init: RequestInit } {
    return this.interceptor?.(url, init) ?? { url, init };
  }

  #cookieHeader(host: string): string {
    return [...(this.#jar.get(host) ?? [])].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  #store(host: string, headers: Headers): void {
    const lines = typeof headers.getSetCookie === "function"
      ? headers.getSetCookie()
      : (headers.get("set-cookie") ?? "").split(/,(?=\s*[^;,=\s]+=)/).filter(Boolean);
    for (const line of lines) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const jar = this.#jar.get(host) ?? new Map<string, string>();
      this.#jar.set(host, jar);
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) ||
        attributes.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split("=")[1]) < Date.now());
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  }
}

function formRequest(form: ParsedForm, options: SubmitOptions): [URL, RequestInit] {
  const fill = options.fill ?? {};
  const clicked = options.click === undefined
    ? form.controls.find((c) => c.kind === "button" && c.type === "submit")
    : form.controls.find((c) => c.id === options.click);
  const body = new URLSearchParams();
  for (const control of form.controls) {
    if (!control.name) continue;
    if (control.kind === "button") {
      if (control === clicked) body.append(control.name, control.value);
      continue;
    }
    const typed = control.id !== undefined && control.id in fill
      ? fill[control.id]
      : control.name in fill
      ? fill[control.name]
      : control.value;
    body.append(control.name, typed);
  }
  if (form.method === "GET") {
    const url = new URL(form.action);
    url.search = body.toString();
    return [url, { method: "GET" }];
  }
  return [new URL(form.action), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: body.toString(),
  }];
}

/** Parses the forms of `html`, resolving actions against `base`. */
export function parseForms(html: string, base: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)) {
    const attrs = htmlAttributes(match[1]);
    const controls: Control[] = [];
    for (const control of match[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
      const kind = control[1].toLowerCase() as Control["kind"];
      const a = htmlAttributes(control[2]);
      controls.push({
        kind,
        id: a.id,
        name: a.name,
        value: a.value ?? "",
        type: (a.type ?? (kind === "button" ? "submit" : "text")).toLowerCase(),
      });
    }
    forms.push({
      action: new URL(attrs.action ?? "", base).href,
      method: (attrs.method ?? "GET").toUpperCase(),
      controls,
    });
  }
  return forms;
}
