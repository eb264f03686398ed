import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Route } from "./data/route.js";
import type { RpcClient } from "./data/rpc.js";

export interface DashboardConfig {
  basePath: string;
  apiUrl: string;
  title: string;
}

export interface AppContextValue {
  config: DashboardConfig;
  client: RpcClient;
  /** Go to a page (pushState); `replace` for filter edits and selections. */
  navigate(route: Route | string, replace?: boolean): void;
  href(route: Route): string;
  /** A call failed: the app decides (token prompt, unreachable banner) or the page shows it. */
  report(err: unknown): void;
  /** Increments each time the token changes, so pages load again. */
  authVersion: number;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const v = useContext(AppContext);
  if (!v) throw new Error("useApp outside the dashboard");
  return v;
}
