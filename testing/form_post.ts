/**
 * Reads an auto-submitting HTML form, as sent for `response_mode=form_post`, so a headless test can
 * deliver it with `fetch` the way a browser would.
 *
 * @module
 */

import { htmlAttributes } from "./_html.ts";

/** The form a `form_post` page submits: where it posts and what. */
export interface AutoPostForm {
  /** The form's `action`: the redirect URI. */
  action: string;
  /** The form's named `<input>` values, e.g. `code` and `state`. */
  fields: Record<string, string>;
}

/**
 * Parses the first `<form>` of `html` and the named `<input>`s inside it.
 *
 * @param html the page's HTML text.
 * @returns the form's `action` (as written, entities decoded) and its named inputs' values (`""` for an
 *   input without `value`; the last of two with one name wins).
 * @throws {Error} when `html` has no form with an `action`.
 * @example
 * ```ts
 * declare const response: Response; // a page from the fake authority's sign-in
 * const { action, fields } = parseAutoPostForm(await response.text());
 * await fetch(action, { method: "POST", body: new URLSearchParams(fields) });
 * ```
 */
export function parseAutoPostForm(html: string): AutoPostForm {
  const form = /<form\b([^>]*)>([\s\S]*?)(?:<\/form\s*>|$)/i.exec(html);
  const action = form ? htmlAttributes(form[1]).action : undefined;
  if (!form || action === undefined) throw new Error("No auto-submitting form with an action found");
  const fields: Record<string, string> = {};
  for (const input of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = htmlAttributes(input[1]);
    if (attrs.name !== undefined) fields[attrs.name] = attrs.value ?? "";
  }
  return { action, fields };
}
