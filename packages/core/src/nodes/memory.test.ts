import { MemoryStore } from "../store/memory-store.js";
import { describeNodeStoreContract } from "../testing.js";

describeNodeStoreContract("MemoryStore", () => new MemoryStore());
