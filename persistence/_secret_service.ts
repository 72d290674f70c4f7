/**
 * A small client of the freedesktop Secret Service API (`org.freedesktop.secrets`: GNOME Keyring,
 * KWallet, KeePassXC) over dbus-next's message API: open an encrypted session, find, read, create and
 * delete items, unlock through the service's prompt. Typed locally: dbus-next ships loose types.
 *
 * @module
 */

import { importDependency } from "../broker.ts";
import { KeyringLockedError, SecretServiceUnavailableError } from "./errors.ts";
import { DhSession } from "./_dh.ts";

const SERVICE = "org.freedesktop.secrets";
const SERVICE_PATH = "/org/freedesktop/secrets";
const SECRET = "org.freedesktop.Secret";
/** The collection libsecret stores in when none is named. */
export const DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default";
const DH_ALGORITHM = "dh-ietf1024-sha256-aes128-cbc-pkcs7";
const NO_PROMPT = "/";

interface Message {
  body: unknown[];
  path?: string;
  interface?: string;
  member?: string;
}

interface Variant {
  signature: string;
  value: unknown;
}

interface MessageBus {
  call(message: Message): Promise<Message | null>;
  disconnect(): void;
  on(event: "message", listener: (message: Message) => void): unknown;
  once(event: "connect", listener: () => void): unknown;
  once(event: "error", listener: (error: unknown) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

interface DBusNext {
  sessionBus(options?: { busAddress?: string }): MessageBus;
  Message: new (init: Record<string, unknown>) => Message;
  Variant: new (signature: string, value: unknown) => Variant;
}

/** Attributes of an item: libsecret's schema attributes (`xdg:schema` and the schema's fields). */
export type Attributes = Record<string, string>;

/** What {@linkcode SecretServiceClient.connect} needs. */
export interface ConnectOptions {
  /** The bus address; `DBUS_SESSION_BUS_ADDRESS` by default. */
  busAddress?: string;
  /** Deadline for connecting and for each call, in ms. */
  timeoutMs: number;
  /** Deadline for the user to answer an unlock prompt, in ms. */
  promptTimeoutMs: number;
}

function errorName(error: unknown): string {
  return String((error as { type?: string } | null)?.type ?? "");
}

function messageOf(error: unknown): string {
  const e = error as { text?: string; message?: string } | null;
  return e?.text ?? e?.message ?? String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SecretServiceUnavailableError(`${what} timed out after ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function bytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(value as number[]);
}

/** One connection and one open session; {@linkcode close} it after each use. */
export class SecretServiceClient {
  readonly #dbus: DBusNext;
  readonly #bus: MessageBus;
  readonly #options: ConnectOptions;
  #session = "/";
  #dh: DhSession | undefined;
  /** The negotiated transfer: `"dh-ietf1024-sha256-aes128-cbc-pkcs7"`, or `"plain"` if refused. */
  algorithm = DH_ALGORITHM;

  private constructor(dbus: DBusNext, bus: MessageBus, options: ConnectOptions) {
    this.#dbus = dbus;
    this.#bus = bus;
    this.#options = options;
  }

  /**
   * Connects to the session bus and opens a session with the Secret Service, encrypted unless the
   * service refuses it.
   *
   * @throws {DependencyError} if dbus-next is not installed (the message names the install command).
   * @throws {SecretServiceUnavailableError} if there is no session bus or no Secret Service on it.
   */
  static async connect(options: ConnectOptions): Promise<SecretServiceClient> {
    const module = await importDependency("dbus-next", () => import("dbus-next"), {
      feature: "The Secret Service (keyring) token cache",
    });
    const dbus = ((module as { default?: unknown }).default ?? module) as unknown as DBusNext;
    let bus: MessageBus;
    try {
      bus = dbus.sessionBus(options.busAddress ? { busAddress: options.busAddress } : {});
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          bus.once("connect", () => resolve());
          bus.once("error", reject);
        }),
        options.timeoutMs,
        "Connecting to the session bus",
      );
    } catch (error) {
      throw new SecretServiceUnavailableError(
        `No D-Bus session bus, so no Secret Service (${messageOf(error)})`,
        { cause: error },
      );
    }
    const client = new SecretServiceClient(dbus, bus, options);
    try {
      await client.#openSession();
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** Closes the session and the connection. */
  close(): void {
    this.#bus.disconnect();
  }

  async #call(
    path: string,
    iface: string,
    member: string,
    signature = "",
    body: unknown[] = [],
  ): Promise<unknown[]> {
    const message = new this.#dbus.Message({
      destination: SERVICE,
      path,
      interface: iface,
      member,
      signature,
      body,
    });
    try {
      const reply = await withTimeout(
        this.#bus.call(message),
        this.#options.timeoutMs,
        `Secret Service ${member}`,
      );
      return reply?.body ?? [];
    } catch (error) {
      const name = errorName(error);
      if (
        name === "org.freedesktop.DBus.Error.ServiceUnknown" ||
        name === "org.freedesktop.DBus.Error.NameHasNoOwner"
      ) {
        throw new SecretServiceUnavailableError(
          `No Secret Service (${SERVICE}) on the session bus: ${messageOf(error)}`,
          { cause: error },
        );
      }
      if (name === `${SECRET}.Error.IsLocked`) {
        throw new KeyringLockedError(path, messageOf(error), { cause: error });
      }
      throw error;
    }
  }

  async #openSession(): Promise<void> {
    const dh = new DhSession();
    try {
      const [output, session] = await this.#call(
        SERVICE_PATH,
        `${SECRET}.Service`,
        "OpenSession",
        "sv",
        [DH_ALGORITHM, new this.#dbus.Variant("ay", Array.from(dh.publicKey))],
      ) as [Variant, string];
      await dh.complete(bytes(output.value));
      this.#dh = dh;
      this.#session = session;
      return;
    } catch (error) {
      if (errorName(error) !== "org.freedesktop.DBus.Error.NotSupported") throw error;
    }
    // The service refused the encrypted transfer: plain is all that is left (the bus is local).
    const [, session] = await this.#call(SERVICE_PATH, `${SECRET}.Service`, "OpenSession", "sv", [
      "plain",
      new this.#dbus.Variant("s", ""),
    ]) as [Variant, string];
    this.algorithm = "plain";
    this.#session = session;
  }

  /** Items whose attributes include all of `attributes`, unlocked ones first. */
  async search(attributes: Attributes): Promise<{ unlocked: string[]; locked: string[] }> {
    const [unlocked, locked] = await this.#call(
      SERVICE_PATH,
      `${SECRET}.Service`,
      "SearchItems",
      "a{ss}",
      [attributes],
    ) as [string[], string[]];
    return { unlocked, locked };
  }

  /**
   * Unlocks `objects` (items or collections), through the service's prompt if it shows one.
   *
   * @throws {KeyringLockedError} if the service has no prompt, the user dismissed it, or it timed out.
   */
  async unlock(objects: string[]): Promise<void> {
    const [, prompt] = await this.#call(SERVICE_PATH, `${SECRET}.Service`, "Unlock", "ao", [objects]) as [
      string[],
      string,
    ];
    if (prompt === NO_PROMPT) return;
    await this.#prompt(prompt, objects[0]);
  }

  async #prompt(prompt: string, target: string): Promise<void> {
    const rule = `type='signal',interface='${SECRET}.Prompt',member='Completed',path='${prompt}'`;
    await this.#bus.call(
      new this.#dbus.Message({
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "AddMatch",
        signature: "s",
        body: [rule],
      }),
    );
    let listener: ((message: Message) => void) | undefined;
    const completed = new Promise<boolean>((resolve) => {
      listener = (message) => {
        if (message.path === prompt && message.member === "Completed") resolve(message.body[0] === true);
      };
      this.#bus.on("message", listener);
    });
    try {
      try {
        await this.#call(prompt, `${SECRET}.Prompt`, "Prompt", "s", [""]);
      } catch (error) {
        throw new KeyringLockedError(target, `the unlock prompt failed: ${messageOf(error)}`, {
          cause: error,
        });
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const dismissed = await Promise.race([
        completed,
        new Promise<"timeout">((
          resolve,
        ) => (timer = setTimeout(() => resolve("timeout"), this.#options.promptTimeoutMs))),
      ]).finally(() => clearTimeout(timer));
      if (dismissed === "timeout") {
        await this.#call(prompt, `${SECRET}.Prompt`, "Dismiss").catch(() => {});
        throw new KeyringLockedError(target, "nobody answered the unlock prompt");
      }
      if (dismissed) throw new KeyringLockedError(target, "the unlock prompt was dismissed");
    } finally {
      if (listener) this.#bus.removeListener("message", listener as (...args: never[]) => void);
    }
  }

  /** The secret of `item`, decrypted. */
  async getSecret(item: string): Promise<Uint8Array> {
    const [secret] = await this.#call(item, `${SECRET}.Item`, "GetSecret", "o", [this.#session]) as [
      [string, unknown, unknown, string],
    ];
    const [, parameters, value] = secret;
    return this.#dh
      ? await this.#dh.open({ parameters: bytes(parameters), value: bytes(value) })
      : bytes(value);
  }

  /**
   * Stores `secret` as an item of `collection` with `label` and `attributes`; with `replace`, an item
   * with the same attributes is overwritten. Unlocks the collection first (prompting if needed).
   */
  async createItem(
    collection: string,
    label: string,
    attributes: Attributes,
    secret: Uint8Array<ArrayBuffer>,
    replace: boolean,
  ): Promise<string> {
    await this.unlock([collection]);
    const sealed = this.#dh ? await this.#dh.seal(secret) : { parameters: new Uint8Array(0), value: secret };
    const properties = {
      [`${SECRET}.Item.Label`]: new this.#dbus.Variant("s", label),
      [`${SECRET}.Item.Attributes`]: new this.#dbus.Variant("a{ss}", attributes),
    };
    const [item, prompt] = await this.#call(
      collection,
      `${SECRET}.Collection`,
      "CreateItem",
      "a{sv}(oayays)b",
      [properties, [this.#session, sealed.parameters, sealed.value, "text/plain"], replace],
    ) as [string, string];
    if (prompt !== NO_PROMPT) await this.#prompt(prompt, collection);
    return item;
  }

  /** Deletes `item`. */
  async deleteItem(item: string): Promise<void> {
    const [prompt] = await this.#call(item, `${SECRET}.Item`, "Delete") as [string];
    if (prompt !== NO_PROMPT) await this.#prompt(prompt, item);
  }
}
