/**
 * The in-memory store behind `TokenCache`: each section is a key -> entry map (entries are the parsed
 * JSON objects, so unknown fields survive) plus an index by value, so lookups never scan the whole
 * cache nor parse keys. Private to `core/cache.ts`.
 *
 * @module
 */

import {
  type AnyEntry,
  type CacheSection,
  indexValue,
  parseTopLevel,
  SECTIONS,
  validateSection,
} from "./_cache_schema.ts";

/** One section: entries by key, in insertion order, and the same entries bucketed by indexed value. */
class SectionStore {
  /** Which section this is. */
  readonly section: CacheSection;
  readonly #entries = new Map<string, AnyEntry>();
  readonly #index = new Map<string, Map<string, AnyEntry>>();
  // Entries read from a cache file that break the section's field rules: never looked up, written back.
  readonly #ignored = new Map<string, unknown>();

  /** Creates an empty section. */
  constructor(section: CacheSection) {
    this.section = section;
  }

  /** The entry stored under `key`. */
  get(key: string): AnyEntry | undefined {
    return this.#entries.get(key);
  }

  /** All entries. */
  values(): IterableIterator<AnyEntry> {
    return this.#entries.values();
  }

  /** Entries whose indexed field (home account, or client id for app metadata) is `value` (any case). */
  bucket(value: string): ReadonlyMap<string, AnyEntry> {
    return this.#index.get(value.toLowerCase()) ?? EMPTY;
  }

  /** Stores `entry` under `key` (in place if the key exists) and returns what was there. */
  set(key: string, entry: AnyEntry): AnyEntry | undefined {
    this.#ignored.delete(key);
    const previous = this.#entries.get(key);
    if (previous) this.#unindex(key, previous);
    this.#entries.set(key, entry);
    const value = indexValue(this.section, entry);
    let bucket = this.#index.get(value);
    if (!bucket) this.#index.set(value, bucket = new Map());
    bucket.set(key, entry);
    return previous;
  }

  /** Removes the entry under `key` and returns it. */
  delete(key: string): AnyEntry | undefined {
    const previous = this.#entries.get(key);
    if (!previous) return undefined;
    this.#entries.delete(key);
    this.#unindex(key, previous);
    return previous;
  }

  /** Keeps an entry that breaks the section's rules, to be written back unchanged by `toJSON`. */
  ignore(key: string, entry: unknown): void {
    this.#ignored.set(key, entry);
  }

  /** The section as a plain JSON object, ignored entries included. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = Object.fromEntries(this.#ignored);
    for (const [key, entry] of this.#entries) json[key] = entry;
    return json;
  }

  #unindex(key: string, entry: AnyEntry): void {
    const value = indexValue(this.section, entry);
    const bucket = this.#index.get(value);
    if (!bucket) return;
    bucket.delete(key);
    if (bucket.size === 0) this.#index.delete(value);
  }
}

const EMPTY: ReadonlyMap<string, AnyEntry> = new Map();
const KNOWN: ReadonlySet<string> = new Set(SECTIONS);

/** A whole cache: the five sections plus any unknown top-level sections, in their original order. */
export class CacheState {
  /** The five known sections. */
  readonly sections: Readonly<Record<CacheSection, SectionStore>>;
  /** Top-level names in serialization order; unknown ones map to their raw JSON value in `unknown`. */
  readonly #order: string[];
  readonly #unknown: Map<string, unknown>;

  private constructor(order: string[], unknown: Map<string, unknown>) {
    this.sections = {
      AccessToken: new SectionStore("AccessToken"),
      RefreshToken: new SectionStore("RefreshToken"),
      IdToken: new SectionStore("IdToken"),
      Account: new SectionStore("Account"),
      AppMetadata: new SectionStore("AppMetadata"),
    };
    this.#order = order;
    this.#unknown = unknown;
  }

  /** An empty cache. */
  static empty(): CacheState {
    return new CacheState([...SECTIONS], new Map());
  }

  /** Parses and validates a serialized cache; throws `InvalidInputError` without side effects. */
  static parse(serialized: string): CacheState {
    const top = parseTopLevel(serialized);
    const order = Object.keys(top);
    const unknown = new Map<string, unknown>();
    const sections: Partial<Record<CacheSection, ReturnType<typeof validateSection>>> = {};
    for (const name of order) {
      if (KNOWN.has(name)) sections[name as CacheSection] = validateSection(name as CacheSection, top[name]);
      else unknown.set(name, top[name]);
    }
    for (const name of SECTIONS) if (!(name in top)) order.push(name);
    const state = new CacheState(order, unknown);
    for (const name of SECTIONS) {
      const entries = sections[name];
      if (!entries) continue;
      const store = state.sections[name];
      for (const key in entries.ignored) store.ignore(key, entries.ignored[key]);
      for (const key in entries.usable) store.set(key, entries.usable[key]);
    }
    return state;
  }

  /**
   * Serializes to compact JSON. MSAL Python indents by four spaces, which every JSON reader ignores
   * and which makes `JSON.stringify` about twice as slow under Deno on large caches.
   */
  serialize(): string {
    const out = Object.fromEntries(this.#order.map((name) => [
      name,
      KNOWN.has(name) ? this.sections[name as CacheSection].toJSON() : this.#unknown.get(name),
    ]));
    return JSON.stringify(out);
  }
}
