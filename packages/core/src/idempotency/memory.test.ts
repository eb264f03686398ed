import { describeIdempotencyContract } from "../testing.js";
import { MemoryStore } from "../store/memory-store.js";

describeIdempotencyContract("MemoryStore", () => new MemoryStore());
