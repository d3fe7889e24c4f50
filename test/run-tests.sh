#!/usr/bin/env bash
# The whole llmcost test suite: pg_regress tests (sql/, expected/) and
# isolation specs (test/specs) against temporary instances that pg_regress
# starts itself.  Installs what is missing first.  Exits non-zero on any
# failure, after printing the differences.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash test/setup.sh || exit 1

# initdb refuses root: run the suite as postgres, in a copy it can write to.
work=$(mktemp -d /tmp/llmcost-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$root/." "$work/"
rm -rf "$work/results" "$work/output_iso" "$work/tmp_check"
chown -R postgres:postgres "$work"

cd "$work"
runuser -u postgres -- make -s installcheck PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config 2>&1 | tee "$work/test.log"
status=${PIPESTATUS[0]}

# the weekly review page in headless Chromium (its own throwaway server)
bash test/browser/review_page.sh "$work/browser" 2>&1 | tee -a "$work/test.log"
[ "${PIPESTATUS[0]}" -ne 0 ] && status=1

# keep the outputs beside the sources for inspection (git ignores them)
rm -rf "$root/results" "$root/output_iso" "$root/regression.diffs"
cp -a "$work/results" "$root/" 2>/dev/null
cp -a "$work/output_iso" "$root/" 2>/dev/null
cp -a "$work/regression.diffs" "$root/" 2>/dev/null

for diffs in regression.diffs output_iso/regression.diffs; do
    if [ -s "$diffs" ]; then
        echo "======== $diffs ========"
        cat "$diffs"
    fi
done

passed=$(grep -Ec '^(test| ) .* \.\.\. ok|^ok |^t/.*\.\. ok$' "$work/test.log")
failed=$(grep -Ec '\.\.\. FAILED|^not ok |^t/.*\.\. (Failed|Dubious)' "$work/test.log")
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "llmcost tests: $passed passed, $failed failed"
exit "$status"
