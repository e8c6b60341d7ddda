#!/usr/bin/env bash
# Latency of `suggest` (prefixes of 2-4 letters of the corpus's words) and `recommendPapers`
# (20 positive seeds and one negative, rotating), c=1, cache off, on a loaded database:
#
#   bench/discover.sh BIN DATABASE_URL [SECONDS=5]
#
# Prints a DISCOVER line per query: req/s, p50, p99.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="$1" URL="$2" SECONDS_="${3:-5}"
WORK=$(mktemp -d)
port=18041
"$BIN" --log warn --database-url "$URL" serve --bind "127.0.0.1:$port" --graphiql false \
  --rate-limit-cost 0 --sync false --response-cache-mb 0 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
gql() { curl -fs "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -d "$1"; }
# Seeds: papers from the first page of a few lists (any 60 papers would do).
gql '{"query":"{ papers(first: 60, orderBy: {field: UPVOTES}) { nodes { arxivId } } }"}' |
  python3 -c 'import json,sys; [print(n["arxivId"]) for n in json.load(sys.stdin)["data"]["papers"]["nodes"]]' >"$WORK/ids.txt"
seeds=$(head -20 "$WORK/ids.txt" | sed 's/.*/"&"/' | paste -sd,)
tail -40 "$WORK/ids.txt" >"$WORK/negative.txt"
printf '%s\n' ne lat spar diff att mod neur rep lea sea fra inf >"$WORK/prefixes.txt"
echo 'query ($p: String!) { suggest(prefix: $p) { kind text id } }' >"$WORK/suggest.graphql"
echo "query (\$n: String!) { recommendPapers(positive: [$seeds], negative: [\$n], first: 10) { score paper { arxivId title } } }" >"$WORK/recommend.graphql"
# The first calls build the word lists and the keyword index, outside the measurement.
gql '{"query":"{ suggest(prefix: \"ne\") { text } }"}' >/dev/null
gql '{"query":"{ searchPapers(query: \"a\", first: 1) { totalCount } }"}' >/dev/null
read -r rps p50 p99 bad < <(METHOD=POST wrk_point "$port" 1 "$SECONDS_" "$WORK/suggest.graphql" p "$WORK/prefixes.txt")
echo "DISCOVER query=suggest rps=$rps p50=$p50 p99=$p99 non2xx=$bad"
read -r rps p50 p99 bad < <(METHOD=POST wrk_point "$port" 1 "$SECONDS_" "$WORK/recommend.graphql" n "$WORK/negative.txt")
echo "DISCOVER query=recommend20 rps=$rps p50=$p50 p99=$p99 non2xx=$bad"
grep -E "^(VmHWM|VmRSS)" "/proc/$pid/status" | tr -s ' ' | paste -sd' ' | sed 's/^/DISCOVER rss: /'
