// The shape check the testing kit's JSON readers start with (the library's own is internal to core/).

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Whether a value is a JSON object (`{...}`): not null, not an array, not a primitive. */
export function isJsonObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
