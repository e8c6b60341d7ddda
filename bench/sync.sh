#!/usr/bin/env bash
# Sync benchmark: backfill the synthetic corpus (default 1,000 days, ~50,000 papers) from a
# loopback fake upstream with the rate budget lifted, twice (the second pass finds every day
# unchanged), on SQLite and on PostgreSQL.
#
#   bench/sync.sh [sqlite|postgres|all]
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${1:-all}"
PAPERS="${BENCH_PAPERS:-50000}"
DAYS="${BENCH_DAYS:-1000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/papergraph-target}"
WORK="${BENCH_DIR:-/var/tmp/papergraph-bench}"
PG_BASE="${BENCH_PG_BASE:-postgres://postgres@127.0.0.1:5432}"
PORT="${BENCH_UPSTREAM_PORT:-18100}"
BIN="$CARGO_TARGET_DIR/release/papergraph"

cargo build --release --locked --bin papergraph --example synth --example fake_upstream >&2
# shellcheck source=bench/lib.sh
. bench/lib.sh
synth_data
FIRST=$(basename "${FILES[0]}" .json); FIRST=${FIRST#daily_papers_date-}
LAST=$(basename "${FILES[-1]}" .json); LAST=${LAST#daily_papers_date-}
"$CARGO_TARGET_DIR/release/examples/fake_upstream" "$WORK/data" "$PORT" &
UP=$!
trap 'kill $UP 2>/dev/null || true' EXIT
sleep 0.5

pass() { # URL -> seconds
  local t0=$(date +%s.%N)
  "$BIN" --log warn --database-url "$1" sync --from "$FIRST" --to "$LAST" \
    --upstream-url "http://127.0.0.1:$PORT" --upstream-budget 100000000 --sync-concurrency 8 \
    --sync-source api >&2
  echo "$(date +%s.%N) - $t0" | bc
}

measure() {
  local backend="$1" url="$2"
  local first second
  first=$(pass "$url")
  second=$(pass "$url")
  printf 'SYNC backend=%s days=%s papers=%s first_s=%.2f papers_per_s=%.0f second_s=%.2f speedup=%.1f\n' \
    "$backend" "$DAYS" "$PAPERS" "$first" "$(echo "$PAPERS / $first" | bc -l)" "$second" "$(echo "$first / $second" | bc -l)"
}

if [ "$BACKENDS" = sqlite ] || [ "$BACKENDS" = all ]; then
  rm -f "$WORK"/sync-bench.db*
  measure sqlite "sqlite://$WORK/sync-bench.db?mode=rwc"
fi
if [ "$BACKENDS" = postgres ] || [ "$BACKENDS" = all ]; then
  psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS papergraph_sync_bench" -c "CREATE DATABASE papergraph_sync_bench"
  measure postgres "$PG_BASE/papergraph_sync_bench"
fi
