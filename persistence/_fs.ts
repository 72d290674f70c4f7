/**
 * The few synchronous file-system and process calls the persistence plugins make, behind one
 * interface: `Deno.*` under Deno, `node:fs` under Node and Bun (loaded on first use, so importing the
 * plugins costs nothing). Synchronous on purpose: the files are small and local, and a silent call's
 * stat + version read is several times cheaper without a trip through a thread pool.
 *
 * @module
 */

import { CacheFileError } from "./errors.ts";

/** What the plugins need from the operating system. Paths are absolute or relative to the cwd. */
export interface PersistenceFs {
  /** `"<dev>:<ino>:<size>:<mtime>:<ctime>"`, or `undefined` if `path` does not exist. */
  fingerprint(path: string): string | undefined;
  /** The file's modification time (epoch ms), or `undefined` if it does not exist. */
  modifiedAt(path: string): number | undefined;
  /** The file's text, or `undefined` if it does not exist. */
  readText(path: string): string | undefined;
  /**
   * A reader of a small file (at most 256 bytes) that keeps it open between reads, so each read is one
   * positioned read. Writers must rewrite the file in place; `reopen` after it may have been replaced.
   */
  smallFileReader(path: string): SmallFileReader;
  /** Creates `path` (failing with `EEXIST` if it exists) with `mode`, writes `text`, flushes it to disk. */
  writeNew(path: string, text: string, mode: number): void;
  /** Replaces `path`'s content in place (creating it with `mode`); not atomic, for tiny files. */
  overwrite(path: string, text: string, mode: number): void;
  /** Atomically renames `from` to `to`, replacing `to`. */
  rename(from: string, to: string): void;
  /** Creates the hard link `to` of `from`; fails with `EEXIST` if `to` exists. */
  link(from: string, to: string): void;
  /** The names in a folder (`[]` if it does not exist). */
  list(path: string): string[];
  /** Removes a file; a missing file is not an error. */
  remove(path: string): void;
  /** Creates the folder and its parents with `mode` (new folders only). */
  mkdirs(path: string, mode: number): void;
  /** The current process id. */
  readonly pid: number;
  /** The host name, or `""` if the runtime may not read it (Deno without `--allow-sys=hostname`). */
  readonly hostname: string;
  /**
   * Whether process `pid` on this host exists: a signal-0 probe (`EPERM` = alive, another user's).
   * `undefined` when the runtime may not probe (Deno without `--allow-run`).
   */
  isAlive(pid: number): boolean | undefined;
}

/** See {@linkcode PersistenceFs.smallFileReader}. */
export interface SmallFileReader {
  /** The file's current text, or `undefined` if it does not exist. */
  read(): string | undefined;
  /** Closes the handle; the next `read` opens the file afresh. */
  reopen(): void;
}

const SMALL_FILE_BYTES = 256;

/** A {@linkcode SmallFileReader} over runtime-specific open / positioned read / close calls. */
function smallFileReader<H>(
  path: string,
  exists: (path: string) => boolean,
  open: (path: string) => H,
  pread: (handle: H, buffer: Uint8Array) => number,
  close: (handle: H) => void,
): SmallFileReader {
  const buffer = new Uint8Array(SMALL_FILE_BYTES);
  const decoder = new TextDecoder();
  let handle: H | undefined;
  return {
    read() {
      // A missing file is checked without an exception: building one costs more than the read.
      if (handle === undefined && !exists(path)) return undefined;
      try {
        handle ??= open(path);
        return decoder.decode(buffer.subarray(0, pread(handle, buffer)));
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    },
    reopen() {
      if (handle !== undefined) close(handle);
      handle = undefined;
    },
  };
}

/** The `code` of a file-system error (`ENOENT`, `EEXIST`, ...), in every runtime, also once typed. */
export function errorCode(error: unknown): string | undefined {
  const raw = error instanceof CacheFileError ? error.cause : error;
  return (raw as { code?: string } | null)?.code;
}

/** Runs `fn`; a failure becomes a {@linkcode CacheFileError} naming `operation` and `path`. */
function guard<T>(operation: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw error instanceof CacheFileError ? error : new CacheFileError(operation, path, { cause: error });
  }
}

/** `fs` whose every failure is a {@linkcode CacheFileError} with the path and the operation. */
function typed(fs: PersistenceFs): PersistenceFs {
  return {
    fingerprint: (path) => guard("inspect", path, () => fs.fingerprint(path)),
    modifiedAt: (path) => guard("inspect", path, () => fs.modifiedAt(path)),
    readText: (path) => guard("read", path, () => fs.readText(path)),
    smallFileReader(path) {
      const reader = fs.smallFileReader(path);
      return {
        read: () => guard("read", path, () => reader.read()),
        reopen: () => guard("close", path, () => reader.reopen()),
      };
    },
    writeNew: (path, text, mode) => guard("create", path, () => fs.writeNew(path, text, mode)),
    overwrite: (path, text, mode) => guard("write", path, () => fs.overwrite(path, text, mode)),
    rename: (from, to) => guard(`rename ${from} to`, to, () => fs.rename(from, to)),
    link: (from, to) => guard(`link ${from} as`, to, () => fs.link(from, to)),
    list: (path) => guard("list the folder", path, () => fs.list(path)),
    remove: (path) => guard("remove", path, () => fs.remove(path)),
    mkdirs: (path, mode) => guard("create the folder", path, () => fs.mkdirs(path, mode)),
    pid: fs.pid,
    hostname: fs.hostname,
    isAlive: (pid) => fs.isAlive(pid),
  };
}

function probe(kill: (pid: number, signal: number) => unknown, pid: number): boolean | undefined {
  try {
    kill(pid, 0);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === "ESRCH") return false;
    if (code === "EPERM") return true;
    return undefined;
  }
}

