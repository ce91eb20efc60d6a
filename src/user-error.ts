/**
 * A problem the user caused and can fix (a bad flag, an unreadable file, a port in use). The CLI prints its message
 * as one line on stderr and exits non-zero; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override readonly name = "UserError";
}
