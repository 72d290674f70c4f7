/**
 * The device-code flow (RFC 8628) as MSAL Python runs it: request a code, then poll the token
 * endpoint at the server's interval, slowing down when asked, until the user signs in, the code
 * expires, or the app cancels.
 *
 * @module
 */

import { ConfigurationError, InvalidInputError } from "../core/errors.ts";
import { sleep } from "../core/abort.ts";
import type { AuthResult, ErrorResult } from "../core/results.ts";
import { classifyError } from "../core/results.ts";
import { decorateScopes } from "../core/scopes.ts";
import { readSeconds } from "../core/token_response.ts";
import type { CallOptions, OnlineContext } from "./context.ts";
import { redeem } from "./grant.ts";

/** The account source MSAL Python records for device-code sign-ins (so the broker is bypassed later). */
const DEVICE_CODE_ACCOUNT_SOURCE = "urn:ietf:params:oauth:grant-type:device_code";

/** A started device flow: show `message` to the user, then pass the flow to `acquireTokenByDeviceFlow`. */
export interface DeviceFlow {
  /** The code the user types. */
  user_code: string;
  /** The secret the app polls with. */
  device_code: string;
  /** Where the user goes. */
  verification_uri: string;
  /** The server's instructions for the user, ready to show. */
  message: string;
  /** Seconds between polls. */
  interval: number;
  /** Seconds the code lives. */
  expires_in: number;
  /** Epoch seconds when the code expires. */
  expires_at: number;
  /** The scopes the flow was started for. */
  scopes: string[];
  /** The correlation id shared by the flow's requests. */
  correlation_id: string;
  /** Any other field the server returned. */
  [field: string]: unknown;
}

/**
 * The request options of {@linkcode initiateDeviceFlow}: `claims` already merged from the app's
 * `claimsChallenge` and client capabilities.
 */
export interface DeviceFlowRequestOptions extends CallOptions {
  /** Claims to request (merged challenge and capabilities). */
  claims?: string;
}

/** Asks the authority for a device code. Returns the flow, or the server's error. */
export async function initiateDeviceFlow(
  context: OnlineContext,
  scopes: readonly string[],
  options: DeviceFlowRequestOptions = {},
): Promise<DeviceFlow | ErrorResult> {
  const endpoint = context.authority.deviceAuthorizationEndpoint;
  if (!endpoint) throw new ConfigurationError("You need to provide device authorization endpoint");
  const correlationId = options.correlationId ?? crypto.randomUUID();
  const form: Record<string, string> = { client_id: context.clientId, scope: decorateScopes(scopes) };
  if (options.claims) form.claims = options.claims;
  const answer = await context.http.postForm(endpoint, form, { correlationId, signal: options.signal });
  if ("error" in answer) return classifyError(answer as ErrorResult);
  const body = answer.body;
  for (const field of ["user_code", "device_code", "verification_uri"]) {
    if (typeof body[field] !== "string") {
      return {
        error: "invalid_response",
        error_description: `The device authorization answer has no "${field}"`,
        correlation_id: correlationId,
      };
    }
  }
  // RFC 8628 §3.2: `interval` defaults to 5 s; MSAL Python's `expires_in` default is 1800 s. A value that is
  // present but not a number of seconds is a malformed answer.
  let interval: number;
  let expiresIn: number;
  try {
    interval = readSeconds(body.interval, "interval") ?? DEFAULT_INTERVAL_SECONDS;
    expiresIn = readSeconds(body.expires_in, "expires_in") ?? DEFAULT_DEVICE_CODE_SECONDS;
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return {
      error: "invalid_response",
      error_description: `The device authorization answer is malformed: ${error.message}`,
      correlation_id: correlationId,
    };
  }
  return {
    ...body,
    user_code: body.user_code as string,
    device_code: body.device_code as string,
    verification_uri: body.verification_uri as string,
    message: typeof body.message === "string"
      ? body.message
      : `To sign in, open ${body.verification_uri} and enter the code ${body.user_code}`,
    interval,
    expires_in: expiresIn,
    expires_at: Math.floor(Date.now() / 1000) + expiresIn,
    scopes: [...scopes],
    correlation_id: correlationId,
  };
}

/** Options of {@linkcode acquireTokenByDeviceFlow}. */
export interface DeviceFlowPollOptions extends Pick<CallOptions, "signal"> {
  /** Claims to request. */
  claims?: string;
}

const SLOW_DOWN_SECONDS = 5;
const DEFAULT_INTERVAL_SECONDS = 5;
const DEFAULT_DEVICE_CODE_SECONDS = 1800;

function validSeconds(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/** Polls until the user signs in (a token result), the server refuses, or the code expires. */
export async function acquireTokenByDeviceFlow(
  context: OnlineContext,
  flow: DeviceFlow,
  options: DeviceFlowPollOptions = {},
): Promise<AuthResult> {
  // A flow the app kept (or rebuilt) may carry anything: never poll faster than the defaults allow.
  let interval = validSeconds(flow.interval) ? flow.interval : DEFAULT_INTERVAL_SECONDS;
  const expiresAt = validSeconds(flow.expires_at)
    ? flow.expires_at
    : Date.now() / 1000 + DEFAULT_DEVICE_CODE_SECONDS;
  const form: Record<string, string> = {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    device_code: flow.device_code,
  };
  if (options.claims) form.claims = options.claims;
  while (true) {
    const result = await redeem(context, form, {
      scopes: flow.scopes,
      accountSource: DEVICE_CODE_ACCOUNT_SOURCE,
      correlationId: flow.correlation_id,
      signal: options.signal,
    });
    if (!("error" in result)) return result;
    if (result.error === "slow_down") interval += SLOW_DOWN_SECONDS;
    else if (result.error !== "authorization_pending") return result;
    const now = Date.now() / 1000;
    if (now + interval >= expiresAt) {
      return {
        error: "expired_token",
        error_description: "The device code expired before the user signed in. Start a new device flow.",
        correlation_id: flow.correlation_id,
      };
    }
    await sleep(interval * 1000, options.signal);
  }
}
