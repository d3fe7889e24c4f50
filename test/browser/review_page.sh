#!/usr/bin/env bash
# The weekly review page in a real browser: a throwaway server with 30 days
# of generated traffic (and a feature and an alert whose names are markup),
# the page rendered by llmcost.weekly_review_html(), then opened in headless
# Chromium (Debian's chromium package).  Checks, printed as TAP lines:
#   - the page logs nothing to the console (no error, no CSP violation; a
#     control page proves the console is captured);
#   - every chart and table is present and drawn with a size (a copy of the
#     page with a measuring script appended, CSP removed in the copy only);
#   - markup from the data did not run (the copy would have logged it).
# Run as root (the server runs as postgres); needs chromium installed
# (test/setup.sh installs it).
#
#   test/browser/review_page.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."

OUT=${1:-$(mktemp -d /tmp/llmcost-browser.XXXXXX)}
DIR=/tmp/llmcost-browser-pg.$$
PORT=${LLMCOST_BROWSER_PORT:-5493}
PSQL=(runuser -u postgres -- /usr/lib/postgresql/15/bin/psql -h "$DIR" -p "$PORT" -d llmcost -X -q -v ON_ERROR_STOP=1)
CHROMIUM=(timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
          --hide-scrollbars --enable-logging=stderr --v=0)
n=0
failed=0
check() {   # check DESCRIPTION COMMAND...
    local what=$1; shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; failed=$((failed + 1)); fi
}
cleanup() {
    bash test/pgserver.sh stop "$DIR" >/dev/null 2>&1
    rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -p "$OUT"
chmod 777 "$OUT"

bash test/pgserver.sh start "$DIR" "$PORT" >/dev/null || { echo "not ok 1 - test server did not start"; exit 1; }
"${PSQL[@]}" >/dev/null <<'SQL' || { echo "not ok 1 - could not load the demo traffic"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION llmcost CASCADE;
SELECT llmcost.create_partitions(now() - interval '31 days', now() + interval '2 days');
\i test/demo/generator.sql
INSERT INTO llmcost.events (event_time, request_id, trace_id, span_id, user_id, feature, provider,
        model, operation, input_tokens, cached_read_tokens, cache_write_tokens, output_tokens,
        reasoning_tokens, latency_ms, error_class, cache_status, batch, attempt, first_request_id,
        client_cost_usd, attributes)
SELECT * FROM llmcost_demo.generate(60000, 30, now());
-- markup where names go: it must be shown, never run
INSERT INTO llmcost.events (event_time, request_id, user_id, feature, provider, model, input_tokens, output_tokens)
SELECT (llmcost.review_week() + 2)::timestamp AT TIME ZONE 'UTC' + i * interval '1 minute', 'xss-' || i,
       '<img src=x onerror="console.error(''user-xss'')">',
       '<script>console.error("feature-xss")</script>', 'openai', 'gpt-4o', 900000, 90000
  FROM generate_series(1, 20) i;
SELECT llmcost.refresh_rollups();
INSERT INTO llmcost.alerts (rule, subject_kind, subject, window_start, window_end, last_window_end, observed,
                            peak_observed, baseline, threshold, unit, severity, message)
VALUES ('feature_band', 'feature', '<script>console.error("feature-xss")</script>',
        (llmcost.review_week() + 2)::timestamp AT TIME ZONE 'UTC', (llmcost.review_week() + 2)::timestamp AT TIME ZONE 'UTC' + interval '1 hour',
        (llmcost.review_week() + 2)::timestamp AT TIME ZONE 'UTC' + interval '1 hour', 40, 40, 3, 9, 'USD', 'critical',
        'hour cost $40.00 against a band of $9.00 <svg onload="console.error(1)">');
\i test/demo/invoices.sql
SQL
"${PSQL[@]}" -At -c "SELECT llmcost.weekly_review_html()" > "$OUT/review.html"

# 1. the page as it is mailed: nothing on the console
"${CHROMIUM[@]}" --dump-dom "file://$OUT/review.html" > "$OUT/review.dom" 2> "$OUT/review.console"
check "the page renders (Chromium dumped its DOM)" grep -q '</html>' "$OUT/review.dom"
check "the page logs nothing to the console: $(grep -c 'CONSOLE' "$OUT/review.console") messages" \
    bash -c "! grep -q 'CONSOLE' '$OUT/review.console'"
# the console is really captured: a control page that logs an error is caught
printf '<!DOCTYPE html><html><body><script>console.error("control")</script></body></html>' > "$OUT/control.html"
"${CHROMIUM[@]}" --dump-dom "file://$OUT/control.html" > /dev/null 2> "$OUT/control.console"
check "a console error on a control page is caught" grep -q 'CONSOLE.*control' "$OUT/control.console"

# 2. the same page, measured: every chart and table drawn with a size
sed -e 's/<meta http-equiv="Content-Security-Policy"[^>]*>//' -e 's#</body>#<script src="measure.js"></script></body>#' \
    "$OUT/review.html" > "$OUT/measured.html"
cat > "$OUT/measure.js" <<'JS'
(function () {
  var out = [];
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var box = svg.getBoundingClientRect(), drawn = 0;
    svg.querySelectorAll('rect').forEach(function (r) {
      var b = r.getBoundingClientRect(); if (b.width > 0 && b.height > 0) drawn++; });
    out.push('chart ' + svg.id + ' ' + Math.round(box.width) + 'x' + Math.round(box.height) + ' bars=' + drawn);
  });
  document.querySelectorAll('table').forEach(function (t) {
    var box = t.getBoundingClientRect();
    out.push('table ' + t.id + ' ' + Math.round(box.width) + 'x' + Math.round(box.height) +
             ' rows=' + t.querySelectorAll('tbody tr').length);
  });
  document.querySelectorAll('section').forEach(function (s) { out.push('section ' + s.id); });
  out.push('overflow ' + (document.documentElement.scrollWidth > window.innerWidth ? 'yes' : 'no'));
  var pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = out.join('\n');
  document.body.appendChild(pre);
})();
JS
"${CHROMIUM[@]}" --window-size=1100,900 --allow-file-access-from-files --dump-dom "file://$OUT/measured.html" \
    > "$OUT/measured.dom" 2> "$OUT/measured.console"
