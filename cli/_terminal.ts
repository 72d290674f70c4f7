/**
 * The command's two output streams. stdout carries only the answer (a token, JSON, a list), so it can
 * be piped; everything for the person at the keyboard goes to stderr, and progress indicators are
 * drawn only when stderr is a terminal.
 *
 * @module
 */

/** What a command writes to, and what it knows about the terminal. */
export interface Terminal {
  /**
   * Writes the answer to stdout.
   *
   * @param text What to write, as is: no newline is added.
   */
  out(text: string): void;
  /**
   * Writes a message for the person to stderr.
   *
   * @param text What to write, as is: no newline is added.
   */
  err(text: string): void;
  /** Whether stderr is a terminal: only then are progress indicators drawn. */
  readonly interactive: boolean;
  /** The environment variables the command may read, by name (e.g. `AUTHBROKER_CLIENT_ID`). */
  readonly env: Record<string, string | undefined>;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Shows `message` with a spinner on stderr until the returned function is called (which clears the
 * line). Does nothing when stderr is not a terminal, so pipes and logs stay clean.
 */
export function waiting(terminal: Terminal, message: string): () => void {
  if (!terminal.interactive) return () => {};
  let frame = 0;
  const draw = (): void => terminal.err(`\r${FRAMES[frame++ % FRAMES.length]} ${message}`);
  draw();
  const timer = setInterval(draw, 120);
  return () => {
    clearInterval(timer);
    terminal.err("\r\x1b[2K");
  };
}
