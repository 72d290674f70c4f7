/**
 * Reads an auto-submitting HTML form, as sent for `response_mode=form_post`, so a headless test can
 * deliver it with `fetch` the way a browser would.
 *
 * @module
 */

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
 * @throws {Error} when `html` has no form with an `action`.
 * @example
 * ```ts
 * const { action, fields } = parseAutoPostForm(await response.text());
 * await fetch(action, { method: "POST", body: new URLSearchParams(fields) });
 * ```
 */
export function parseAutoPostForm(html: string): AutoPostForm {
  const form = /<form\b([^>]*)>([\s\S]*?)(?:<\/form\s*>|$)/i.exec(html);
  const action = form ? attributes(form[1]).action : undefined;
  if (!form || action === undefined) throw new Error("No auto-submitting form with an action found");
  const fields: Record<string, string> = {};
  for (const input of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = attributes(input[1]);
    if (attrs.name !== undefined) fields[attrs.name] = attrs.value ?? "";
  }
  return { action, fields };
}

function attributes(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of source.matchAll(/([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? "");
  }
  return attrs;
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === "#") {
      const code = entity[1].toLowerCase() === "x"
        ? parseInt(entity.slice(2), 16)
        : parseInt(entity.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[entity.toLowerCase()] ?? whole;
  });
}
