import { createToken } from "@aipartnerupflow/api-a2a";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { usageError } from "../errors.js";
import { examples } from "./options.js";

export function registerToken(program: Command, ctx: CliContext): void {
  const token = program.command("token").description("bearer tokens for a server with auth on (APFLOW_JWT_SECRET)");
  const create = token
    .command("create")
    .description("mint an HS256 token signed with APFLOW_JWT_SECRET; prints only the token")
    .requiredOption("--sub <user>", "the user id (the token's subject)")
    .option("--admin", "role admin: may act on every user's tasks")
    .option("--expires <span>", "lifetime such as 30m, 1h, 7d", "24h")
    .option(
      "--secret <secret>",
      "the secret (default APFLOW_JWT_SECRET; prefer the variable: flags end up in shell history)",
    )
    .option("--json", "print {token, sub, roles, expires}")
    .action(async (options: { sub: string; admin?: boolean; expires: string; secret?: string; json?: boolean }) => {
      const secret = options.secret ?? ctx.io.env.APFLOW_JWT_SECRET;
      if (!secret) throw usageError("no secret: set APFLOW_JWT_SECRET (the server's secret) or pass --secret");
      if (!/^\d+\s*[a-z]*$/i.test(options.expires.trim()))
        throw usageError(`--expires must look like 30m, 1h or 7d, got "${options.expires}"`);
      const roles = options.admin ? ["admin"] : [];
      let value: string;
      try {
        value = await createToken({ secret, sub: options.sub, roles, expiresIn: options.expires.trim() });
      } catch (err) {
        throw usageError(`cannot create the token: ${(err as Error).message}`);
      }
      if (options.json) return ctx.json({ token: value, sub: options.sub, roles, expires: options.expires });
      ctx.out(value);
    });
  examples(create, [
    "export APFLOW_TOKEN=$(apflow token create --sub alice --expires 1h)",
    "apflow token create --sub ops --admin --expires 7d",
  ]);
}
