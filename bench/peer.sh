#!/usr/bin/env bash
# papergraph side by side with PostGraphile 5 on the same PostgreSQL tables, against the pgbench
# floor of papergraph's own statements, against SQLite, and against a server of static bytes.
#
#   bench/peer.sh [DURATION_S=10]
#
# 1. Builds the shared perf harness's dataset (bench/peer/load-synthetic.sql, a copy of
#    ../shared/perf/load-synthetic.sql: words drawn by their frequency in real HF Daily Papers
#    abstracts; 100,000 papers over 1,000 days, BENCH_PAPERS) in a scratch database, writes it
#    as upstream daily-list files (bench/peer/export_daily.py) and loads those through
#    `papergraph import` into PostgreSQL ($BENCH_PG_URL) and SQLite; adds PostGraphile's
#    keyword search (bench/peer/search.sql) beside papergraph's tables.
# 2. Starts papergraph (response cache off, and on), PostGraphile 5.1.5 (bench/postgraphile, npm
#    ci on first run, Node 22 from npm) on those tables, papergraph on SQLite (off/on), and
#    bench/static_bytes.rs serving papergraph's daily-list response as fixed bytes (twice: as it is,
#    and reading each request's body first, STATIC_READ_BODY=1), and both again serving the
#    zstd bytes papergraph sends a client that accepts compression.
# 3. Checks that papergraph and PostGraphile answer the same 20 papers with the same fields and
#    author lists (the script stops if not).
# 4. For the daily list (also compressed on both sides: `daily-list-zstd`, the cached servers
#    against the static zstd bytes) and for keyword search, at concurrency 1, 8 and 64,
#    alternates the servers (wrk, POST, DURATION_S each after a 2 s warm-up, PostGraphile
#    first) and prints one POINT line per server and point (req/s, p50, p99, and the ratio to
#    PostGraphile at that point) and one RATIO line per concurrency; then the pgbench floor of
#    the statements papergraph sends for the daily list, and the servers' RSS.
#
# BENCH_BIN (and BENCH_STATIC_BIN): binaries to measure instead of building this checkout's, e.g.
# an older build, on databases of its own (BENCH_DIR, BENCH_PG_URL).
#
# Needs wrk, pgbench, psql, node/npm (PostGraphile's packages come from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
PAPERS="${BENCH_PAPERS:-100000}"
DATE="${BENCH_DATE:-2024-06-14}"
KEYWORD="${BENCH_KEYWORD:-retrieval augmented}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/papergraph-target}"
WORK="${BENCH_DIR:-/var/tmp/papergraph-bench}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/papergraph_peer}"
BIN="${BENCH_BIN:-$CARGO_TARGET_DIR/release/papergraph}"
P_OFF=18020 P_ON=18021 S_OFF=18022 S_ON=18023 PGL=18024 STATIC=18025 STATIC_READ=18026 STATIC_ZSTD=18027 STATIC_READ_ZSTD=18028
DATA="$WORK/harness-$PAPERS"
SRC_URL="${BENCH_SRC_URL:-postgres://postgres@127.0.0.1:5432/papergraph_peer_src}"

for tool in wrk pgbench psql npm python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (wrk: apt-get install wrk)" >&2; exit 1; }
done
STATIC_BIN="${BENCH_STATIC_BIN:-$CARGO_TARGET_DIR/release/examples/static_bytes}"
[ -z "${BENCH_BIN:-}" ] && cargo build --release --locked --bin papergraph --example static_bytes >&2
mkdir -p "$WORK"
bench/harness-data.sh "$DATA" "$PAPERS" "$SRC_URL"

# shellcheck source=bench/lib.sh
. bench/lib.sh
dbname="${PG_URL##*/}"
if [ ! -f "$WORK/.loaded-peer-harness-$PAPERS" ]; then
  psql "${PG_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $dbname" -c "CREATE DATABASE $dbname"
