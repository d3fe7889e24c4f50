# Helpers for reading pgbench results, sourced by test/bench/run.sh and
# test/bench/load.sh.
#   tps_of OUTPUT        transactions per second pgbench reported
#   p99_ms LOGFILE...    99th percentile latency (ms) of pgbench --log files
tps_of() { echo "$1" | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
p99_ms() { cat "$@" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int(NR*0.99)] / 1000}'; }
