import { type PlacementLookup, type PlacementOptions, placementFromSettings } from "@aipartnerupflow/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import { usageError } from "../errors.js";

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

/** What `--placement` / `--placement-granularity` gave. */
export interface PlacementFlags {
  placement?: string;
  placementGranularity?: string;
}

/**
 * `--placement` (APFLOW_PLACEMENT): how the executions this process starts place their tasks on
 * the nodes (docs/architecture.md#placement).
 */
export function placementOption(): Option {
  return new Option(
    "--placement <strategy>",
    "how executions started here place their tasks on the nodes (APFLOW_PLACEMENT): capability (default), round-robin, least-loaded, affinity, or a placement a plugin registered",
  );
}

/** `--placement-granularity` (APFLOW_PLACEMENT_GRANULARITY). */
export function placementGranularityOption(): Option {
  return new Option(
    "--placement-granularity <unit>",
    "what is placed as one (APFLOW_PLACEMENT_GRANULARITY): task (default), subtree (a branch sticks to one node) or root",
  ).choices(["task", "subtree", "root"]);
}

/**
 * The placement of `--placement*` over the environment's (`APFLOW_PLACEMENT*`), resolved against
 * the registry (a plugin's named placement function); a bad value is a usage error naming it.
 */
export function placementFromFlags(
  flags: PlacementFlags,
  env: NodeJS.ProcessEnv,
  registry: PlacementLookup,
): PlacementOptions | undefined {
  const fromEnv = (name: string) => env[name]?.trim() || undefined;
  const strategy = flags.placement ?? fromEnv("APFLOW_PLACEMENT");
  const granularity = flags.placementGranularity ?? fromEnv("APFLOW_PLACEMENT_GRANULARITY");
  try {
    return placementFromSettings({ strategy, granularity }, registry, {
      strategy: flags.placement !== undefined ? "--placement" : "APFLOW_PLACEMENT",
      granularity:
        flags.placementGranularity !== undefined ? "--placement-granularity" : "APFLOW_PLACEMENT_GRANULARITY",
    });
  } catch (err) {
    throw usageError((err as Error).message);
  }
}
