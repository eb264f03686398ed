export { loadConfig, redactConfig, ConfigError, DEFAULTS, type ServerConfig } from "./config.js";
export { startApflowServer, type RunningServer, type StartOptions } from "./server.js";
export { loadPlugins } from "./plugins.js";
export { onShutdownSignal } from "./signals.js";
