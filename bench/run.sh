#!/usr/bin/env bash
# npm run bench: load benchmarks of Servauth on Bun (see docs/benchmarks.md).
# Installs wrk if missing, waits (bounded) for the shared machine to be quiet, then runs bench/bench.ts, or the
# script named as the first argument (npm run bench:better-auth: bench/better-auth-side-by-side.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
[ -x "$BUN" ] || { echo "bench: $BUN not found; run npm install first" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

# Other developers' test runs share this machine: wait until the 1-minute load average is below
# BENCH_MAX_LOAD (default 1.0), checking every 10 s for at most BENCH_WAIT_SECONDS (default 90), then go on
# regardless; every figure records how much CPU others used during it.
max_load=${BENCH_MAX_LOAD:-1.0}
wait_left=${BENCH_WAIT_SECONDS:-90}
while :; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l < m) }'; then
    echo "bench: load average $load (< $max_load), starting" >&2
    break
  fi
  if [ "$wait_left" -le 0 ]; then
    echo "bench: load average still $load after waiting; measuring anyway (see the 'other CPU' column)" >&2
    break
  fi
  echo "bench: load average $load >= $max_load, waiting 10 s (${wait_left}s left)" >&2
  sleep 10
  wait_left=$((wait_left - 10))
done

exec "$BUN" "${1:-bench/bench.ts}"
