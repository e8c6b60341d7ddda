# Shared by the bench/*.sh scripts (sourced). load() expects BIN (the release binary), DATA (a folder of
# daily-list files) and PAPERS.

# load URL MARK: imports DATA into the database at URL through `papergraph import`, unless MARK
# says it was done; prints the time it took.
load() {
  if [ ! -f "$2" ]; then
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN" --log warn --database-url "$1" import "$DATA"/*.json >/dev/null
    t1=$(date +%s.%N)
    echo "LOAD $1 papers=$PAPERS seconds=$(echo "$t1 - $t0" | bc) papers_per_s=$(echo "$PAPERS / ($t1 - $t0)" | bc)" >&2
    touch "$2"
  fi
}

# wrk_point PORT C SECONDS QUERY_FILE VAR VALUES_FILE: a 2 s warm-up, then SECONDS of wrk on
# loopback over bench/lua/rotate.lua (GET, or POST with METHOD=POST in the environment; two
# threads, one at c=1). Prints "rps p50 p99 non2xx", latencies as wrk writes them (e.g. 1.23ms).
wrk_point() {
  local t=2 out
  [ "$2" = 1 ] && t=1
  QUERY_FILE="$4" VAR="$5" VALUES_FILE="$6" wrk -t"$t" -c"$2" -d2s -s bench/lua/rotate.lua \
    "http://127.0.0.1:$1" >/dev/null
  out=$(QUERY_FILE="$4" VAR="$5" VALUES_FILE="$6" wrk -t"$t" -c"$2" -d"$3s" --latency \
    -s bench/lua/rotate.lua "http://127.0.0.1:$1")
  awk '/Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} /Non-2xx/ {bad=$NF}
       END {print rps, p50, p99, (bad == "" ? 0 : bad)}' <<<"$out"
}

# synth_data: the synthetic corpus (PAPERS papers over DAYS days) in $WORK/data, written once by
# the `synth` example; sets FILES to its daily-list files, oldest first.
synth_data() {
  if [ ! -f "$WORK/data/.done-$PAPERS-$DAYS" ]; then
    rm -rf "$WORK/data"
    "$CARGO_TARGET_DIR/release/examples/synth" "$WORK/data" "$PAPERS" "$DAYS"
    touch "$WORK/data/.done-$PAPERS-$DAYS"
  fi
  FILES=("$WORK"/data/daily_papers_date-*.json)
}
