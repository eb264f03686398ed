import { ConfigError, loadConfig } from "./config.js";
import { startApflowServer } from "./server.js";
import { onShutdownSignal } from "./signals.js";

/** `pnpm start`: configuration from the environment, then serve until SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const server = await startApflowServer(config);
  onShutdownSignal(async (signal) => {
    server.logger.info({ signal }, "signal received");
    await server.close();
  });
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`apflow server: ${message}\n`);
  process.exit(1);
});
