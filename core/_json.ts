/**
 * The shape check every JSON reader in the library starts with.
 *
 * @module
 */

/**
 * Whether `value` is a JSON object (`{...}`): not `null`, not an array, not a primitive.
 *
 * @example
 * ```ts
 * isJsonObject(JSON.parse('{"a":1}')); // true
 * isJsonObject(JSON.parse("[1]")); // false
 * ```
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
