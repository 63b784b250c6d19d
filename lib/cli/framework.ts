/**
 * The frame every `covergenre` subcommand plugs into. Conventions (documented in README):
 * - exit codes: 0 success, 1 failure (bad data, a step failed), 2 usage error (unknown command/flag);
 * - `--json`: the command prints exactly one JSON document on stdout; progress and logs go to stderr;
 * - errors print one clear line naming the item and the reason (no stack trace), secrets redacted.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError, UserError } from "../util/errors";
import { redactSecrets } from "../util/secrets";

export type OptionSpec = {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** One line for `--help`. */
  description: string;
  /** Shown in help; parsing leaves absent options undefined so commands can tell "not given". */
  defaultText?: string;
};

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  values: OptionValues;
  positionals: string[];
  /** `--json` was given. */
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Print one JSON document on stdout (the `--json` convention). */
  printJson(value: unknown): void;
  /** A human-readable line on stdout. */
  print(line: string): void;
  /** A log line on stderr (never mixed into `--json` output). */
  log(line: string): void;
}

export interface Command {
  name: string;
  summary: string;
  /** e.g. "covergenre faces [--json] <image…>" */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Whether positional arguments are accepted (files, sub-subcommands). */
  positionals?: boolean;
  /** Extra help text after the options. */
  details?: string;
  run(ctx: CommandContext): Promise<number | void>;
}

/** Options every command understands. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", description: "show help for this command" },
  json: { type: "boolean", description: "print one JSON document on stdout (logs go to stderr)" },
  data: { type: "string", description: "data root (default: $COVERGENRE_DATA, ../shared/data, or datasets/)" },
};

export function commandHelp(cmd: Command): string {
  const opts = { ...cmd.options, ...GLOBAL_OPTIONS };
  const rows = Object.entries(opts).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? " <value>" : ""}`;
    const def = spec.defaultText ? ` (default: ${spec.defaultText})` : "";
    return `  ${flag.padEnd(30)} ${spec.description}${def}`;
  });
  return [`Usage: ${cmd.usage}`, "", cmd.summary, "", "Options:", ...rows, ...(cmd.details ? ["", cmd.details] : [])].join(
    "\n",
  );
}

/** Parse argv for a command; unknown flags and missing values become a UsageError (exit 2). */
export function parseCommandArgs(cmd: Command, argv: string[]): { values: OptionValues; positionals: string[] } {
  const options: ParseArgsConfig["options"] = {};
  for (const [name, spec] of Object.entries({ ...cmd.options, ...GLOBAL_OPTIONS })) {
    options[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (!cmd.positionals && parsed.positionals.length > 0 && !parsed.values.help) {
      throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
    }
    return { values: parsed.values as OptionValues, positionals: parsed.positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // node's messages are good ("Unknown option '--x'"); drop its hint about '--' noise.
    const message = (err as Error).message.split(". To specify")[0];
    throw new UsageError(message);
  }
}

export function makeContext(
  values: OptionValues,
  positionals: string[],
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
): CommandContext {
  return {
    values,
    positionals,
    json: Boolean(values.json),
    stdout,
    stderr,
    printJson: (value) => stdout.write(redactSecrets(JSON.stringify(value, null, 2)) + "\n"),
    print: (line) => stdout.write(redactSecrets(line) + "\n"),
    log: (line) => stderr.write(redactSecrets(line) + "\n"),
  };
}

/** Typed accessors that turn a bad value into a UsageError naming the flag. */
export function stringOpt(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** A repeatable string option (`multiple: true`): every value given, or undefined when none. */
export function stringsOpt(values: OptionValues, name: string): string[] | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.length ? v : undefined;
  return typeof v === "string" ? [v] : undefined;
}

export function intOpt(values: OptionValues, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const raw = stringOpt(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number${min > -Infinity ? ` ≥ ${min}` : ""}${max < Infinity ? ` and ≤ ${max}` : ""}, got "${raw}"`);
  }
  return n;
}

export function floatOpt(values: OptionValues, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const raw = stringOpt(values, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${raw}"`);
  return n;
}

export function choiceOpt<T extends string>(values: OptionValues, name: string, choices: readonly T[], fallback: T): T {
  const raw = stringOpt(values, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${raw}"`);
  return raw as T;
}

export function requireOpt(values: OptionValues, name: string): string {
  const v = stringOpt(values, name);
  if (v === undefined || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

/** Format any error for the terminal: UserErrors as their message, others with a short hint. */
export function formatError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UserError) return { message: redactSecrets(err.message), exitCode: err.exitCode };
  const message = err instanceof Error ? (process.env.COVERGENRE_DEBUG ? err.stack ?? err.message : err.message) : String(err);
  return { message: redactSecrets(message), exitCode: 1 };
}
