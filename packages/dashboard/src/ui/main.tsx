import "./styles.css";
import { render } from "preact";
import { App } from "./app.js";
import type { DashboardConfig } from "./context.js";
import { sessionTokenStore, takeTokenFromHash } from "./data/token.js";

function readConfig(): DashboardConfig {
  const raw = document.querySelector('meta[name="apflow-dashboard"]')?.getAttribute("content");
  const parsed = raw ? (JSON.parse(raw) as Partial<DashboardConfig>) : {};
  return { basePath: parsed.basePath ?? "", apiUrl: parsed.apiUrl ?? "", title: parsed.title ?? "apflow dashboard" };
}

// `apflow ui --token` hands the token over in the fragment (never sent to a server): keep it in
// session storage and take it off the address bar.
const handed = takeTokenFromHash(location.hash);
if (handed.token) {
  try {
    sessionTokenStore(window.sessionStorage).set(handed.token);
  } catch {
    // no session storage: the page will ask
  }
  history.replaceState(null, "", `${location.pathname}${location.search}${handed.rest}`);
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App config={readConfig()} />, root);
}
