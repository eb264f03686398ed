export * from "./types.js";
export { boundHistory, MemoryA2aStateStore, type MemoryA2aStateOptions } from "./memory.js";
