#!/bin/sh
# Installs pnpm (through npm) when missing and the workspace's packages from the lockfile.
set -eu
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  echo "meshcraft: installing pnpm with npm" >&2
  npm install -g pnpm@12 >/dev/null
fi
if [ -n "${CI:-}" ]; then
  pnpm install --frozen-lockfile
else
  pnpm install --prefer-offline
fi
