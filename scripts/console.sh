#!/bin/sh
# Starts the console. Installs the workspace's packages and builds them first.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-node-deps.sh
pnpm run build
exec node packages/proxy/bin/meshcraft-proxy.js -c labs/configs/sample-front-proxy.yaml "$@"