fi
load "$PG_URL" "$WORK/.loaded-peer-harness-$PAPERS"
psql "$PG_URL" -q -v ON_ERROR_STOP=1 -f bench/peer/search.sql >/dev/null
SQLITE="sqlite://$WORK/peer-$PAPERS.db?mode=rwc"
load "$SQLITE" "$WORK/.loaded-peer-sqlite-$PAPERS"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_up() { # URL
  for _ in $(seq 1 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "no answer from $1" >&2; exit 1
}
serve() { # URL PORT CACHE_MB
  "$BIN" --log warn --database-url "$1" serve --bind "127.0.0.1:$2" --graphiql false \
    --rate-limit-cost 0 --sync false --response-cache-mb "$3" &
  PIDS+=($!)
  wait_up "http://127.0.0.1:$2/readyz"
}
serve "$PG_URL" $P_OFF 0
serve "$PG_URL" $P_ON 64
serve "$SQLITE" $S_OFF 0
serve "$SQLITE" $S_ON 64
PGDIR="$WORK/postgraphile"
mkdir -p "$PGDIR" && chmod -R u+w "$PGDIR"
cp bench/postgraphile/{package.json,package-lock.json,graphile.config.mjs,node20-polyfill.mjs} "$PGDIR/"
if [ ! -x "$PGDIR/node_modules/.bin/node" ] || [ ! -d "$PGDIR/node_modules/postgraphile" ]; then
  (cd "$PGDIR" && npm ci --no-audit --no-fund >&2)
fi
(cd "$PGDIR" && DATABASE_URL="$PG_URL" PORT=$PGL GRAPHILE_ENV=production \
  exec node_modules/.bin/node node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs \
  >"$WORK/postgraphile.log" 2>&1) &
PIDS+=($!)
PGL_PID=$!
for _ in $(seq 1 150); do
  curl -fs -o /dev/null -H 'Content-Type: application/json' -d '{"query":"{__typename}"}' \
    "http://127.0.0.1:$PGL/graphql" && break
  sleep 0.2
done

# Variables, the same for every server; the papergraph response is also the static server's body.
echo "$DATE" > "$WORK/peer-date.txt"
echo "$KEYWORD" > "$WORK/peer-keyword.txt"
python3 bench/peer/compare.py "$DATE" "$KEYWORD" "$P_OFF" "$PGL" "$S_OFF" "$WORK/peer-daily.json"
# Every papergraph server has built its keyword index before anything is measured.
for port in $P_ON $S_OFF $S_ON; do
  curl -fs -o /dev/null -H 'Content-Type: application/json' \
    -d '{"query":"{ searchPapers(query: \"warm\", first: 1) { totalCount } }"}' "http://127.0.0.1:$port/graphql"
done
"$STATIC_BIN" "$WORK/peer-daily.json" "127.0.0.1:$STATIC" &
PIDS+=($!)
wait_up "http://127.0.0.1:$STATIC/graphql"
# The same, reading each request's body first (as any server answering a POST must).
STATIC_READ_BODY=1 "$STATIC_BIN" "$WORK/peer-daily.json" "127.0.0.1:$STATIC_READ" &
PIDS+=($!)
wait_up "http://127.0.0.1:$STATIC_READ/graphql"
# Both again with the answer as papergraph sends it to a browser (`Accept-Encoding: gzip, deflate,
# br, zstd` picks zstd): the cached entry's kept compressed bytes.
ENCODINGS="gzip, deflate, br, zstd"
curl -fs -H 'Content-Type: application/json' -H "Accept-Encoding: $ENCODINGS" -D "$WORK/peer-daily.zst.headers" \
  -o "$WORK/peer-daily.json.zst" "http://127.0.0.1:$P_ON/graphql" \
  -d "$(python3 -c 'import json, sys; print(json.dumps({"query": open(sys.argv[1]).read(), "variables": {"d": sys.argv[2]}}))' bench/daily-list.graphql "$DATE")"
grep -qi '^content-encoding: zstd' "$WORK/peer-daily.zst.headers" || { echo "papergraph did not answer zstd" >&2; exit 1; }
STATIC_CONTENT_ENCODING=zstd "$STATIC_BIN" "$WORK/peer-daily.json.zst" "127.0.0.1:$STATIC_ZSTD" &
PIDS+=($!)
wait_up "http://127.0.0.1:$STATIC_ZSTD/graphql"
STATIC_CONTENT_ENCODING=zstd STATIC_READ_BODY=1 "$STATIC_BIN" "$WORK/peer-daily.json.zst" "127.0.0.1:$STATIC_READ_ZSTD" &
PIDS+=($!)
wait_up "http://127.0.0.1:$STATIC_READ_ZSTD/graphql"

point() { # NAME PORT QUERY_FILE VAR VALUES_FILE C -> "rps p50_ms p99_ms non2xx"
  METHOD=POST wrk_point "$2" "$6" "$DURATION" "$3" "$4" "$5" | python3 -c '
import sys
rps, p50, p99, bad = sys.stdin.read().split()
def ms(v):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float("nan")
print(f"{float(rps):.0f} {ms(p50):.2f} {ms(p99):.2f} {bad}")'
}

declare -A R
measure() { # QUERY_KIND C NAME PORT QUERY_FILE VAR VALUES_FILE
  local r
  r=$(point "$3" "$4" "$5" "$6" "$7" "$2")
  read -r rps p50 p99 bad <<<"$r"
  R["$1/$2/$3"]=$rps
  # Every server after PostGraphile (measured first at each point) carries its ratio to it.
  local vs=""
  [ -n "${R[$1/$2/postgraphile]:-}" ] && [ "$3" != postgraphile ] &&
    vs=" vs_postgraphile=$(ratio "$rps" "${R[$1/$2/postgraphile]}")"
  printf 'POINT query=%s c=%s server=%s rps=%s p50_ms=%s p99_ms=%s non2xx=%s%s\n' "$1" "$2" "$3" "$rps" "$p50" "$p99" "$bad" "$vs"
}
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'nan')" "$1" "$2"; }

