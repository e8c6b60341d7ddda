#!/usr/bin/env bash
# The server's CPU per request: user and system time the process spent (from /proc) over a wrk
# run of the daily list, divided by the requests answered. Steadier than req/s on a noisy VM,
# and it separates the server's own work from the load generator's.
#
#   bench/cpu.sh PORT C SECONDS [DATES_FILE]
#
# POST by default (METHOD=GET for query parameters); DATES_FILE holds the days to ask for, one a
# line (default: $BENCH_DIR/peer-date.txt, which bench/peer.sh writes). Prints one line:
# port, c, req/s, user, system and total microseconds per request.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="$1" C="$2" SECONDS_="$3"
DATES="${4:-${BENCH_DIR:-/var/tmp/papergraph-bench}/peer-date.txt}"
PID=$(ss -Hltnp "sport = :$PORT" | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2 || true)
[ -n "$PID" ] || { echo "nothing listens on $PORT" >&2; exit 1; }
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14, $15}' "/proc/$PID/stat"; }
threads=2
[ "$C" = 1 ] && threads=1
read -r u0 s0 < <(cpu)
out=$(METHOD="${METHOD:-POST}" QUERY_FILE=bench/daily-list.graphql VAR=d VALUES_FILE="$DATES" \
  wrk -t"$threads" -c"$C" -d"${SECONDS_}s" -s bench/lua/rotate.lua "http://127.0.0.1:$PORT")
read -r u1 s1 < <(cpu)
n=$(awk '/requests in/ {print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
python3 - "$PORT" "$C" "$rps" "$n" "$ticks" "$u0" "$s0" "$u1" "$s1" <<'PY'
import sys
port, c, rps, n, ticks, u0, s0, u1, s1 = sys.argv[1:]
n, ticks = int(n), int(ticks)
us = lambda a, b: (int(b) - int(a)) / ticks * 1e6 / n
user, system = us(u0, u1), us(s0, s1)
print(f"CPU port={port} c={c} rps={float(rps):.0f} user_us={user:.2f} sys_us={system:.2f} total_us={user + system:.2f}")
PY
