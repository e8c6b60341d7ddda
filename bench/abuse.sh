#!/usr/bin/env bash
# Load and abuse test (issue 7): 256 concurrent connections for 60 s against one server on the
# 100k-paper synthetic corpus (bench/search.sh builds it), mixing cheap, expensive, over-limit and
# malformed requests (bench/lua/abuse.lua). Fails on any 5xx or if the server dies; prints the
# RSS before, at the end of the load and after 15 s idle.
#
#   bench/abuse.sh [DURATION_S=60] [CONNECTIONS=256]   (BENCH_CACHE_MB=0: response cache off)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-60}"
CONNS="${2:-256}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/papergraph-target}"
WORK="${BENCH_DIR:-/var/tmp/papergraph-bench}"
PORT="${BENCH_PORT:-18040}"
CACHE_MB="${BENCH_CACHE_MB:-64}"
BIN="$CARGO_TARGET_DIR/release/papergraph"
DB="sqlite://$WORK/search-bench-100000.db?mode=rwc"
[ -f "$WORK/search-bench-100000.db" ] || { echo "run bench/search.sh sqlite first (it builds the corpus)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release --locked --bin papergraph >&2
# Rate limiting stays on (its default budget) except that every wrk connection shares one
# address: the point is the server's behaviour, so the budget is raised out of the way.
"$BIN" --log warn --database-url "$DB" serve --bind "127.0.0.1:$PORT" --graphiql false --sync false \
  --rate-limit-cost 1000000000 --response-cache-mb "$CACHE_MB" 2>"$WORK/abuse-server.log" &
pid=$!
trap "kill $pid 2>/dev/null || true" EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
curl -s "http://127.0.0.1:$PORT/graphql?query=%7BsearchPapers(query%3A%22diffusion%22)%7BtotalCount%7D%7D" >/dev/null
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
echo "RSS baseline_kb=$(rss)"
out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s -s bench/lua/abuse.lua "http://127.0.0.1:$PORT")
echo "$out" | grep -E "ABUSE|Requests/sec"
echo "RSS end_of_load_kb=$(rss)"
sleep 15
echo "RSS after_15s_idle_kb=$(rss)"
kill -0 "$pid" || { echo "the server died"; tail -5 "$WORK/abuse-server.log"; exit 1; }
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "the server does not answer"; exit 1; }
echo "$out" | grep -q " 5xx=0 " || { echo "5xx answers seen"; exit 1; }
echo "server log: $(grep -c ERROR "$WORK/abuse-server.log" || true) ERROR lines, $(grep -c WARN "$WORK/abuse-server.log" || true) WARN lines ($WORK/abuse-server.log)"
echo "ABUSE OK"
