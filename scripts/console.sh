#!/bin/sh
# Starts the console (http://127.0.0.1:7300 by default). Installs the workspace's packages and
# builds them first. Extra arguments go to `meshcraft serve` (e.g. --port 8080).
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-node-deps.sh
pnpm run build
exec node apps/server/bin/meshcraft.js serve "$@"
