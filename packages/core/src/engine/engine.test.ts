import { MemoryStore } from "../store/memory-store.js";
import { describeEngineSuite } from "../testing.js";

describeEngineSuite("MemoryStore", () => new MemoryStore());
