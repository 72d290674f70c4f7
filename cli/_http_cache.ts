/**
 * A persisted cache of the authority's discovery documents (instance discovery and the OpenID
 * configuration), the analogue of MSAL Python's `http_cache`: a command that runs once per invocation
 * would otherwise ask the identity provider for them on every run, even when the token itself comes
 * from the cache.
 *
 * @module
 */

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";

/** How long a discovery document is reused: one day, like a browser would for metadata this stable. */
export const DISCOVERY_TTL_MS = 24 * 60 * 60 * 1000;

interface Stored {
  status: number;
  contentType: string;
  body: string;
  expiresAt: number;
}

const DISCOVERY_PATH = /\/discovery\/instance$|\/\.well-known\/openid-configuration$/;

/**
 * Wraps `fetch`: successful GETs of discovery documents are answered from the file at `path` while
 * fresh, and remembered otherwise. Everything else goes to the network untouched. A missing or
 * unreadable file is an empty cache; it is rewritten (atomically, mode 0600) by {@linkcode save}.
 */
export class DiscoveryCache {
  readonly #path: string;
  readonly #network: typeof fetch;
  #entries?: Promise<Record<string, Stored>>;
  #changed = false;

  /** A cache stored at `path`, in front of `network` (the global `fetch` by default). */
  constructor(path: string, network: typeof fetch = globalThis.fetch) {
    this.#path = path;
    this.#network = network;
  }

  /** The `fetch` to give `PublicClientApplication`. */
  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (request.method !== "GET" || !DISCOVERY_PATH.test(url.pathname)) return await this.#network(request);
    const entries = await this.#load();
    const hit = entries[url.href];
    if (hit && hit.expiresAt > Date.now()) {
      return new Response(hit.body, { status: hit.status, headers: { "content-type": hit.contentType } });
    }
    const response = await this.#network(request);
    if (response.status === 200) {
      const body = await response.clone().text();
      const contentType = response.headers.get("content-type") ?? "application/json";
      entries[url.href] = { status: 200, contentType, body, expiresAt: Date.now() + DISCOVERY_TTL_MS };
      this.#changed = true;
    }
    return response;
  };

  /** Writes the file if a document was added. */
  async save(): Promise<void> {
    if (!this.#changed) return;
    const entries = await this.#load();
    const now = Date.now();
    const fresh = Object.fromEntries(Object.entries(entries).filter(([, entry]) => entry.expiresAt > now));
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
    const temp = `${this.#path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(fresh), { mode: 0o600 });
    await rename(temp, this.#path);
    this.#changed = false;
  }

  #load(): Promise<Record<string, Stored>> {
    return this.#entries ??= readFile(this.#path, "utf8").then(parseEntries, () => ({}));
  }
}

function parseEntries(text: string): Record<string, Stored> {
  try {
    const parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return {};
    const entries: Record<string, Stored> = {};
    for (const [url, entry] of Object.entries(parsed as Record<string, Partial<Stored>>)) {
      if (
        typeof entry?.body === "string" && typeof entry.status === "number" &&
        typeof entry.expiresAt === "number" && typeof entry.contentType === "string"
      ) entries[url] = entry as Stored;
    }
    return entries;
  } catch {
    return {}; // a damaged cache of public documents is simply fetched again
  }
}
