export * from "./types.js";
export * from "./errors.js";
export * from "./logger.js";
export * from "./task/status.js";
export * from "./schema/schema.js";
export * from "./store/types.js";
export * from "./registry/types.js";
export { Registry, defaultRegistry, DuplicateRegistrationError, type RegistryOptions } from "./registry/registry.js";
export { defineExecutor, definePlugin, executor, loadPlugin, type ExecutorClass } from "./registry/define.js";
