/**
 * A problem the user caused and can fix (a bad flag, an unreadable file, a port in use). The CLI prints its message
 * as one line on stderr and exits non-zero; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  /** The process exit code: 1 unless a command documents another (e.g. `check` exits 2 on bad input). */
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number } = {}) {
    super(message);
    this.exitCode = options.exitCode ?? 1;
  }
}
