#!/usr/bin/env bash
# test.sh: the whole test suite, as CI runs it (`make test`).
#
# Without DATABASE_URL it starts a throwaway Postgres cluster (scripts/pg.sh)
# in a temporary directory and removes it afterwards. Database tests fail
# rather than skip here (PARLEY_REQUIRE_DB).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [[ -z ${DATABASE_URL:-} ]]; then
	tmp=$(mktemp -d /tmp/parley-test.XXXXXX)
	chmod 755 "$tmp" # the postgres user runs the cluster in it
	trap 'scripts/pg.sh stop "$tmp"; rm -rf "$tmp"' EXIT
	# Durability is not under test: skip fsync to keep the suite fast.
	DATABASE_URL=$(PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" scripts/pg.sh start "$tmp")
	export DATABASE_URL
fi
export PARLEY_REQUIRE_DB=1
# The end-to-end tests run a real nginx; install it if missing.
NGINX_BIN=$(scripts/ensure-nginx.sh)
export NGINX_BIN PARLEY_REQUIRE_NGINX=1
# The browser tests (internal/browsertest) run Debian's Chromium; likewise.
CHROMIUM_BIN=$(scripts/ensure-chromium.sh)
export CHROMIUM_BIN PARLEY_REQUIRE_BROWSER=1

go vet ./...
go test -race -count=1 -timeout 20m "${@:-./...}"
# The bench harness is a module of its own (its dependencies stay out of
# the services' go.mod); its pure parts have unit tests too.
if [[ $# -eq 0 ]]; then
	(cd bench && go vet ./... && go test -race -count=1 ./...)
fi
