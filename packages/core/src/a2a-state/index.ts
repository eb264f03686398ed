export * from "./types.js";
export { boundHistory, MemoryA2aStateStore } from "./memory.js";
