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
