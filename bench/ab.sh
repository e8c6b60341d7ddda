#!/usr/bin/env bash
# Side-by-side A/B of two papergraph binaries on one database: both serve it (response cache
# off, sync off) and wrk alternates between them, so the noisy machine treats them alike.
#
#   bench/ab.sh BIN_A BIN_B DATABASE_URL [SECONDS=8] [ROUNDS=2]
#
# AB_CACHE_MB: the response cache of both servers (default 0: off).
# AB_URL_B: a second database for BIN_B, a copy of the first, when B's migrations are newer than A's
# (A refuses a database that has a migration it does not know).
#
# Queries: the keyword-search kinds of bench/search.sh (its query files in $BENCH_DIR, written by
# a run of it) at concurrency 1 and 8, and `daily` (bench/daily-list.graphql over the days in
# $BENCH_DIR/daily-dates.txt, one YYYY-MM-DD a line; AB_KINDS="daily"). Prints one AB line per
# point with both req/s, p50 and B/A.
set -euo pipefail
cd "$(dirname "$0")/.."
A="$1" B="$2" URL="$3" SECONDS_="${4:-8}" ROUNDS="${5:-2}"
WORK="${BENCH_DIR:-/var/tmp/papergraph-bench}"
KINDS="${AB_KINDS:-words1 words2 words3 phrase}"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
port=18020
for bin in "$A" "$B"; do
  url="$URL"
  [ "$bin" = "$B" ] && url="${AB_URL_B:-$URL}"
  "$bin" --log warn --database-url "$url" serve --bind "127.0.0.1:$port" --graphiql false \
    --rate-limit-cost 0 --sync false --response-cache-mb "${AB_CACHE_MB:-0}" &
  pids+=($!)
  port=$((port + 1))
done
for p in 18020 18021; do
  for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
  # The first search builds the index; wait for it outside the measurement.
  curl -fs "http://127.0.0.1:$p/graphql?query=%7BsearchPapers(query:%22a%22,first:1)%7BtotalCount%7D%7D" >/dev/null
done
# shellcheck source=bench/lib.sh
. bench/lib.sh
run() { # port kind c -> "rps p50"
  local rps p50 rest
  if [ "$2" = daily ]; then
    read -r rps p50 rest < <(wrk_point "$1" "$3" "$SECONDS_" bench/daily-list.graphql d "$WORK/daily-dates.txt")
  else
    read -r rps p50 rest < <(wrk_point "$1" "$3" "$SECONDS_" bench/search.graphql q "$WORK/search-$2.txt")
  fi
  echo "$rps $p50"
}
for kind in $KINDS; do
  for c in 1 8; do
    sa=0 sb=0 pa="" pb=""
    for _ in $(seq 1 "$ROUNDS"); do
      read -r ra pa < <(run 18020 "$kind" "$c")
      read -r rb pb < <(run 18021 "$kind" "$c")
      sa=$(echo "$sa + $ra" | bc) sb=$(echo "$sb + $rb" | bc)
    done
    printf 'AB query=%s c=%s a_rps=%.0f b_rps=%.0f a_p50=%s b_p50=%s b/a=%.2f\n' "$kind" "$c" \
      "$(echo "$sa / $ROUNDS" | bc -l)" "$(echo "$sb / $ROUNDS" | bc -l)" "$pa" "$pb" "$(echo "$sb / $sa" | bc -l)"
  done
done
for i in 0 1; do
  printf 'RSS %s rss_kb=%s\n' "$([ $i = 0 ] && echo a || echo b)" "$(awk '/VmRSS/ {print $2}' /proc/${pids[$i]}/status)"
done