DQ=bench/daily-list.graphql
for c in 1 8 64; do
  measure daily-list $c postgraphile $PGL bench/peer/daily-list.postgraphile.graphql date "$WORK/peer-date.txt"
  measure daily-list $c papergraph-pg-off $P_OFF $DQ d "$WORK/peer-date.txt"
  measure daily-list $c papergraph-pg-cached $P_ON $DQ d "$WORK/peer-date.txt"
  measure daily-list $c papergraph-sqlite-off $S_OFF $DQ d "$WORK/peer-date.txt"
  measure daily-list $c papergraph-sqlite-cached $S_ON $DQ d "$WORK/peer-date.txt"
  measure daily-list $c static-bytes $STATIC $DQ d "$WORK/peer-date.txt"
  measure daily-list $c static-bytes-read $STATIC_READ $DQ d "$WORK/peer-date.txt"
  k="daily-list/$c"
  printf 'RATIO query=daily-list c=%s pg_off/postgraphile=%s pg_cached/postgraphile=%s sqlite_off/pg_off=%s sqlite_off/postgraphile=%s pg_cached/static=%s sqlite_cached/static=%s pg_cached/static_read=%s sqlite_cached/static_read=%s\n' "$c" \
    "$(ratio "${R[$k/papergraph-pg-off]}" "${R[$k/postgraphile]}")" \
    "$(ratio "${R[$k/papergraph-pg-cached]}" "${R[$k/postgraphile]}")" \
    "$(ratio "${R[$k/papergraph-sqlite-off]}" "${R[$k/papergraph-pg-off]}")" \
    "$(ratio "${R[$k/papergraph-sqlite-off]}" "${R[$k/postgraphile]}")" \
    "$(ratio "${R[$k/papergraph-pg-cached]}" "${R[$k/static-bytes]}")" \
    "$(ratio "${R[$k/papergraph-sqlite-cached]}" "${R[$k/static-bytes]}")" \
    "$(ratio "${R[$k/papergraph-pg-cached]}" "${R[$k/static-bytes-read]}")" \
    "$(ratio "${R[$k/papergraph-sqlite-cached]}" "${R[$k/static-bytes-read]}")"