interface NodeStats {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface NodeFs {
  statSync(path: string): NodeStats;
  statSync(path: string, options: { throwIfNoEntry: false }): NodeStats | undefined;
  readFileSync(path: string, encoding: "utf8"): string;
  openSync(path: string, flags: string, mode?: number): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, data: string): number;
  writeFileSync(path: string, data: string, options: { mode: number }): void;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  linkSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  readdirSync(path: string): string[];
  mkdirSync(path: string, options: { recursive: true; mode: number }): unknown;
}

interface NodeProcess {
  pid: number;
  kill(pid: number, signal: number): unknown;
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
}

function nodeAdapter(fs: NodeFs, hostname: string): PersistenceFs {
  const process = (globalThis as unknown as { process: NodeProcess }).process;
  return {
    fingerprint(path) {
      const s = fs.statSync(path, { throwIfNoEntry: false });
      return s && `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    },
    modifiedAt(path) {
      try {
        return fs.statSync(path).mtimeMs;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    },
    readText(path) {
      try {
        return fs.readFileSync(path, "utf8");
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    },
    smallFileReader: (path) =>
      smallFileReader(
        path,
        (p) => fs.statSync(p, { throwIfNoEntry: false }) !== undefined,
        (p) => fs.openSync(p, "r"),
        (fd, buffer) => fs.readSync(fd, buffer, 0, buffer.length, 0),
        (fd) => fs.closeSync(fd),
      ),
    writeNew(path, text, mode) {
      const fd = fs.openSync(path, "wx", mode);
      try {
        fs.writeSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
    overwrite(path, text, mode) {
      fs.writeFileSync(path, text, { mode });
    },
    rename: (from, to) => fs.renameSync(from, to),
    link: (from, to) => fs.linkSync(from, to),
    list(path) {
      try {
        return fs.readdirSync(path);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return [];
        throw error;
      }
    },
    remove: (path) => ignoreMissing(() => fs.unlinkSync(path)),
    mkdirs: (path, mode) => void fs.mkdirSync(path, { recursive: true, mode }),
    pid: process.pid,
    hostname,
    isAlive: (pid) => probe((p, s) => process.kill(p, s), pid),
  };
}

interface DenoFile {
  readSync(buffer: Uint8Array): number | null;
  seekSync(offset: number, whence: number): number;
  writeSync(bytes: Uint8Array): number;
  syncSync(): void;
  close(): void;
}

interface DenoApi {
  pid: number;
  hostname(): string;
  statSync(
    path: string,
  ): { dev: number; ino: number | null; size: number; mtime: Date | null; ctime: Date | null };
  readTextFileSync(path: string): string;
  writeTextFileSync(path: string, text: string, options: { mode: number }): void;
  openSync(path: string, options?: { write: true; createNew: true; mode: number }): DenoFile;
  renameSync(from: string, to: string): void;
  linkSync(from: string, to: string): void;
  removeSync(path: string): void;
  readDirSync(path: string): Iterable<{ name: string }>;
  mkdirSync(path: string, options: { recursive: true; mode: number }): void;
}

function denoAdapter(): PersistenceFs {
  const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
  let hostname = "";
  try {
    hostname = deno.hostname();
  } catch {
    // No --allow-sys=hostname: locks then carry the pid only.
  }
  // Deno 2 has Node's `process` global; its kill() honours signal 0 (with --allow-run).
  const process = (globalThis as unknown as { process?: NodeProcess }).process;
  const encoder = new TextEncoder();
  return {
    fingerprint(path) {
      try {
        const s = deno.statSync(path);
        return `${s.dev}:${s.ino}:${s.size}:${s.mtime?.getTime()}:${s.ctime?.getTime()}`;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    },
    modifiedAt(path) {
      try {
        return deno.statSync(path).mtime?.getTime() ?? 0;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    },
    readText(path) {
      try {
        return deno.readTextFileSync(path);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    },
    smallFileReader: (path) =>
      smallFileReader(
        path,
        (p) => {
          try {
            deno.statSync(p);
            return true;
          } catch {
            return false;
          }
        },
        (p) => deno.openSync(p),
        (file, buffer) => (file.seekSync(0, 0), file.readSync(buffer) ?? 0),
        (file) => file.close(),
      ),
    writeNew(path, text, mode) {
      const file = deno.openSync(path, { write: true, createNew: true, mode });
      try {
        const bytes = encoder.encode(text);
        for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
        file.syncSync();
      } finally {
        file.close();
      }
    },
    overwrite: (path, text, mode) => deno.writeTextFileSync(path, text, { mode }),
    rename: (from, to) => deno.renameSync(from, to),
    link: (from, to) => deno.linkSync(from, to),
    list(path) {
      try {
        return [...deno.readDirSync(path)].map((entry) => entry.name);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return [];
        throw error;
      }
    },
    remove: (path) => ignoreMissing(() => deno.removeSync(path)),
    mkdirs: (path, mode) => deno.mkdirSync(path, { recursive: true, mode }),
    pid: deno.pid,
    hostname,
    isAlive: (pid) => process ? probe((p, s) => process.kill(p, s), pid) : undefined,
  };
}

let loaded: Promise<PersistenceFs> | undefined;

/**
 * The adapter for the running runtime, loaded once. Every failure other than the `undefined`s
 * documented above is a {@linkcode CacheFileError}; {@linkcode errorCode} reads its errno.
 */
export function persistenceFs(): Promise<PersistenceFs> {
  return loaded ??= (async () => {
    if ("Deno" in globalThis) return typed(denoAdapter());
    const [fs, os] = await Promise.all([import("node:fs"), import("node:os")]);
    return typed(nodeAdapter(fs as unknown as NodeFs, os.hostname()));
  })();
}
