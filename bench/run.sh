#!/usr/bin/env bash
# Read-path benchmark: a synthetic corpus (default 50,000 papers over 1,000 days) loaded through
# `papergraph import`, the release server, and wrk on loopback at concurrency 1, 8 and 64.
#
#   bench/run.sh [sqlite|postgres|all] [DURATION_S=10]
#
# Prints one RESULT line per (backend, cache off/on, query, concurrency) with req/s, p50 and p99,
# and the server's RSS. Needs wrk (apt-get install wrk); PostgreSQL at $BENCH_PG_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS="${1:-all}"
DURATION="${2:-10}"
PAPERS="${BENCH_PAPERS:-50000}"
DAYS="${BENCH_DAYS:-1000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/papergraph-target}"
WORK="${BENCH_DIR:-/var/tmp/papergraph-bench}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/papergraph_bench}"
PORT="${BENCH_PORT:-18000}"
BIN="$CARGO_TARGET_DIR/release/papergraph"
DATA="$WORK/data"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked --bin papergraph --example synth >&2
mkdir -p "$WORK"
if [ ! -f "$WORK/data/.done-$PAPERS-$DAYS" ]; then
  rm -rf "$WORK/data"
  "$CARGO_TARGET_DIR/release/examples/synth" "$WORK/data" "$PAPERS" "$DAYS"
  touch "$WORK/data/.done-$PAPERS-$DAYS"
fi

# shellcheck source=bench/lib.sh
. bench/lib.sh

values() { # write the rotating variable values
  python3 - "$PORT" "$WORK" <<'PY'
import json, sys, urllib.request, urllib.parse
port, work = sys.argv[1], sys.argv[2]
def gql(q):
    u = f"http://127.0.0.1:{port}/graphql?query=" + urllib.parse.quote(q)
    return json.load(urllib.request.urlopen(u))["data"]
days = [d["date"] for d in gql('{ dailyCalendar(from: "2023-01-01", to: "2030-12-31") { date count } }')["dailyCalendar"]]
open(f"{work}/dates.txt", "w").write("\n".join(days) + "\n")
ids, after = [], None
while len(ids) < 2000:
    q = '{ papers(first: 100%s) { pageInfo { endCursor } nodes { arxivId } } }' % (f', after: "{after}"' if after else "")
    p = gql(q)["papers"]
    ids += [n["arxivId"] for n in p["nodes"]]
    after = p["pageInfo"]["endCursor"]
    if not after: break
open(f"{work}/ids.txt", "w").write("\n".join(ids) + "\n")
r = gql('{ papers(filter: {dailyDate: "%s"}, orderBy: {field: UPVOTES}, first: 20) { nodes { authors { name } } } }' % days[len(days)//2])
assert len(r["papers"]["nodes"]) == 20, r
PY
}

run_backend() {
  local backend="$1" url="$2" cache_mb="$3"
  "$BIN" --log warn --database-url "$url" serve --bind "127.0.0.1:$PORT" --graphiql false --rate-limit-cost 0 --sync false \
    --response-cache-mb "$cache_mb" &
  local pid=$!
  trap "kill $pid 2>/dev/null || true" EXIT
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  values
  local rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  for q in daily-list paper; do
    local var=d vals="$WORK/dates.txt"
    [ "$q" = paper ] && var=id vals="$WORK/ids.txt"
    for c in 1 8 64; do
      local rps p50 p99 non2xx
      read -r rps p50 p99 non2xx < <(wrk_point "$PORT" "$c" "$DURATION" "bench/$q.graphql" "$var" "$vals")
      printf 'RESULT backend=%s cache=%s query=%s c=%s rps=%s p50=%s p99=%s non2xx=%s\n' \
        "$backend" "$([ "$cache_mb" = 0 ] && echo off || echo on)" "$q" "$c" "$rps" "$p50" "$p99" "$non2xx"
    done
  done
  local rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status) hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  printf 'RSS backend=%s cache_mb=%s idle_kb=%s after_kb=%s peak_kb=%s\n' "$backend" "$cache_mb" "$rss_idle" "$rss" "$hwm"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  trap - EXIT
}

if [ "$BACKENDS" = sqlite ] || [ "$BACKENDS" = all ]; then
  db="$WORK/bench-$PAPERS.db"
  load "sqlite://$db?mode=rwc" "$WORK/.loaded-sqlite-$PAPERS"
  for mb in 0 64; do run_backend sqlite "sqlite://$db?mode=rwc" "$mb"; done
fi
if [ "$BACKENDS" = postgres ] || [ "$BACKENDS" = all ]; then
  dbname="${PG_URL##*/}"
  if [ ! -f "$WORK/.loaded-pg-$PAPERS" ]; then
    psql "${PG_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname"
  fi
  load "$PG_URL" "$WORK/.loaded-pg-$PAPERS"
  for mb in 0 64; do run_backend postgres "$PG_URL" "$mb"; done
fi
