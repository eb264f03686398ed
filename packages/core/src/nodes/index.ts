export * from "./types.js";
export { checkRegistration, nodeState, OVERLOADED_LOAD, STALE_AFTER_BEATS, viewNode } from "./state.js";
export { MemoryNodeStore } from "./memory.js";
