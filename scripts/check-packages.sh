#!/usr/bin/env bash
# Cheap packaging checks: workspace consistency (manypkg), every published package's build as
# npm would pack it (publint --strict), and the changesets (changeset status). Needs `pnpm build`.
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm exec manypkg check
for dir in packages/*/; do
  [ "$(node -p "require('./${dir}package.json').private === true")" = "true" ] && continue
  (cd "$dir" && pnpm exec publint --strict --level warning) || exit 1
done
pnpm exec changeset status
