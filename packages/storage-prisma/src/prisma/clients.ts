import { PrismaLibSql } from "@prisma/adapter-libsql";
import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { PrismaClient as PostgresPrismaClient } from "../generated/postgres/client.js";
import { PrismaClient as SqlitePrismaClient } from "../generated/sqlite/client.js";

/**
 * The Prisma client the store reads through. The two generated clients (one per provider, from
 * one models file) have the same model delegates but TypeScript types that are not assignable to
 * each other; the store is written against the SQLite client's type, and the PostgreSQL client is
 * presented under it here, in this one place.
 */
export type StoreClient = InstanceType<typeof SqlitePrismaClient>;

export function sqliteClient(url: string): StoreClient {
  return new SqlitePrismaClient({ adapter: new PrismaLibSql({ url }) });
}

export function postgresClient(pool: pg.Pool): StoreClient {
  const client = new PostgresPrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: false }) });
  return client as unknown as StoreClient;
}
