import { type Command, InvalidArgumentError, Option } from "commander";

/** `--json` for read commands: machine-readable output on standard output. */
export function jsonOption(command: Command): Command {
  return command.option("--json", "print JSON instead of a table or tree");
}

export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

export function parseNonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

export function concurrencyOption(): Option {
  return new Option(
    "--concurrency <n>",
    "tasks run at once by the local engine (default 10, or APFLOW_CONCURRENCY)",
  ).argParser(parsePositiveInt("--concurrency"));
}

/** Help text with examples, added after the options. */
export function examples(command: Command, lines: string[]): Command {
  return command.addHelpText("after", `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
}
