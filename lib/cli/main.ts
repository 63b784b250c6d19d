/**
 * `covergenre <command> [options]` — the same lib/ code the notebooks and tests call.
 */
import { COMMANDS } from "./commands";
import { commandHelp, formatError, makeContext, parseCommandArgs, type Command } from "./framework";
import { UsageError } from "../util/errors";

export function mainHelp(commands: Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "covergenre — can you tell an album's genres from its cover, and do the faces on it help?",
    "",
    "Usage: covergenre <command> [options]     (covergenre <command> --help for its options)",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Exit codes: 0 ok, 1 failure, 2 usage error. --json prints one JSON document on stdout.",
  ].join("\n");
}

/** Run the CLI; returns the exit code instead of exiting so tests and notebooks can call it. */
export async function main(
  argv: string[],
  stdout: NodeJS.WritableStream = process.stdout,
  stderr: NodeJS.WritableStream = process.stderr,
  commands: Command[] = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    stdout.write(mainHelp(commands) + "\n");
    return name ? 0 : 2;
  }
  if (name === "--version") {
    stdout.write(require("../../package.json").version + "\n");
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  try {
    if (!cmd) {
      const near = commands.filter((c) => c.name.startsWith(name.slice(0, 2))).map((c) => c.name);
      throw new UsageError(`unknown command "${name}"${near.length ? ` (did you mean ${near.join(" or ")}?)` : ""}; see covergenre --help`);
    }
    const { values, positionals } = parseCommandArgs(cmd, rest);
    if (values.help) {
      stdout.write(commandHelp(cmd) + "\n");
      return 0;
    }
    const code = await cmd.run(makeContext(values, positionals, stdout, stderr));
    return typeof code === "number" ? code : 0;
  } catch (err) {
    const { message, exitCode } = formatError(err);
    stderr.write(`covergenre${cmd ? ` ${cmd.name}` : ""}: ${message}\n`);
    if (exitCode === 2 && cmd) stderr.write(`(see covergenre ${cmd.name} --help)\n`);
    return exitCode;
  }
}
