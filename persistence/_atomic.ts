/**
 * Crash-safe file replacement: the new content goes to a temp file in the same folder (so the rename
 * stays on one file system), is flushed to disk, and is renamed over the old file. A reader sees the
 * old or the new content, never a mix; a writer killed at any point leaves the old file intact.
 *
 * @module
 */

import type { PersistenceFs } from "./_fs.ts";

/** Test seam: runs between the temp file's flush and the rename (tests pause a writer here to kill it). */
export const atomicWriteHooks: { beforeRename?: (tempPath: string) => void } = {};

function splitPath(path: string): [folder: string, name: string] {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return [slash >= 0 ? path.slice(0, slash + 1) : "", path.slice(slash + 1)];
}

/**
 * Removes the temp files that writers of `path` killed mid-write left behind (`<name>.<pid>-<id>.tmp`
 * whose pid is dead). Call it while holding the writers' lock, after breaking a dead writer's.
 */
export function removeAbandonedTemps(fs: PersistenceFs, path: string): void {
  const [folder, name] = splitPath(path);
  for (const entry of fs.list(folder || ".")) {
    if (!entry.startsWith(`${name}.`) || !entry.endsWith(".tmp")) continue;
    const pid = /^\.(\d+)-[0-9a-f]{8}\.tmp$/.exec(entry.slice(name.length))?.[1];
    if (pid && Number(pid) !== fs.pid && fs.isAlive(Number(pid)) === false) fs.remove(folder + entry);
  }
}

/** Replaces `path` with `text` atomically; the file gets `mode` (e.g. 0o600). */
export function writeAtomically(fs: PersistenceFs, path: string, text: string, mode: number): void {
  const temp = `${path}.${fs.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    fs.writeNew(temp, text, mode);
    atomicWriteHooks.beforeRename?.(temp);
    fs.rename(temp, path);
  } catch (error) {
    fs.remove(temp);
    throw error;
  }
}
