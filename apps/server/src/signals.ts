/**
 * Run `shutdown` once on the first SIGTERM or SIGINT; a second signal exits at once.
 * Returns a function that removes the handlers.
 */
export function onShutdownSignal(
  shutdown: (signal: NodeJS.Signals) => Promise<void>,
  exit: (code: number) => void = process.exit,
): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      exit(1);
      return;
    }
    stopping = true;
    shutdown(signal).then(
      () => exit(0),
      () => exit(1),
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return () => {
    process.off("SIGTERM", handler);
    process.off("SIGINT", handler);
  };
}
