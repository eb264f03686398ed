export { createPrismaStore } from "./store/create.js";
export { PrismaTaskStore } from "./store/prisma-store.js";
export { migrate, migrationStatus, type MigrationReport, type MigrationStatus } from "./migrate/index.js";
export { resolveDatabase, DEFAULT_SQLITE_PATH, type DatabaseTarget } from "./config.js";
export type { PrismaStoreOptions, DatabaseOptions, Provider } from "./types.js";
export { prismaStoreFactory, prismaStorePlugin, prismaStorePlugin as plugin, PRISMA_STORE_SCHEMES } from "./plugin.js";
