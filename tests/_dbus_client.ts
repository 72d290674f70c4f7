// Raw dbus-next calls for tests that drive a broker without the plugin: what any D-Bus client sends.

import dbus from "dbus-next";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

type Json = Record<string, unknown>;

/** The Broker1 coordinates. */
export const BROKER = {
  name: "com.microsoft.identity.broker1",
  path: "/com/microsoft/identity/broker1",
  iface: "com.microsoft.identity.Broker1",
} as const;

/** Every field of an account in the broker's replies (spec §11), sorted. */
export const BROKER_ACCOUNT_FIELDS: readonly string[] = [
  "alternativeAccountId",
  "clientInfo",
  "environment",
  "familyName",
  "givenName",
  "homeAccountId",
  "homeEnvironment",
  "localAccountId",
  "middleName",
  "name",
  "passwordChangeUrl",
  "passwordExpiry",
  "realm",
  "username",
];

/** A connected client; `call` sends one Broker1 method and returns the reply's JSON. */
export interface RawClient {
  bus: dbus.MessageBus;
  /** The client's unique bus name, e.g. `:1.7`. */
  uniqueName: string;
  /** Calls `member(protocolVersion, correlationId, json)` and parses the reply. */
  call(member: string, request: Json | string, options?: { protocolVersion?: string }): Promise<Json>;
  /** Sends any message to the broker's name and resolves with the reply message. */
  raw(init: Partial<dbus.Message>): Promise<dbus.Message>;
  /** Calls a method of the bus daemon. */
  daemon(member: string, signature?: string, body?: unknown[]): Promise<unknown[]>;
  close(): void;
}

/** Connects to `address`. */
export async function rawClient(address: string): Promise<RawClient> {
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.on("connect", () => resolve());
    bus.on("error", reject);
  });
  const raw = async (init: Partial<dbus.Message>) =>
    (await bus.call(new dbus.Message({ destination: BROKER.name, path: BROKER.path, ...init })))!;
  return {
    bus,
    uniqueName: (bus as unknown as { name: string }).name,
    raw,
    async call(member, request, options = {}) {
      const reply = await raw({
        interface: BROKER.iface,
        member,
        signature: "sss",
        body: [
          options.protocolVersion ?? "0.0",
          "00000000-0000-0000-0000-000000000000",
          typeof request === "string" ? request : JSON.stringify(request),
        ],
      });
      return JSON.parse(reply.body[0]) as Json;
    },
    async daemon(member, signature = "", body = []) {
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
      return reply!.body;
    },
    close: () => bus.disconnect(),
  };
}

/** The D-Bus error name a rejected call carries. */
export async function dbusErrorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { type?: string }).type ?? String(error);
  }
  throw new Error("The call succeeded");
}

/** Whether a process id is still alive (a zombie waiting to be reaped is not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Whether a process group still has a member that is not a zombie. */
export function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
  } catch {
    return false;
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === group && fields[0] !== "Z") return true;
    } catch {
      // the process ended meanwhile
    }
  }
  return false;
}
