/**
 * The `prompt` parameter of an authorization request: one type for the app's flows and the broker
 * contract, which takes the part of it a broker is asked for.
 *
 * @module
 */

/**
 * `prompt` values of the authorization request (OpenID Connect Core 1.0 §3.1.2.1; `create` from
 * OpenID Connect Initiating User Registration 1.0): `none` signs in without any UI or fails, `login`
 * forces a fresh sign-in, `consent` asks the user to consent again, `select_account` shows the account
 * picker, `create` offers to create an account.
 */
export type Prompt = "none" | "login" | "consent" | "select_account" | "create";
