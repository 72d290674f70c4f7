// The Windows/macOS/WSL pieces of the msalruntime plugin that do not need the native runtime: redirect
// URIs per platform, window handles, refused parameters, answers mapped as MSAL Python's adapter maps
// them, and the diagnosis of a native library that did not load.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  brokerErrorOf,
  brokerRedirectUri,
  logLevelOf,
  type NativeAccount,
  type NativeAuthResult,
  nativeWindowHandle,
  partitionExtraParameters,
  tokenResponseOf,
} from "../brokers/_msalruntime_map.ts";
import {
  debianPackageOf,
  explainLoadFailure,
  LINUX_RUNTIME_LIBRARIES,
  nativeBinaryPath,
  probeNativeLoad,
} from "../brokers/_msalruntime_native.ts";
import { CONSOLE_WINDOW_HANDLE } from "../broker.ts";
import { ConfigurationError } from "../mod.ts";
import { CLIENT_ID } from "./_helpers.ts";

const NOW = Math.floor(Date.now() / 1000);

const ACCOUNT: NativeAccount = {
  accountId: "broker-account-1",
  homeAccountId: "oid-1.tid-1",
  environment: "login.microsoftonline.com",
  realm: "tid-1",
  username: "alice@contoso.com",
  clientInfo: "eyJ1aWQiOiJvaWQtMSIsInV0aWQiOiJ0aWQtMSJ9",
};

function answer(fields: Partial<NativeAuthResult>): NativeAuthResult {
  return { CheckError: () => {}, account: ACCOUNT, expiresOn: NOW + 3600, ...fields };
}

describe("redirect URIs per platform", () => {
  it("WAM's on Windows and WSL, the unsigned app's on macOS, the native-client URI on Linux", () => {
    const wam = `ms-appx-web://Microsoft.AAD.BrokerPlugin/${CLIENT_ID}`;
    assert.equal(brokerRedirectUri("windows", CLIENT_ID), wam);
    assert.equal(brokerRedirectUri("wsl", CLIENT_ID), wam);
    assert.equal(brokerRedirectUri("mac", CLIENT_ID), "msauth.com.msauth.unsignedapp://auth");
    assert.equal(
      brokerRedirectUri("linux", CLIENT_ID),
      "https://login.microsoftonline.com/common/oauth2/nativeclient",
    );
  });

  it("a signed macOS app's own URI wins", () => {
    assert.equal(
      brokerRedirectUri("mac", CLIENT_ID, "msauth.com.contoso.app://auth"),
      "msauth.com.contoso.app://auth",
    );
  });
});

describe("window handles as the runtime takes them", () => {
  it("CONSOLE_WINDOW_HANDLE is the null pointer, 8 bytes or 4 on 32-bit Windows", () => {
    assert.deepEqual(nativeWindowHandle(CONSOLE_WINDOW_HANDLE, 8), new Uint8Array(8));
    assert.deepEqual(nativeWindowHandle(CONSOLE_WINDOW_HANDLE, 4), new Uint8Array(4));
  });

  it("a number or bigint is the pointer, little-endian", () => {
    assert.deepEqual(nativeWindowHandle(0x1234, 8), new Uint8Array([0x34, 0x12, 0, 0, 0, 0, 0, 0]));
    assert.deepEqual(nativeWindowHandle(0x1234, 4), new Uint8Array([0x34, 0x12, 0, 0]));
    assert.deepEqual(
      nativeWindowHandle(0x0102030405060708n, 8),
      new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]),
    );
  });

  it("bytes from a GUI toolkit are passed as given, copied", () => {
    const hwnd = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const passed = nativeWindowHandle(hwnd, 8);
    assert.deepEqual(passed, hwnd);
    hwnd[0] = 9;
    assert.equal(passed[0], 1);
  });

  it("handles that cannot be a pointer are a configuration error", () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32, -1n, 1n << 64n, new Uint8Array(0), new Uint8Array(9)]) {
      const pointer = typeof bad === "number" && bad === 2 ** 32 ? 4 : 8;
      assert.throws(() => nativeWindowHandle(bad, pointer), ConfigurationError, String(bad));
    }
    assert.throws(() => nativeWindowHandle("0x1234" as unknown as number, 8), ConfigurationError);
  });
});

describe("additional parameters", () => {
  it("those the runtime refuses with ApiContractViolation are held back, whatever their case", () => {
    const { pass, refused } = partitionExtraParameters({
      prompt: "login",
      Domain_Hint: "contoso.com",
      max_age: "0",
      validateAuthority: "no",
      MSALRuntime_Username: "alice@contoso.com",
      login_hint: "alice@contoso.com",
      nonce: "n",
    });
    assert.deepEqual(refused, ["prompt", "Domain_Hint", "nonce"]);
    assert.deepEqual(Object.fromEntries(pass), {
      max_age: "0",
      validateAuthority: "no",
      MSALRuntime_Username: "alice@contoso.com",
      login_hint: "alice@contoso.com",
    });
  });
});

