/**
 * Holds the process open while anything holds it: the engine takes a hold for every execution
 * being waited for (each one it started waits for itself), so `await engine.runTree(...)` in a
 * script waits through a `runAt` or a retry's backoff, when no other handle is left, instead of
 * Node exiting with the await unsettled (exit code 13). One ref'd timer, only while held.
 */
export class KeepAlive {
  private holds = 0;
  private timer: NodeJS.Timeout | undefined;

  /** Take a hold; call the returned function (once) to give it back. */
  hold(): () => void {
    this.holds++;
    this.timer ??= setInterval(() => {}, 2 ** 31 - 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** Whether the process is held open. */
  get held(): boolean {
    return this.holds > 0;
  }
}
