// The slice of dbus-next the test kit uses, loaded on first use so that importing the kit never needs
// the optional peer dependency. Typed locally: dbus-next ships ambient module types only.

import { importDependency } from "../broker.ts";

/** A D-Bus message as dbus-next represents it. */
export interface DBusMessage {
  type: number;
  serial: number | null;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  destination?: string;
  sender?: string;
  signature?: string;
  body: unknown[];
  flags?: number;
}

/** A connection to a bus. */
export interface DBusConnection {
  /** The unique name (`:1.42`) once connected. */
  name: string | null;
  call(message: DBusMessage): Promise<DBusMessage | null>;
  send(message: DBusMessage): void;
  requestName(name: string, flags: number): Promise<number>;
  releaseName(name: string): Promise<number>;
  addMethodHandler(handler: (message: DBusMessage) => boolean): void;
  disconnect(): void;
  on(event: "connect", listener: () => void): unknown;
  on(event: "error", listener: (error: unknown) => void): unknown;
  once(event: "connect", listener: () => void): unknown;
  once(event: "error", listener: (error: unknown) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  _connection?: { stream?: { destroy(): void; once(event: string, listener: () => void): void } };
}

/** The dbus-next module's exports used here. */
export interface DBusNext {
  sessionBus(options: { busAddress: string }): DBusConnection;
  Message: {
    new (init: Partial<DBusMessage>): DBusMessage;
    newError(to: DBusMessage, errorName: string, text?: string): DBusMessage;
    newMethodReturn(to: DBusMessage, signature?: string, body?: unknown[]): DBusMessage;
  };
  DBusError: new (type: string, text: string) => Error & { type: string; text: string };
}

let loaded: Promise<DBusNext> | undefined;

/**
 * Loads dbus-next.
 *
 * @throws {DependencyError} naming the dev-dependency install command when it is missing.
 */
export function loadDBusNext(): Promise<DBusNext> {
  loaded ??= importDependency("dbus-next", () => import("dbus-next"), {
    feature: "The testing kit's D-Bus fakes",
    dev: true,
  }).then(
    (mod) => ((mod as unknown as { default?: unknown }).default ?? mod) as DBusNext,
    (error) => {
      loaded = undefined;
      throw error;
    },
  );
  return loaded;
}

/** Connects to `address` and resolves once the bus has assigned a unique name. */
export async function connectBus(address: string): Promise<DBusConnection> {
  const dbus = await loadDBusNext();
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: unknown) => {
      bus.removeListener("connect", onConnect);
      reject(error);
    };
    const onConnect = () => {
      bus.removeListener("error", onError);
      resolve();
    };
    bus.once("connect", onConnect);
    bus.once("error", onError);
  });
  return bus;
}

/** Calls a method of the bus daemon itself (`org.freedesktop.DBus`). */
async function callDaemon(
  bus: DBusConnection,
  member: string,
  signature = "",
  body: unknown[] = [],
): Promise<unknown[]> {
  const dbus = await loadDBusNext();
  const reply = await bus.call(
    new dbus.Message({
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
      member,
      signature,
      body,
    }),
  );
  return reply?.body ?? [];
}

/** `org.freedesktop.DBus.NameHasOwner`. */
export async function nameHasOwner(bus: DBusConnection, name: string): Promise<boolean> {
  const [owned] = await callDaemon(bus, "NameHasOwner", "s", [name]);
  return owned === true;
}
