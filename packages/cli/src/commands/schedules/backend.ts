import { ApflowClient, ApflowRpcError, type Principal, ScheduleOperations } from "@aipartnerupflow/api-a2a";
import {
  ApflowError,
  type ErrorCode,
  type Fired,
  type ScheduleRunView,
  type ScheduleView,
  type TreeOutcome,
} from "@aipartnerupflow/core";
import type { Command } from "commander";
import type { LocalBackend } from "../../backend/local.js";
import type { CliContext } from "../../context.js";
import { CliError, ExitCode, isUnreachable } from "../../errors.js";
import { redactUrl } from "../../store.js";

/** The schedule operations the commands use: on the local store, or on a server (`--server`). */
export interface ScheduleBackend {
  readonly mode: "local" | "remote";
  readonly location: string;
  create(input: Record<string, unknown>): Promise<ScheduleView>;
  get(id: string): Promise<ScheduleView>;
  list(query: {
    enabled?: boolean;
    limit: number;
    offset: number;
  }): Promise<{ schedules: ScheduleView[]; total: number }>;
  update(id: string, patch: Record<string, unknown>): Promise<ScheduleView>;
  delete(id: string): Promise<{ deleted: boolean }>;
  trigger(id: string): Promise<Fired>;
  runs(id: string, limit: number): Promise<{ runs: ScheduleRunView[] }>;
  /** Local mode: run the fired tree in this process to its end. Remote: the server runs it (null). */
  wait(fired: Fired): Promise<TreeOutcome | null>;
  close(): Promise<void>;
}

/** Local use is the administrator (as `apflow tasks` on the local store). */
const LOCAL: Principal = { userId: null, admin: true, authenticated: false };

class LocalSchedules implements ScheduleBackend {
  readonly mode = "local" as const;
  readonly location: string;
  readonly #ops: ScheduleOperations;

  constructor(private readonly backend: LocalBackend) {
    this.location = backend.location;
    this.#ops = new ScheduleOperations(backend.engine, backend.store);
  }

  create(input: Record<string, unknown>) {
    return this.#ops.create(LOCAL, input);
  }
  get(id: string) {
    return this.#ops.get(LOCAL, id);
  }
  list(query: { enabled?: boolean; limit: number; offset: number }) {
    return this.#ops.list(LOCAL, query);
  }
  update(id: string, patch: Record<string, unknown>) {
    return this.#ops.update(LOCAL, id, patch);
  }
  delete(id: string) {
    return this.#ops.delete(LOCAL, id);
  }
  trigger(id: string) {
    return this.#ops.trigger(LOCAL, id);
  }
  runs(id: string, limit: number) {
    return this.#ops.runs(LOCAL, id, limit);
  }
  async wait(fired: Fired): Promise<TreeOutcome | null> {
    if (!fired.executionId) return null;
    return this.backend.wait({ executionId: fired.executionId, rootId: fired.rootId });
  }
  close() {
    return this.backend.close();
  }
}

class RemoteSchedules implements ScheduleBackend {
  readonly mode = "remote" as const;
  readonly location: string;
  readonly #client: ApflowClient;

  constructor(url: string, token: string | undefined) {
    this.location = redactUrl(url);
    this.#client = new ApflowClient({ url, ...(token ? { token } : {}) });
  }

  create(input: Record<string, unknown>) {
    return this.call<ScheduleView>("schedules.create", input);
  }
  get(id: string) {
    return this.call<ScheduleView>("schedules.get", { scheduleId: id });
  }
  list(query: { enabled?: boolean; limit: number; offset: number }) {
    return this.call<{ schedules: ScheduleView[]; total: number }>("schedules.list", query);
  }
  update(id: string, patch: Record<string, unknown>) {
    return this.call<ScheduleView>("schedules.update", { scheduleId: id, ...patch });
  }
  delete(id: string) {
    return this.call<{ deleted: boolean }>("schedules.delete", { scheduleId: id });
  }
  trigger(id: string) {
    return this.call<Fired>("schedules.trigger", { scheduleId: id });
  }
  runs(id: string, limit: number) {
    return this.call<{ runs: ScheduleRunView[] }>("schedules.runs", { scheduleId: id, limit });
  }
  async wait(): Promise<null> {
    return null;
  }
  async close(): Promise<void> {}

  private async call<T>(method: string, params: unknown): Promise<T> {
    try {
      return await this.#client.call<T>(method, params);
    } catch (err) {
      if (err instanceof ApflowRpcError) {
        if (err.httpStatus === 401) {
          throw new CliError(
            `the server at ${this.location} refused the request: ${err.message} (pass --token or set APFLOW_TOKEN)`,
            ExitCode.Unreachable,
          );
        }
        throw new ApflowError(err.code as ErrorCode, err.message, err.data);
      }
      if (isUnreachable(err) || (err instanceof TypeError && /fetch failed/.test(err.message))) {
        throw new CliError(`cannot reach the server at ${this.location}`, ExitCode.Unreachable, [], { cause: err });
      }
      throw err;
    }
  }
}

/** Open the schedules of the local store, or of the server given by `--server` / APFLOW_SERVER. */
export async function openSchedules(ctx: CliContext, command: Command): Promise<ScheduleBackend> {
  const settings = ctx.settings(command);
  if (settings.server) return new RemoteSchedules(settings.server, settings.token);
  return new LocalSchedules(await ctx.localBackend(command, settings));
}

/** Wrap an action: open the schedules backend, run, always close it (as `withBackend`). */
export function withSchedules<O, A extends unknown[]>(
  ctx: CliContext,
  handler: (backend: ScheduleBackend, options: O, command: Command, ...args: A) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const options = params[params.length - 2] as O;
    const args = params.slice(0, -2) as A;
    const backend = await openSchedules(ctx, command);
    try {
      await handler(backend, options, command, ...args);
    } finally {
      await backend.close();
    }
  };
}
