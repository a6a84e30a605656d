#!/bin/sh
# The whole test suite: unit, scenario (real proxy and demoapp processes on loopback), Docker
# and browser tests. Installs what it needs first.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-system-deps.sh
sh scripts/ensure-node-deps.sh
pnpm run build
pnpm exec biome check .
pnpm run typecheck
pnpm -r --workspace-concurrency=1 run test
