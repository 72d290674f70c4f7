/**
 * The `authbroker` command's exit codes. Scripts can tell "a person must sign in" from "the network is
 * down" from "the command line is wrong" without parsing messages.
 *
 * @module
 */

/** The command did what it was asked. */
export const EXIT_OK = 0;
/** The identity provider or the broker refused (e.g. `invalid_client`, `broker_error`), or an unexpected failure. */
export const EXIT_FAILED = 1;
/** The command line is wrong: an unknown option, a missing `--client-id`, a malformed authority. */
export const EXIT_USAGE = 2;
/**
 * A person must act before this can succeed: sign in or consent (`interaction_required`, `invalid_grant`,
 * ...), the user cancelled or declined, the device code expired, no browser could be opened, no
 * account is signed in for `--silent`, or a broker dependency must be installed.
 */
export const EXIT_USER_ACTION = 3;
/** The identity provider could not be reached, timed out, or said it is temporarily unavailable. */
export const EXIT_NETWORK = 4;
/** Interrupted with Ctrl-C (128 + SIGINT): the pending request, listener and broker call were aborted. */
export const EXIT_INTERRUPTED = 130;
