#!/usr/bin/env bash
# Detail pass benchmark: the first DAYS days of the synthetic corpus (default 100 days, ~5,000
# papers) are synced, then `sync --details` fetches every paper's Hub details from the loopback
# fake upstream with the request budget lifted, for both detail shapes (`small`: one request a
# paper; `capped`: lists over the cap, so a second request for the full lists) and backends.
# Prints the pass's papers/s (the CLI's own figure: papers stored over the pass's time).
#
#   bench/details.sh [sqlite|postgres|all]
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${1:-all}"
PAPERS="${BENCH_PAPERS:-50000}"
DAYS="${BENCH_DAYS:-1000}"
DETAIL_DAYS="${BENCH_DETAIL_DAYS:-100}"
CONCURRENCY="${BENCH_CONCURRENCY:-8}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/papergraph-target}"
WORK="${BENCH_DIR:-/var/tmp/papergraph-bench}"
PG_BASE="${BENCH_PG_BASE:-postgres://postgres@127.0.0.1:5432}"
PORT="${BENCH_UPSTREAM_PORT:-18101}"
BIN="${BENCH_BIN:-$CARGO_TARGET_DIR/release/papergraph}"

cargo build --release --locked --bin papergraph --example synth --example fake_upstream >&2
# shellcheck source=bench/lib.sh
. bench/lib.sh
synth_data
FIRST=$(basename "${FILES[0]}" .json); FIRST=${FIRST#daily_papers_date-}
LAST=$(basename "${FILES[$((DETAIL_DAYS - 1))]}" .json); LAST=${LAST#daily_papers_date-}
UP=
trap '[ -n "$UP" ] && kill $UP 2>/dev/null || true' EXIT

run() { # URL [--details] -> the CLI's output
  "$BIN" --log warn --database-url "$1" sync --from "$FIRST" --to "$LAST" "${@:2}" \
    --upstream-url "http://127.0.0.1:$PORT" --upstream-budget 100000000 \
    --sync-concurrency "$CONCURRENCY" --sync-source api
}

for shape in small capped; do
  [ -n "$UP" ] && kill "$UP" 2>/dev/null && wait "$UP" 2>/dev/null || true
  "$CARGO_TARGET_DIR/release/examples/fake_upstream" "$WORK/data" "$PORT" "$shape" &
  UP=$!
  sleep 0.5
  for backend in sqlite postgres; do
    [ "$BACKENDS" = all ] || [ "$BACKENDS" = "$backend" ] || continue
    if [ "$backend" = sqlite ]; then
      rm -f "$WORK"/details-bench.db*
      url="sqlite://$WORK/details-bench.db?mode=rwc"
    else
      psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS papergraph_details_bench" -c "CREATE DATABASE papergraph_details_bench"
      url="$PG_BASE/papergraph_details_bench"
    fi
    run "$url" >/dev/null
    line=$(run "$url" --details | grep '^paper details:')
    rate=$(sed -E 's/.*\(([0-9]+) papers\/s\).*/\1/' <<<"$line")
    printf 'DETAILS backend=%s shape=%s concurrency=%s days=%s papers_per_s=%s  # %s\n' \
      "$backend" "$shape" "$CONCURRENCY" "$DETAIL_DAYS" "$rate" "$line"
  done
done
