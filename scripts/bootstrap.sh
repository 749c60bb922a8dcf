#!/usr/bin/env bash
# Installs what the project needs on this machine, idempotently: missing Debian packages, then node_modules.
# Prints one line per step; does nothing (and prints nothing) when everything is already in place.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mapfile -t wanted < <(grep -Ev '^\s*(#|$)' scripts/system-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "capacity: missing Debian packages: ${missing[*]}" >&2
    echo "capacity: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
  echo "[bootstrap] installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # Debian starts the system's own nginx/redis/postgres/rabbitmq on install; the stack runs its own copies on other ports.
  for svc in nginx redis-server postgresql rabbitmq-server; do
    command -v systemctl >/dev/null 2>&1 && systemctl disable --now "$svc" >/dev/null 2>&1 || true
    service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# node_modules: install when absent or older than the lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[bootstrap] installing npm packages (npm ci)" >&2
  npm ci --no-fund --no-audit --loglevel=error >&2
fi
