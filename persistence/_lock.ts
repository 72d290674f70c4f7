/**
 * A cross-process lock file: whoever creates `<lock path>` holds the lock. The file holds the owner's
 * pid, host, start time and a nonce, and appears complete in one step (written aside, then hard-linked
 * into place), so nobody ever reads a half-written owner. A lock whose owner is dead (signal-0 probe,
 * same host) is broken at once; one whose owner cannot be probed (another host, no permission) after
 * `staleMs`; a live owner is waited for with a jittered exponential back-off up to `timeoutMs`, then
 * {@linkcode CacheLockError}. A bare pid in the file (msal-node-extensions' lock format) is understood.
 *
 * @module
 */

import { CacheLockError, type LockOwner } from "./errors.ts";
import { errorCode, type PersistenceFs } from "./_fs.ts";

/** Timing of {@linkcode CrossProcessLock}. */
export interface LockTiming {
  /** Give up after waiting this long for a live owner (ms). */
  timeoutMs: number;
  /** Break a lock whose owner cannot be probed once it is this old (ms). */
  staleMs: number;
}

interface LockRecord extends LockOwner {
  time?: number;
  nonce?: string;
}

const FIRST_DELAY_MS = 2;
const MAX_DELAY_MS = 100;

// Signal 0 to pid 0 or a negative pid probes a process group, which always answers: no owner has one.
const isPid = (pid: unknown): pid is number => Number.isSafeInteger(pid) && (pid as number) > 0;

function parseOwner(text: string): LockRecord | undefined {
  const trimmed = text.trim();
  // msal-node-extensions writes the bare pid, MSAL Python's msal-extensions "<pid> <argv[0]>".
  const bare = /^(\d+)(\s|$)/.exec(trimmed);
  if (bare) return isPid(Number(bare[1])) ? { pid: Number(bare[1]), host: "" } : undefined;
  try {
    const value = JSON.parse(trimmed);
    if (isPid(value?.pid)) {
      return {
        pid: value.pid,
        host: typeof value.host === "string" ? value.host : "",
        time: typeof value.time === "number" ? value.time : undefined,
        nonce: typeof value.nonce === "string" ? value.nonce : undefined,
      };
    }
  } catch {
    // Not ours and not msal-node-extensions': judged by age alone.
  }
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One process's handle on a lock file; `acquire` and `release` alternate. */
export class CrossProcessLock {
  readonly #fs: PersistenceFs;
  readonly #timing: LockTiming;
  #nonce: string | undefined;
  #canLink = true;
  /** The lock file. */
  readonly path: string;

  /** A handle on the lock file `path` (its folder must exist before `acquire`). */
  constructor(fs: PersistenceFs, path: string, timing: LockTiming) {
    this.#fs = fs;
    this.path = path;
    this.#timing = timing;
  }

  /**
   * Takes the lock, breaking a dead owner's lock and waiting for a live one.
   *
   * @returns whether it broke a dead or stale owner's lock on the way (that owner may have left work
   *   half done).
   * @throws {CacheLockError} `cache_lock_timeout` after `timeoutMs` of a live owner.
   */
  async acquire(): Promise<boolean> {
    const deadline = Date.now() + this.#timing.timeoutMs;
    let broke = false;
    for (let attempt = 0;; attempt++) {
      const nonce = crypto.randomUUID();
      if (this.#tryCreate(nonce)) {
        this.#nonce = nonce;
        return broke;
      }
      const text = this.#fs.readText(this.path);
      if (text === undefined) continue; // released between our attempt and the read
      const owner = parseOwner(text);
      if (this.#isStale(owner)) {
        this.#breakLock(text);
        broke = true;
        continue;
      }
      const now = Date.now();
      if (now >= deadline) {
        throw new CacheLockError(
          "cache_lock_timeout",
          this.path,
          owner && { pid: owner.pid, host: owner.host },
        );
      }
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(attempt, 10));
      await sleep(Math.min(deadline - now, delay * (0.5 + Math.random())));
    }
  }

  /** Whether this process still holds the lock (nobody broke it). */
  stillHeld(): boolean {
    const text = this.#nonce && this.#fs.readText(this.path);
    return !!text && parseOwner(text)?.nonce === this.#nonce;
  }

  /** Releases the lock, unless another process has taken it over meanwhile. */
  release(): void {
    if (this.stillHeld()) this.#fs.remove(this.path);
    this.#nonce = undefined;
  }

  #tryCreate(nonce: string): boolean {
    const fs = this.#fs;
    const record = JSON.stringify({ pid: fs.pid, host: fs.hostname, time: Date.now(), nonce });
    if (!this.#canLink) return this.#create(() => fs.writeNew(this.path, record, 0o600));
    const aside = `${this.path}.${nonce}`;
    fs.writeNew(aside, record, 0o600);
    try {
      return this.#create(() => fs.link(aside, this.path));
    } catch (error) {
      // A file system without hard links: create the lock file directly (a reader may then briefly
      // see it empty, which counts as held until `staleMs`).
      if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"].includes(errorCode(error) ?? "")) {
        throw error;
      }
      this.#canLink = false;
      return this.#create(() => fs.writeNew(this.path, record, 0o600));
    } finally {
      fs.remove(aside);
    }
  }

  #create(create: () => void): boolean {
    try {
      create();
      return true;
    } catch (error) {
      if (errorCode(error) === "EEXIST") return false;
      throw error;
    }
  }

  #isStale(owner: LockRecord | undefined): boolean {
    const fs = this.#fs;
    const sameHost = owner && (owner.host === "" || fs.hostname === "" || owner.host === fs.hostname);
    if (owner && sameHost) {
      // Our own pid: another handle in this process, or a dead process whose pid we reuse; age decides.
      const alive = owner.pid === fs.pid ? undefined : fs.isAlive(owner.pid);
      if (alive === false) return true;
      if (alive === true) return false;
    }
    const since = owner?.time ?? fs.modifiedAt(this.path);
    return since !== undefined && Date.now() - since > this.#timing.staleMs;
  }

  /**
   * Removes the stale lock whose content was `text`, without ever removing a fresh lock that another
   * process took after breaking the same stale one: the file is first renamed aside (only one breaker
   * gets it), then checked, and put back if it turned out to be fresh.
   */
  #breakLock(text: string): void {
    const fs = this.#fs;
    const aside = `${this.path}.stale-${crypto.randomUUID()}`;
    try {
      fs.rename(this.path, aside);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return;
      throw error;
    }
    if (fs.readText(aside) !== text) {
      try {
        fs.link(aside, this.path);
      } catch {
        // Someone took the lock meanwhile; the owner we displaced finds out through stillHeld().
      }
    }
    fs.remove(aside);
  }
}
