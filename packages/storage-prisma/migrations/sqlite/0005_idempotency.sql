-- Idempotency keys and unique trees (the store's idempotency facet, src/idempotency/).
-- A key is per user: "user_id" is '' for requests without a user (keys need a non-null column).
CREATE TABLE "idempotency_keys" (
    "user_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "response" JSONB,
    "created_at" DATETIME NOT NULL,
    "expires_at" DATETIME NOT NULL,
    "lease_until" DATETIME,
    PRIMARY KEY ("user_id", "key")
);

-- expire() removes keys past their retention through this index.
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys"("expires_at");

-- One reservation per (owner, unique key): the tree that holds the key while it is unfinished
-- ("active") or until the end of its period ("period"). "owner" is '' for trees without a user.
CREATE TABLE "unique_trees" (
    "owner" TEXT NOT NULL,
    "unique_key" TEXT NOT NULL,
    "root_id" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL,
    "until" DATETIME,
    PRIMARY KEY ("owner", "unique_key")
);

CREATE INDEX "unique_trees_until_idx" ON "unique_trees"("until");
