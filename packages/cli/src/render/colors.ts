import type { OutStream } from "../io.js";

export interface Palette {
  enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  cyan(s: string): string;
  gray(s: string): string;
}

/**
 * Colours only on a terminal. `NO_COLOR` (any non-empty value) and `--no-color` turn them off;
 * `FORCE_COLOR` (anything but `0`) turns them on for pipes.
 */
export function colorEnabled(stream: OutStream, env: NodeJS.ProcessEnv, flag?: boolean): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== "0";
  return stream.isTTY === true && env.TERM !== "dumb";
}

const wrap = (on: boolean, open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);

export function createPalette(enabled: boolean): Palette {
  return {
    enabled,
    bold: wrap(enabled, 1, 22),
    dim: wrap(enabled, 2, 22),
    red: wrap(enabled, 31, 39),
    green: wrap(enabled, 32, 39),
    yellow: wrap(enabled, 33, 39),
    blue: wrap(enabled, 34, 39),
    cyan: wrap(enabled, 36, 39),
    gray: wrap(enabled, 90, 39),
  };
}

/** Visible width of a string that may hold colour codes. */
export function visibleLength(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes on purpose
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}
