/**
 * Errors a user can act on. A `UsageError` (bad flag, unknown command) exits 2; a `UserError`
 * (missing data, bad input file) exits 1. Both print only their message, never a stack trace.
 */
export class UserError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

export class UsageError extends UserError {
  override readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A one-line description of any thrown value, for error columns and logs. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split("\n")[0];
  return String(err);
}

/** Ctrl-C stopped the job: exit code 130 (what a shell reports for SIGINT). */
export class InterruptedError extends UserError {
  override readonly exitCode: number = 130;
  constructor(message: string) {
    super(message);
    this.name = "InterruptedError";
  }
}