describe("answers mapped as MSAL Python's adapter maps them", () => {
  it("a Bearer token: expiry in epoch seconds, decoded claims, client info, broker account id, scopes", () => {
    const claims = { oid: "oid-1", tid: "tid-1", preferred_username: "alice@contoso.com" };
    const response = tokenResponseOf(
      answer({
        accessToken: "at",
        rawIdToken: "header.payload.sig",
        idToken: JSON.stringify(claims),
        grantedScopes: "User.Read  Mail.Read",
      }),
      "Bearer",
    );
    assert.ok(response.ok);
    assert.equal(response.accessToken, "at");
    assert.equal(response.expiresOn, NOW + 3600);
    assert.equal(response.tokenType, "Bearer");
    assert.equal(response.idToken, "header.payload.sig");
    assert.deepEqual(response.idTokenClaims, claims);
    assert.equal(response.clientInfo, ACCOUNT.clientInfo);
    assert.deepEqual(response.grantedScopes, ["User.Read", "Mail.Read"]);
    assert.equal(response.account.id, "broker-account-1");
    assert.equal(response.account.username, "alice@contoso.com");
    assert.equal(response.account.homeAccountId, "oid-1.tid-1");
  });

  it("a proof-of-possession token comes from the authorization header", () => {
    const response = tokenResponseOf(
      answer({ accessToken: "bearer-ish", authorizationHeader: "pop eyJ.shr.sig", isPopAuthorization: true }),
      "pop",
    );
    assert.ok(response.ok);
    assert.equal(response.accessToken, "eyJ.shr.sig");
    assert.equal(response.tokenType, "pop");
  });

  it("a PoP request answered without a PoP header is an error, not a Bearer token in disguise", () => {
    const response = tokenResponseOf(answer({ accessToken: "bearer", authorizationHeader: "" }), "pop");
    assert.equal(response.ok, false);
    assert.match(!response.ok ? response.context : "", /no proof-of-possession/);
  });

  it("an SSH certificate keeps its token type", () => {
    const response = tokenResponseOf(answer({ accessToken: "AAAAB3NzaC1yc2E" }), "ssh-cert");
    assert.ok(response.ok);
    assert.equal(response.tokenType, "ssh-cert");
  });

  it("answers without a token, expiry or account are Unexpected errors", () => {
    for (
      const fields of [
        { accessToken: "" },
        { accessToken: "at", expiresOn: 0 },
        { accessToken: "at", expiresOn: Number.NaN },
        { accessToken: "at", account: undefined },
      ]
    ) {
      const response = tokenResponseOf(answer(fields), "Bearer");
      assert.equal(response.ok, false, JSON.stringify(fields));
      assert.equal(!response.ok && response.status, "Unexpected");
    }
  });

  it("claims the runtime could not decode are left for the flows to decode from the raw token", () => {
    for (const idToken of ["not json", "[1,2]", "null", ""]) {
      const response = tokenResponseOf(answer({ accessToken: "at", idToken, rawIdToken: "a.b.c" }), "Bearer");
      assert.ok(response.ok);
      assert.equal(response.idTokenClaims, undefined, idToken);
      assert.equal(response.idToken, "a.b.c");
    }
  });

  it("errors carry the ErrorStatus name, code, tag and context (rule 4)", () => {
    assert.deepEqual(
      brokerErrorOf({ errorStatus: 2, errorCode: 42, errorTag: 595719680, errorContext: "AADSTS50076" }),
      { ok: false, status: "InteractionRequired", errorCode: 42, tag: 595719680, context: "AADSTS50076" },
    );
    assert.equal(
      brokerErrorOf({ errorStatus: 16, errorCode: 0, errorTag: 0, errorContext: "" }).status,
      "AccountNotFound",
    );
    assert.equal(
      brokerErrorOf({ errorStatus: 99, errorCode: 0, errorTag: 0, errorContext: "" }).status,
      "Unknown(99)",
    );
  });

  it("log levels as msal-node maps them", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(logLevelOf), [
      "verbose",
      "verbose",
      "info",
      "warning",
      "error",
      "error",
    ]);
  });
});

