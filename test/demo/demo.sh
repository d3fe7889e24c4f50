#!/usr/bin/env bash
# llmcost demo: installs what is missing, builds the extension, starts a
# throwaway PostgreSQL 15 server of its own, loads 30 days of realistic
# traffic, prints what llmcost computed and writes the weekly review of the
# last complete week to an HTML file.  Safe to run again: it starts
# over with fresh data each time.
#
#   test/demo/demo.sh start [EVENTS]     (default 600000 events)
#   test/demo/demo.sh stop
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${LLMCOST_DEMO_DIR:-/var/tmp/llmcost-demo}
PORT=${LLMCOST_DEMO_PORT:-5499}
EVENTS=${2:-${LLMCOST_DEMO_EVENTS:-600000}}
REVIEW=${LLMCOST_DEMO_REVIEW:-/var/tmp/llmcost-weekly-review.html}
PSQL=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$DIR" -p "$PORT" -d llmcost -X -v ON_ERROR_STOP=1)

case "${1:-start}" in
stop)
    bash test/pgserver.sh stop "$DIR"
    echo "llmcost demo server stopped (data kept in $DIR; rm -rf it to discard)"
    exit 0
    ;;
start) ;;
*) echo "usage: $0 start [EVENTS] | stop" >&2; exit 2 ;;
esac

bash test/setup.sh
bash test/pgserver.sh start "$DIR" "$PORT"

echo "llmcost demo: creating the extension and $EVENTS events over 30 days..."
"${PSQL[@]}" -q <<SQL
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS llmcost CASCADE;
CREATE EXTENSION llmcost CASCADE;
SELECT llmcost.create_partitions(now() - interval '31 days', now() + interval '7 days') \\g /dev/null
\i test/demo/generator.sql
INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
        model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens,
        reasoning_tokens, latency_ms, error_class, cache_status, batch, attempt, first_request_id,
        client_cost_usd, attributes)
SELECT * FROM llmcost_demo.generate($EVENTS, 30, now());
ANALYZE llmcost.events;
SELECT llmcost.refresh_rollups() \\g /dev/null
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT llmcost.schedule_jobs() \\g /dev/null
\i test/demo/invoices.sql
SQL

"${PSQL[@]}" -q -f test/demo/report.sql

# the weekly review of the last complete week: HTML to a file, Markdown here
"${PSQL[@]}" -At -c "SELECT llmcost.weekly_review_html()" > "$REVIEW"
echo
"${PSQL[@]}" -At -c "SELECT llmcost.weekly_review_markdown()"
echo
echo "The weekly review of the last complete week, as one HTML page: $REVIEW"

cat <<MSG

The demo server is running (PostgreSQL 15, data in $DIR, 127.0.0.1:$PORT).
Connect:  runuser -u postgres -- psql -h $DIR -p $PORT -d llmcost
     or:  psql -h 127.0.0.1 -p $PORT -U postgres -d llmcost
Stop:     make demo-stop
MSG
