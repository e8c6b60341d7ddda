#!/usr/bin/env bash
# Facet latency on a loaded database: each facet of `facets` alone, over a month's papers and
# over a search's matches (cache off), at c=1, with the same GROUP BY run by the database's own
# client beside it (pgbench on PostgreSQL, the sqlite3 shell on SQLite):
#
#   bench/facets.sh BIN DATABASE_URL [SECONDS=5] [MONTH=2025-12] [QUERY="neural sparse latent"]
#
# Prints one FACET line per facet and set: req/s and p50 of papergraph, and the database alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN="$1" URL="$2" SECONDS_="${3:-5}" MONTH="${4:-2025-12}" QUERY="${5:-neural sparse latent}"
WORK=$(mktemp -d)
port=18040
"$BIN" --log warn --database-url "$URL" serve --bind "127.0.0.1:$port" --graphiql false \
  --rate-limit-cost 0 --sync false --response-cache-mb 0 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/graphql?query=%7BsearchPapers(query:%22a%22,first:1)%7BtotalCount%7D%7D" >/dev/null
echo "$MONTH" >"$WORK/month.txt"
echo "$QUERY" >"$WORK/query.txt"
from="$MONTH-01"
to=$(date -d "$from +1 month -1 day" +%F)
# The GROUP BY each facet runs, over the month (the database alone).
declare -A SQL=(
  [organizations]="SELECT o.name, COUNT(*) FROM papers p JOIN organizations o ON o.id = p.organization_id WHERE p.daily_date BETWEEN '$from' AND '$to' GROUP BY o.name ORDER BY 2 DESC, 1 LIMIT 10"
  [submitters]="SELECT u.username, COUNT(*) FROM papers p JOIN hf_users u ON u.id = p.submitted_by_id WHERE p.daily_date BETWEEN '$from' AND '$to' GROUP BY u.username ORDER BY 2 DESC, 1 LIMIT 10"
  [authors]="SELECT name, COUNT(*) FROM paper_authors WHERE paper_id IN (SELECT id FROM papers WHERE daily_date BETWEEN '$from' AND '$to') GROUP BY name ORDER BY 2 DESC, 1 LIMIT 10"
)
# PostgreSQL plans the IN as a scan of every slot; papergraph sends the ids as an array.
case "$URL" in postgres*) SQL[authors]="SELECT name, COUNT(*) FROM paper_authors WHERE paper_id = ANY(ARRAY(SELECT id FROM papers WHERE daily_date BETWEEN '$from' AND '$to')) GROUP BY name ORDER BY 2 DESC, 1 LIMIT 10" ;; esac
db_p50() { # the database's own client running SQL[$1] for SECONDS_: prints "tps avg_ms"
  local sql="${SQL[$1]:-}"
  [ -z "$sql" ] && { echo "- -"; return; }
  case "$URL" in
    postgres*)
      echo "$sql;" >"$WORK/q.sql"
      pgbench -n -c 1 -T "$SECONDS_" -f "$WORK/q.sql" "$URL" 2>/dev/null |
        awk '/^tps/ {tps=$3} /latency average/ {ms=$4} END {print tps, ms "ms(avg)"}' ;;
    *)
      # The sqlite3 shell, 100 runs with `.timer on` (its wall time, to the millisecond).
      local file="${URL#sqlite://}"; file="${file%%\?*}"
      { echo ".timer on"; for _ in $(seq 1 100); do echo "$sql;"; done; } |
        sqlite3 "$file" | awk '/^Run Time: real/ {t[n++] = $4; sum += $4}
          END {asort(t); printf "%.0f %.1fms(p50,shell)\n", n / sum, t[int(n / 2) + 1] * 1000}'
      ;;
  esac
}
for facet in organizations aiKeywords authors submitters "dailyDates(bucket: WEEK)" hasCode; do
  name="${facet%%(*}"
  echo "query (\$m: String) { papers(filter: {month: \$m}, first: 1) { facets { $facet { value count } } } }" >"$WORK/list.graphql"
  echo "query (\$q: String!) { searchPapers(query: \$q, first: 1) { facets { $facet { value count } } } }" >"$WORK/search.graphql"
  read -r rps p50 _ < <(METHOD=POST wrk_point "$port" 1 "$SECONDS_" "$WORK/list.graphql" m "$WORK/month.txt")
  read -r dbtps dbms < <(db_p50 "$name")
  printf 'FACET set=month facet=%s rps=%s p50=%s db_alone=%s/s %s\n' "$name" "$rps" "$p50" "$dbtps" "$dbms"
  read -r rps p50 _ < <(METHOD=POST wrk_point "$port" 1 "$SECONDS_" "$WORK/search.graphql" q "$WORK/query.txt")
  printf 'FACET set=search facet=%s rps=%s p50=%s\n' "$name" "$rps" "$p50"
done
