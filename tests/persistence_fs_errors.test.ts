/**
 * A folder or a file in the way of the persisted cache: one typed `CacheFileError` naming the path and
 * the operation, the runtime's error as `cause`, and what was in the way left as it was. The CLI says
 * so in two lines and a non-zero exit code.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MsalError, MsalErrorCode, TokenCache } from "../mod.ts";
import { CacheFileError, FileCachePlugin } from "../persistence/mod.ts";
import { cli, tempDir } from "./_cli.ts";

async function failure(path: string, readOnly = false): Promise<CacheFileError> {
  const cache = new TokenCache({ plugin: new FileCachePlugin(path, { lockTimeoutMs: 2_000 }) });
  const error = await cache.access(() => {}, { readOnly }).then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof CacheFileError, String(error));
  assert.ok(error instanceof MsalError);
  assert.equal(error.code, MsalErrorCode.CacheFileError);
  assert.ok(error.cause instanceof Error, "the runtime's error is kept as cause");
  return error;
}

describe("FileCachePlugin with something in the way", () => {
  it("a folder where the cache file should be: a typed read error naming it, the folder kept", async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, "token_cache.json");
      mkdirSync(path);
      writeFileSync(join(path, "mine.txt"), "the user's");
      for (const readOnly of [true, false]) {
        const error = await failure(path, readOnly);
        assert.equal(error.path, path);
        assert.equal(error.operation, "read");
        assert.ok(error.message.includes(path), error.message);
        assert.match(error.message, /folder/);
        assert.doesNotMatch(error.message, /^EISDIR/);
      }
      assert.ok(statSync(path).isDirectory());
      assert.equal(readFileSync(join(path, "mine.txt"), "utf8"), "the user's");
    } finally {
      dir.remove();
    }
  });

  for (const companion of ["lockfile", "version"]) {
    it(`a folder where the ${companion} file should be: a typed error naming it, nothing overwritten`, async () => {
      const dir = tempDir();
      try {
        const path = join(dir.path, "token_cache.json");
        writeFileSync(path, "{}");
        mkdirSync(`${path}.${companion}`);
        const error = await failure(path);
        assert.equal(error.path, `${path}.${companion}`);
        assert.ok(error.message.includes(`${path}.${companion}`), error.message);
        assert.ok(statSync(`${path}.${companion}`).isDirectory());
        assert.equal(readFileSync(path, "utf8"), "{}");
        assert.deepEqual(readdirSync(dir.path).sort(), ["token_cache.json", `token_cache.json.${companion}`]);
      } finally {
        dir.remove();
      }
    });
  }

  it("a regular file where the cache folder should be: a typed error naming the folder, the file kept", async () => {
    const dir = tempDir();
    try {
      const folder = join(dir.path, "cache");
      writeFileSync(folder, "not a folder");
      const error = await failure(join(folder, "token_cache.json"));
      assert.equal(error.path, folder);
      assert.equal(error.operation, "create the folder");
      assert.match(error.message, /a file is where a folder should be/);
      assert.equal(readFileSync(folder, "utf8"), "not a folder");
    } finally {
      dir.remove();
    }
  });

  it("the CLI reports it in two lines with exit 1, no stack", async () => {
    const dir = tempDir();
    try {
      const folder = join(dir.path, "cache");
      writeFileSync(folder, "not a folder");
      const { code, stdout, stderr } = await cli(["accounts"], { AUTHBROKER_CACHE_DIR: folder }).finished;
      assert.equal(code, 1, stderr);
      assert.equal(stdout, "");
      assert.match(
        stderr,
        /^error: cache_file_error\nerror_description: The token cache could not create the folder /,
      );
      assert.ok(stderr.includes(folder), stderr);
      assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
      assert.equal(readFileSync(folder, "utf8"), "not a folder");
    } finally {
      dir.remove();
    }
  });
});
