#!/usr/bin/env bash
# Installs what llmcost needs on Debian 12 (only what is missing), then
# builds and installs the extension.  Run as root; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="postgresql-15 postgresql-server-dev-15 postgresql-15-cron perl libipc-run-perl make gcc bc chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "llmcost setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config >/dev/null
make -s PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config install >/dev/null
echo "llmcost setup: extension built and installed"
