import { MemoryStore } from "../store/memory-store.js";
import { describeLimitsContract } from "../testing.js";

describeLimitsContract("MemoryStore", () => new MemoryStore());
