#!/bin/sh
# Stand-in for Prisma's native schema engine, which `prisma generate` requires to exist but never
# runs. This package applies its own committed SQL migrations (see src/migrate/), so the schema
# engine is never needed.
echo "the schema engine is not used by @aipartnerupflow/storage-prisma" >&2
exit 1