done
# The cached answer compressed on both sides (the kept zstd bytes against static zstd bytes).
for c in 1 8 64; do
  export ACCEPT_ENCODING="$ENCODINGS"
  measure daily-list-zstd $c papergraph-pg-cached $P_ON $DQ d "$WORK/peer-date.txt"
  measure daily-list-zstd $c papergraph-sqlite-cached $S_ON $DQ d "$WORK/peer-date.txt"
  measure daily-list-zstd $c static-bytes $STATIC_ZSTD $DQ d "$WORK/peer-date.txt"
  measure daily-list-zstd $c static-bytes-read $STATIC_READ_ZSTD $DQ d "$WORK/peer-date.txt"
  unset ACCEPT_ENCODING
  k="daily-list-zstd/$c"
  printf 'RATIO query=daily-list-zstd c=%s pg_cached/static=%s sqlite_cached/static=%s pg_cached/static_read=%s sqlite_cached/static_read=%s\n' "$c" \
    "$(ratio "${R[$k/papergraph-pg-cached]}" "${R[$k/static-bytes]}")" \
    "$(ratio "${R[$k/papergraph-sqlite-cached]}" "${R[$k/static-bytes]}")" \
    "$(ratio "${R[$k/papergraph-pg-cached]}" "${R[$k/static-bytes-read]}")" \
    "$(ratio "${R[$k/papergraph-sqlite-cached]}" "${R[$k/static-bytes-read]}")"
done
for c in 1 8 64; do
  measure search $c postgraphile $PGL bench/peer/search.postgraphile.graphql keyword "$WORK/peer-keyword.txt"
  measure search $c papergraph-pg-off $P_OFF bench/peer/search.papergraph.graphql q "$WORK/peer-keyword.txt"
  measure search $c papergraph-sqlite-off $S_OFF bench/peer/search.papergraph.graphql q "$WORK/peer-keyword.txt"
  k="search/$c"
  printf 'RATIO query=search c=%s pg_off/postgraphile=%s sqlite_off/postgraphile=%s\n' "$c" \
    "$(ratio "${R[$k/papergraph-pg-off]}" "${R[$k/postgraphile]}")" \
    "$(ratio "${R[$k/papergraph-sqlite-off]}" "${R[$k/postgraphile]}")"
done

# The pgbench floor: the statements papergraph sends for one daily-list request (the page, then
# the page's author slots in one statement), as prepared statements over TCP without TLS (as
# papergraph and PostGraphile talk to a server on this machine).
python3 bench/peer/floor_sql.py "$PG_URL" "$DATE" > "$WORK/peer-daily.pgbench.sql"
for c in 1 8 64; do
  out=$(PGSSLMODE=disable pgbench -n -M prepared -j 2 -c "$c" -T "$DURATION" -f "$WORK/peer-daily.pgbench.sql" \
    -D day="$DATE" "$PG_URL" 2>&1)
  tps=$(echo "$out" | awk -F'= ' '/^tps/ {split($2, a, " "); print int(a[1])}')
  lat=$(echo "$out" | awk '/latency average/ {print $4}')
  printf 'FLOOR query=daily-list c=%s pgbench_tps=%s latency_avg_ms=%s papergraph_pg_off/floor=%s\n' "$c" "$tps" "$lat" \
    "$(ratio "${R[daily-list/$c/papergraph-pg-off]}" "$tps")"
done

rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
i=0
for name in papergraph-pg-off papergraph-pg-cached papergraph-sqlite-off papergraph-sqlite-cached; do
  printf 'RSS server=%s peak_kb=%s\n' "$name" "$(rss "${PIDS[$i]}")"
  i=$((i + 1))
done
# The subshell `exec`s node, so its pid is PostGraphile's.
printf 'RSS server=postgraphile peak_kb=%s\n' "$(rss "$PGL_PID")"
