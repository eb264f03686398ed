import { type Registry, loadPlugin } from "@aipartnerupflow/core";

/**
 * Load plugins by package name. Names are resolved from this server's own dependencies (core's
 * `loadPlugin` would resolve them from core's location), then imported through core.
 */
export async function loadPlugins(
  registry: Registry,
  names: string[],
  options: Record<string, Record<string, unknown>> = {},
  resolve: (specifier: string) => string = (s) => import.meta.resolve(s),
): Promise<string[]> {
  const loaded: string[] = [];
  for (const name of names) {
    let url: string;
    try {
      url = resolve(name);
    } catch {
      throw new Error(`plugin ${name} is not installed next to the server (APFLOW_PLUGINS)`);
    }
    const plugin = await loadPlugin(registry, url, options[name] ?? {});
    loaded.push(plugin.name);
  }
  return loaded;
}
