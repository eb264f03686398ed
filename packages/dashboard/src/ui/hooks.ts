import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "./context.js";
import { AuthRequiredError } from "./data/rpc.js";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Load something from the API when `deps` change (and every `refreshMs` while the tab is visible,
 * for live pages). Auth problems go to the app (token prompt); other errors are returned.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], refreshMs?: number): Loaded<T> {
  const { report, authVersion } = useApp();
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;
    const run = async () => {
      if (!first && typeof document !== "undefined" && document.visibilityState === "hidden") {
        schedule();
        return;
      }
      if (first) setState((s) => ({ ...s, loading: true }));
      first = false;
      try {
        const data = await loadRef.current(abort.signal);
        if (abort.signal.aborted) return;
        setState({ data, error: undefined, loading: false });
      } catch (err) {
        if (abort.signal.aborted) return;
        if (err instanceof AuthRequiredError) {
          report(err);
          setState((s) => ({ ...s, loading: false }));
          return;
        }
        setState((s) => ({ data: s.data, error: err, loading: false }));
      }
      schedule();
    };
    const schedule = () => {
      if (refreshMs && !abort.signal.aborted) timer = setTimeout(run, refreshMs);
    };
    void run();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick, authVersion]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The current time, ticking every `ms` (for running durations). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
