import { MemoryStore } from "../store/memory-store.js";
import { describeScheduleStoreContract } from "../testing.js";

describeScheduleStoreContract("MemoryStore", () => new MemoryStore());
