#!/bin/sh
# What the whole test suite needs from the machine beyond Node: a Docker engine (for the
# docker-driver tests), Debian's Chromium (browser tests), and the peers the benchmarks compare
# against. On Debian as root they are installed; elsewhere the script says what is missing.
set -eu
need_pkgs=""
command -v dockerd >/dev/null 2>&1 || need_pkgs="$need_pkgs docker.io"
[ -x /usr/bin/chromium ] || need_pkgs="$need_pkgs chromium"
command -v curl >/dev/null 2>&1 || need_pkgs="$need_pkgs curl"
if [ -n "$need_pkgs" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "meshcraft: installing$need_pkgs" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_pkgs >/dev/null
  else
    echo "meshcraft: the test suite needs:$need_pkgs (install them, e.g. 'sudo apt-get install$need_pkgs')" >&2
    exit 1
  fi
fi
# Start the Docker engine when it is installed but not running (root only; others must start it).
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "meshcraft: starting dockerd" >&2
    (dockerd >/tmp/meshcraft-dockerd.log 2>&1 &)
    i=0
    while [ ! -S /var/run/docker.sock ] || ! docker info >/dev/null 2>&1; do
      i=$((i + 1))
      if [ "$i" -gt 60 ]; then
        echo "meshcraft: dockerd did not come up in 60 s; see /tmp/meshcraft-dockerd.log" >&2
        exit 1
      fi
      sleep 1
    done
  else
    echo "meshcraft: the Docker engine is not running; start it (e.g. 'sudo systemctl start docker')" >&2
    exit 1
  fi
fi
