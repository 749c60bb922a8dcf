/**
 * A failure the user can act on: printed as one line, never as a stack trace.
 * `exitCode` lets commands distinguish bad input (2) from a failed check (1).
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** One line for any error; the stack only when CAPACITY_DEBUG is set. */
export function describeError(err: unknown): string {
  if (err instanceof UserError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