describe("a native library that did not load", () => {
  const WORDS = "Binaries could not be loaded. This is unexpected.";

  it("names the missing WebKitGTK library and the Debian/Ubuntu packages", () => {
    const absent = new Set(["libwebkit2gtk-4.1.so.0", "libjavascriptcoregtk-4.1.so.0", "libsoup-3.0.so.0"]);
    const reason = explainLoadFailure(WORDS, {
      loaderMessage: "libwebkit2gtk-4.1.so.0: cannot open shared object file: No such file or directory",
      needed: LINUX_RUNTIME_LIBRARIES,
      isPresent: (soname) => !absent.has(soname),
    });
    assert.ok(reason.includes(WORDS), reason);
    assert.match(
      reason,
      /missing libwebkit2gtk-4\.1\.so\.0, libjavascriptcoregtk-4\.1\.so\.0, libsoup-3\.0\.so\.0/,
    );
    assert.match(
      reason,
      /sudo apt-get install libwebkit2gtk-4\.1-0 libjavascriptcoregtk-4\.1-0 libsoup-3\.0-0$/,
    );
  });

  it("a library only the loader knows about is named, with no made-up package", () => {
    const reason = explainLoadFailure(WORDS, {
      loaderMessage: "libwoff2dec.so.1.0.2: cannot open shared object file: No such file or directory",
      needed: LINUX_RUNTIME_LIBRARIES,
      isPresent: () => true,
    });
    assert.match(
      reason,
      /missing libwoff2dec\.so\.1\.0\.2; install the packages providing libwoff2dec\.so\.1\.0\.2$/,
    );
    assert.doesNotMatch(reason, /apt-get/);
  });

  it("a loader failure that is not a missing library is quoted as is", () => {
    const loaderMessage = "/x/libmsalruntime.so: version `GLIBCXX_3.4.32' not found";
    const reason = explainLoadFailure(WORDS, { loaderMessage, needed: [], isPresent: () => true });
    assert.ok(reason.endsWith(loaderMessage), reason);
  });

  it("maps library names to packages whatever their version suffix", () => {
    assert.equal(debianPackageOf("libwebkit2gtk-4.1.so.0"), "libwebkit2gtk-4.1-0");
    assert.equal(debianPackageOf("libwebkit2gtk-4.1.so.9"), "libwebkit2gtk-4.1-0");
    assert.equal(debianPackageOf("libcurl.so.4"), "libcurl4");
    assert.equal(debianPackageOf("libnothing.so.1"), undefined);
  });

  it("finds the addon where the package's own loader does", () => {
    const dist = "/app/node_modules/@azure/msal-node-runtime/dist";
    assert.equal(nativeBinaryPath(dist, "win32", "ia32"), `${dist}/windows/x86/msal-node-runtime.node`);
    assert.equal(nativeBinaryPath(dist, "darwin", "arm64"), `${dist}/macos/arm64/msal-node-runtime.node`);
    assert.equal(
      nativeBinaryPath(dist, "linux", "x64", 'ID=debian\nVERSION_ID="12"\n'),
      `${dist}/linux/ubuntu/x64/msal-node-runtime.node`,
    );
    assert.equal(
      nativeBinaryPath(dist, "linux", "x64", 'ID="rhel"\nVERSION_ID="9.4"\n'),
      `${dist}/linux/rhel8_9/x64/msal-node-runtime.node`,
    );
    assert.equal(
      nativeBinaryPath(
        dist,
        "linux",
        "x64",
        'ID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="10.0"\n',
      ),
      `${dist}/linux/rhel10/x64/msal-node-runtime.node`,
    );
  });
});

describe("the loader's own answer, for real", () => {
  it("a runtime whose library links a missing WebKitGTK: the loader names it, the reason names the package", async () => {
    // A copy of the published package whose libmsalruntime.so asks for a WebKitGTK soname no system has.
    const { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { pathToFileURL } = await import("node:url");
    const installed = new URL("../node_modules/@azure/msal-node-runtime/", import.meta.url);
    const work = mkdtempSync(join(tmpdir(), "msalruntime-"));
    try {
      const pkg = join(work, "node_modules/@azure/msal-node-runtime");
      cpSync(new URL("package.json", installed), join(pkg, "package.json"));
      cpSync(new URL("dist/index.cjs", installed), join(pkg, "dist/index.cjs"));
      cpSync(new URL("dist/linux/ubuntu/x64/", installed), join(pkg, "dist/linux/ubuntu/x64"), {
        recursive: true,
      });
      const library = join(pkg, "dist/linux/ubuntu/x64/libmsalruntime.so");
      const bytes = readFileSync(library);
      const needed = Buffer.from("libwebkit2gtk-4.1.so.0\0");
      const at = bytes.indexOf(needed);
      assert.ok(at > 0 && bytes.indexOf(needed, at + 1) < 0, "one NEEDED entry to patch");
      bytes.write("libwebkit2gtk-4.1.so.9\0", at, "latin1");
      writeFileSync(library, bytes);

      const facts = await probeNativeLoad(pathToFileURL(join(work, "app.js")).href);
      assert.ok(facts, "the package was found");
      assert.match(facts.loaderMessage ?? "", /libwebkit2gtk-4\.1\.so\.9: cannot open shared object file/);
      const reason = explainLoadFailure("Binaries could not be loaded. This is unexpected.", facts);
      assert.match(
        reason,
        /missing libwebkit2gtk-4\.1\.so\.9; on Debian\/Ubuntu: sudo apt-get install libwebkit2gtk-4\.1-0$/,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
