#!/usr/bin/env bash
# Writes the shared perf harness's dataset as upstream daily-list files, once:
#   bench/harness-data.sh OUT_DIR PAPERS [SOURCE_DATABASE_URL]
# bench/peer/load-synthetic.sql (a copy of ../shared/perf/load-synthetic.sql: words drawn by
# their frequency in real HF Daily Papers abstracts, PAPERS papers over 1,000 days) runs in a
# scratch PostgreSQL database, and bench/peer/export_daily.py writes its rows as the files
# `papergraph import` reads. Used by bench/peer.sh and `BENCH_DATA=harness bench/search.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$1" PAPERS="$2"
SRC_URL="${3:-postgres://postgres@127.0.0.1:5432/papergraph_peer_src}"
[ -f "$OUT/.done" ] && exit 0
rm -rf "$OUT"
psql "${SRC_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${SRC_URL##*/}" -c "CREATE DATABASE ${SRC_URL##*/}"
psql "$SRC_URL" -q -v ON_ERROR_STOP=1 -v n_papers="$PAPERS" -f bench/peer/load-synthetic.sql >/dev/null
python3 bench/peer/export_daily.py "$SRC_URL" "$OUT"
touch "$OUT/.done"
