import { describeA2aStateContract } from "../testing.js";
import { MemoryStore } from "../store/memory-store.js";

describeA2aStateContract("MemoryStore", () => new MemoryStore());
