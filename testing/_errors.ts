// Entra-shaped OAuth error responses: the JSON body ESTS sends with every 4xx from its JSON endpoints.

import { type Ctx, status } from "./_context.ts";

/** An OAuth error as the fake authority reports it. */
export interface EntraError {
  /** The OAuth error code, e.g. `"invalid_grant"`. */
  error: string;
  /** First line of `error_description`; may start with `AADSTSnnnn: `, else `code` is prefixed. */
  description: string;
  /** The AADSTS number, when `description` does not start with one. */
  code?: number;
  /** Entra's sub-error, e.g. `"client_mismatch"`. */
  suberror?: string;
  /** A claims challenge (JSON string). */
  claims?: string;
  /** HTTP status; 400 by default. */
  status?: number;
}

/** Formats a date the way ESTS does in error bodies: `2024-01-31 12:34:56Z`. */
export function estsTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Builds the JSON body of an Entra error for the current request. */
function entraErrorBody(c: Ctx, e: EntraError): Record<string, unknown> {
  const traceId = c.get("traceId");
  const correlationId = c.get("correlationId");
  const timestamp = estsTimestamp();
  const match = /^AADSTS(\d+)/.exec(e.description);
  const code = match ? Number(match[1]) : e.code;
  const firstLine = match || code === undefined ? e.description : `AADSTS${code}: ${e.description}`;
  const body: Record<string, unknown> = {
    error: e.error,
    error_description:
      `${firstLine}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: code === undefined ? [] : [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  };
  if (e.suberror !== undefined) body.suberror = e.suberror;
  if (e.claims !== undefined) body.claims = e.claims;
  return body;
}

/** Responds with an Entra error as JSON (HTTP 400 unless `e.status` says otherwise). */
export function entraError(c: Ctx, e: EntraError): Response {
  return c.json(entraErrorBody(c, e), status(e.status ?? 400));
}

/** `invalid_request` for a missing parameter, worded as ESTS does. */
export function missingParameter(c: Ctx, name: string): Response {
  return entraError(c, {
    error: "invalid_request",
    code: 900144,
    description: `The request body must contain the following parameter: '${name}'.`,
  });
}
