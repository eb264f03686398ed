import type { Readable } from "node:stream";

/** A stream the CLI writes to; `isTTY`, `columns` and `rows` as Node's `tty.WriteStream` has them. */
export interface OutStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** Everything the CLI touches of its process, so tests and embedders can replace it. */
export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
