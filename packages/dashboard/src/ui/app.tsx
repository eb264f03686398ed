import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { ErrorState, Link } from "./components.js";
import { AppContext, type AppContextValue, type DashboardConfig } from "./context.js";
import { formatRoute, parseRoute, type Route, treesRoute } from "./data/route.js";
import { AuthRequiredError, RpcClient } from "./data/rpc.js";
import { sessionTokenStore } from "./data/token.js";
import { ExecutorsPage } from "./pages/executors.js";
import { QueuePage } from "./pages/queue.js";
import { TreePage } from "./pages/tree.js";
import { TreesPage } from "./pages/trees.js";

function currentRoute(base: string): Route {
  return parseRoute(location.pathname, location.search, base);
}

function safeSessionStorage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

export function App({ config }: { config: DashboardConfig }) {
  const tokens = useMemo(() => sessionTokenStore(safeSessionStorage()), []);
  const client = useMemo(() => new RpcClient({ apiUrl: config.apiUrl, tokens }), [config.apiUrl, tokens]);
  const [route, setRoute] = useState<Route>(() => currentRoute(config.basePath));
  const [auth, setAuth] = useState<{ needed: boolean; refused: boolean }>({ needed: false, refused: false });
  const [authVersion, setAuthVersion] = useState(0);
  const [hasToken, setHasToken] = useState(() => tokens.get() !== null);
  // Without a token, the public agent card tells whether to ask for one before loading anything.
  const [checked, setChecked] = useState(() => tokens.get() !== null);
  useEffect(() => {
    if (checked) return;
    void client.authRequired().then((required) => {
      if (required) setAuth({ needed: true, refused: false });
      setChecked(true);
    });
  }, [client, checked]);

  useEffect(() => {
    const onPop = () => setRoute(currentRoute(config.basePath));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [config.basePath]);

  const navigate = useCallback(
    (to: Route | string, replace = false) => {
      const url = typeof to === "string" ? to : formatRoute(to, config.basePath);
      if (url !== `${location.pathname}${location.search}`) {
        if (replace) history.replaceState(null, "", url);
        else history.pushState(null, "", url);
      }
      const next = currentRoute(config.basePath);
      setRoute(next);
      if (!replace) window.scrollTo(0, 0);
    },
    [config.basePath],
  );

  const report = useCallback((err: unknown) => {
    if (err instanceof AuthRequiredError) setAuth({ needed: true, refused: err.hadToken });
  }, []);

  const value: AppContextValue = useMemo(
    () => ({
      config,
      client,
      navigate,
      href: (r: Route) => formatRoute(r, config.basePath),
      report,
      authVersion,
    }),
    [config, client, navigate, report, authVersion],
  );

  useEffect(() => {
    document.title = `${pageTitle(route)} · ${config.title}`;
  }, [route, config.title]);

  const signIn = (token: string) => {
    tokens.set(token);
    setHasToken(true);
    setAuth({ needed: false, refused: false });
    setAuthVersion((v) => v + 1);
  };
  const signOut = () => {
    tokens.clear();
    setHasToken(false);
    setAuthVersion((v) => v + 1);
  };

  return (
    <AppContext.Provider value={value}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link to={treesRoute()} class="brand">
          <span aria-hidden="true">◆</span> apflow
        </Link>
        <nav aria-label="Pages">
          <Link to={treesRoute()} aria-current={route.page === "trees" || route.page === "tree" ? "page" : undefined}>
            Trees
          </Link>
          <Link to={{ page: "executors", id: null }} aria-current={route.page === "executors" ? "page" : undefined}>
            Executors
          </Link>
          <Link to={{ page: "queue" }} aria-current={route.page === "queue" ? "page" : undefined}>
            Queue
          </Link>
        </nav>
        <span class="spacer" />
        {hasToken ? (
          <button type="button" class="link-button" onClick={signOut}>
            Forget token
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {!checked ? null : auth.needed ? (
          <TokenPrompt refused={auth.refused} onSubmit={signIn} />
        ) : (
          <Page route={route} />
        )}
      </main>
    </AppContext.Provider>
  );
}

function pageTitle(route: Route): string {
  switch (route.page) {
    case "trees":
      return "Trees";
    case "tree":
      return `Tree ${route.rootId.slice(0, 8)}`;
    case "executors":
      return "Executors";
    case "queue":
      return "Queue";
    default:
      return "Not found";
  }
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "trees":
      return <TreesPage route={route} />;
    case "tree":
      return <TreePage key={route.rootId} rootId={route.rootId} taskId={route.taskId} />;
    case "executors":
      return <ExecutorsPage selected={route.id} />;
    case "queue":
      return <QueuePage />;
    default:
      return <ErrorState error={new Error(`there is no page at ${route.path}`)} />;
  }
}

/** Asked when the server has auth on; the token stays in this tab's session storage only. */
function TokenPrompt({ refused, onSubmit }: { refused: boolean; onSubmit(token: string): void }) {
  const [token, setToken] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <section class="state auth" aria-labelledby="auth-title">
      <h1 id="auth-title">Sign in</h1>
      <p>
        {refused
          ? "The server refused that token (expired, or signed with another secret). Paste another one."
          : "This server has authentication on. Paste a bearer token to see your trees."}
      </p>
      <p class="muted">
        Make one with <code>apflow token create --sub &lt;user&gt;</code>. It is kept in this tab's session storage only
        and sent to this server's API, nowhere else.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          try {
            onSubmit(token);
          } catch (err) {
            setProblem((err as Error).message);
          }
        }}
      >
        <label for="token">Bearer token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
          autofocus
        />
        {problem ? (
          <p class="error-text" role="alert">
            {problem}
          </p>
        ) : null}
        <button type="submit" class="primary">
          Use token
        </button>
      </form>
    </section>
  );
}