perl -0ne 'print $1 if m{<pre id="measured">(.*?)</pre>}s' "$OUT/measured.dom" > "$OUT/measured.txt"
for chart in chart-weeks chart-days chart-features chart-user-share chart-hit-rate chart-errors; do
    check "chart $chart is drawn: $(grep " $chart " "$OUT/measured.txt")" \
        grep -Eq "^chart $chart [1-9][0-9]*x[1-9][0-9]* bars=[1-9]" "$OUT/measured.txt"
done
for table in table-features table-movers table-users table-cache table-errors table-alerts table-unpriced table-invoices; do
    check "table $table is drawn: $(grep " $table " "$OUT/measured.txt")" \
        grep -Eq "^table $table [1-9][0-9]*x[1-9][0-9]* rows=[1-9]" "$OUT/measured.txt"
done
check "all eight sections: $(grep -c '^section' "$OUT/measured.txt")" \
    test "$(grep '^section' "$OUT/measured.txt" | tr '\n' ' ')" = \
         "section trend section features section users section cache section errors section alerts section unpriced section invoices "
check "nothing wider than a 1100-pixel window" grep -q '^overflow no' "$OUT/measured.txt"
# with the CSP gone and a script allowed, markup from the data would run now
check "markup from the data did not run: $(grep -c 'CONSOLE' "$OUT/measured.console") console messages" \
    bash -c "! grep -q 'CONSOLE' '$OUT/measured.console'"
check "the markup is on the page as text" grep -q '&lt;script&gt;console.error' "$OUT/review.html"

echo "# review page, its DOM and measurements in $OUT"
exit $((failed > 0))
