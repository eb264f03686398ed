import { definePlugin, type StoreFactory } from "@aipartnerupflow/core";
import { createPrismaStore } from "./store/create.js";
import type { PrismaStoreOptions } from "./types.js";

/** The URL schemes this package opens: SQLite (`file:` URLs and plain paths) and PostgreSQL. */
export const PRISMA_STORE_SCHEMES = ["file", "postgres", "postgresql"];

/**
 * The store factory for the registry (docs/semantics.md#the-registry): `registry.registerStore(prismaStoreFactory)`, then
 * `registry.openStore(url)` opens SQLite or PostgreSQL; options other than `url` are
 * `PrismaStoreOptions` (`migrate`, `durability`, `busyTimeoutMs`, `poolSize`).
 */
export const prismaStoreFactory: StoreFactory = {
  id: "prisma",
  schemes: PRISMA_STORE_SCHEMES,
  create: ({ url, ...options }) => createPrismaStore({ ...(options as PrismaStoreOptions), url }),
};

/** The same as a plugin: `registry.use(prismaStorePlugin)` or `APFLOW_PLUGINS=@aipartnerupflow/storage-prisma`. */
export const prismaStorePlugin = definePlugin({
  name: "@aipartnerupflow/storage-prisma",
  version: "0.1.0",
  setup(registry) {
    if (!registry.listStores().some((f) => f.id === prismaStoreFactory.id)) registry.registerStore(prismaStoreFactory);
  },
});
