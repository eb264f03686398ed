import { ApflowClient, ApflowRpcError, LimitOperations, type Principal } from "@aipartnerupflow/api-a2a";
import { ApflowError, type ErrorCode, type LimitRule, type LimitScope } from "@aipartnerupflow/core";
import type { Command } from "commander";
import type { LocalBackend } from "../../backend/local.js";
import type { CliContext } from "../../context.js";
import { CliError, ExitCode, isUnreachable } from "../../errors.js";
import { redactUrl } from "../../store.js";

/** The limit operations the commands use: on the local store, or on a server (`--server`). */
export interface LimitBackend {
  readonly location: string;
  set(rule: Record<string, unknown>): Promise<LimitRule>;
  list(scope?: LimitScope): Promise<{ rules: LimitRule[] }>;
  delete(scope: LimitScope, key?: string): Promise<{ deleted: boolean }>;
  close(): Promise<void>;
}

/** Local use is the administrator (as `apflow tasks` on the local store). */
const LOCAL: Principal = { userId: null, admin: true, authenticated: false };

class LocalLimits implements LimitBackend {
  readonly location: string;
  readonly #ops: LimitOperations;

  constructor(private readonly backend: LocalBackend) {
    this.location = backend.location;
    this.#ops = new LimitOperations(backend.store);
  }
  set(rule: Record<string, unknown>) {
    return this.#ops.set(LOCAL, rule);
  }
  list(scope?: LimitScope) {
    return this.#ops.list(LOCAL, scope);
  }
  delete(scope: LimitScope, key?: string) {
    return this.#ops.delete(LOCAL, scope, key);
  }
  close() {
    return this.backend.close();
  }
}

class RemoteLimits implements LimitBackend {
  readonly location: string;
  readonly #client: ApflowClient;

  constructor(url: string, token: string | undefined) {
    this.location = redactUrl(url);
    this.#client = new ApflowClient({ url, ...(token ? { token } : {}) });
  }
  set(rule: Record<string, unknown>) {
    return this.call<LimitRule>("limits.set", rule);
  }
  list(scope?: LimitScope) {
    return this.call<{ rules: LimitRule[] }>("limits.list", scope === undefined ? {} : { scope });
  }
  delete(scope: LimitScope, key?: string) {
    return this.call<{ deleted: boolean }>("limits.delete", key === undefined ? { scope } : { scope, key });
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

/** Wrap an action: open the limits of the local store or of `--server`, run, always close. */
export function withLimits<O, A extends unknown[]>(
  ctx: CliContext,
  handler: (backend: LimitBackend, options: O, command: Command, ...args: A) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const options = params[params.length - 2] as O;
    const args = params.slice(0, -2) as A;
    const settings = ctx.settings(command);
    const backend = settings.server
      ? new RemoteLimits(settings.server, settings.token)
      : new LocalLimits(await ctx.localBackend(command, settings));
    try {
      await handler(backend, options, command, ...args);
    } finally {
      await backend.close();
    }
  };
}
