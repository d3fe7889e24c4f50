# The benchmark server every script of test/bench uses: where it lives, how
# to reach it (PSQL_SERVER: psql as its owner, each script adds its database
# and options), and its start, with llmcost built and installed first.
# Sourced from the repository root.
DIR=${LLMCOST_BENCH_DIR:-/var/tmp/llmcost-bench}
PORT=${LLMCOST_BENCH_PORT:-5497}
PSQL_SERVER=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$DIR" -p "$PORT" -X -q -v ON_ERROR_STOP=1)
bash test/setup.sh >/dev/null
bash test/pgserver.sh start "$DIR" "$PORT"
