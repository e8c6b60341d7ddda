# Shared by the bench/*.sh scripts (sourced). Expects BIN (the release binary), DATA (a folder of
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
