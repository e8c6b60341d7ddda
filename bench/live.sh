#!/usr/bin/env bash
# Subscription fan-out benchmark (issue 6): N websocket subscribers (default 1,000) on one
# server, papers added by the server's own sync from a loopback upstream (bench/live.rs), and
# the time from each paper's commit to the last subscriber receiving paperAdded.
#
#   bench/live.sh [sqlite|postgres|all] [SUBSCRIBERS=1000] [ROUNDS=20]
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${1:-all}"
N="${2:-1000}"
ROUNDS="${3:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/papergraph-target}"
WORK="${BENCH_DIR:-/var/tmp/papergraph-bench}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/papergraph_live_bench}"
PORT="${BENCH_PORT:-18020}"
UP_PORT="${BENCH_UPSTREAM_PORT:-18021}"
BIN="$CARGO_TARGET_DIR/release/papergraph"
mkdir -p "$WORK"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release --locked --bin papergraph --example live >&2

run() { # backend url
  "$BIN" --log warn --database-url "$2" serve --bind "127.0.0.1:$PORT" --graphiql false --rate-limit-cost 0 \
    --upstream-url "http://127.0.0.1:$UP_PORT" --sync-interval-secs 1 --backfill-days 1 \
    --refresh-days 1 --upstream-retries 0 &
  local pid=$!
  trap "kill $pid 2>/dev/null || true" EXIT
  for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  echo "backend=$1"
  "$CARGO_TARGET_DIR/release/examples/live" "$UP_PORT" "http://127.0.0.1:$PORT" "$2" "$pid" "$N" "$ROUNDS"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  trap - EXIT
}

if [ "$BACKENDS" = sqlite ] || [ "$BACKENDS" = all ]; then
  rm -f "$WORK"/live-bench.db*
  run sqlite "sqlite://$WORK/live-bench.db?mode=rwc"
fi
if [ "$BACKENDS" = postgres ] || [ "$BACKENDS" = all ]; then
  psql "${PG_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${PG_URL##*/}" -c "CREATE DATABASE ${PG_URL##*/}"
  run postgres "$PG_URL"
fi
