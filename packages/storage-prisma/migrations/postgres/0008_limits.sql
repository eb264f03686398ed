-- Concurrency and start-rate limits (the store's limits facet, src/limits/; enforced by the claim,
-- src/sql/claim-limits.ts).

-- The executor id each task names (core's executorIdOf: params.executorId, then schemas.method),
-- kept beside the JSON so the claim can count and filter by it without reading the JSON.
ALTER TABLE "tasks" ADD COLUMN "executor" TEXT;
UPDATE "tasks" SET "executor" = CASE
    WHEN jsonb_typeof("params"->'executorId') = 'string' AND "params"->>'executorId' <> '' THEN "params"->>'executorId'
    WHEN "params" ? 'executorId' AND jsonb_typeof("params"->'executorId') <> 'null' THEN NULL
    WHEN jsonb_typeof("schemas"->'method') = 'string' AND "schemas"->>'method' <> '' THEN "schemas"->>'method'
    ELSE NULL END;

-- One rule per (scope, key); key '' is the scope's default.
CREATE TABLE "limit_rules" (
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "max_running" INTEGER,
    "max_running_roots" INTEGER,
    "rate_starts" INTEGER,
    "rate_per_ms" BIGINT,
    PRIMARY KEY ("scope", "key")
);

-- Start-rate token buckets, per user or executor id that started a task under a rate rule: the
-- tokens left at "refilled_ms" (epoch milliseconds of the claim's clock).
CREATE TABLE "limit_buckets" (
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "refilled_ms" BIGINT NOT NULL,
    PRIMARY KEY ("scope", "key")
);

-- PostgreSQL only: one row every claim under limits updates (so limited claims queue on its row
-- lock) and compares with the value its snapshot saw (a claim whose snapshot predates another
-- limited claim's commit claims nothing and is repeated).
CREATE TABLE "limit_claims" (
    "id" INTEGER NOT NULL PRIMARY KEY,
    "n" BIGINT NOT NULL
);
