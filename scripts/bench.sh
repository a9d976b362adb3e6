#!/usr/bin/env bash
# bench.sh: the benchmark harness (`make bench`; `make bench LONG=1` for the
# long profile). Starts a throwaway Postgres with durable defaults (fsync
# on) unless DATABASE_URL is set, builds the binaries, runs the harness (bench/), and
# writes the results and chart into docs/BENCHMARKS.md and docs/bench/.
# BEFORE=<git revision> also builds that revision's binaries (in a scratch
# worktree) and runs the write rounds and the mixed run against them too:
# before beside after, in alternating rounds of one run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [[ -z ${DATABASE_URL:-} ]]; then
	tmp=$(mktemp -d /tmp/parley-bench.XXXXXX)
	chmod 755 "$tmp"
	trap 'scripts/pg.sh stop "$tmp"; rm -rf "$tmp"' EXIT
	DATABASE_URL=$(PG_EXTRA_OPTS="-c max_wal_size=4GB -c checkpoint_timeout=15min" scripts/pg.sh start "$tmp")
	export DATABASE_URL
fi
nginx_bin=$(scripts/ensure-nginx.sh)
go build -o bin/ ./cmd/...
# The harness is a module of its own (bench/), so that its load generator and
# plotting libraries stay out of the services' go.mod.
(cd bench && go build -o ../bin/bench .)
mkdir -p docs/bench
args=(-bins bin -nginx "$nginx_bin" -report docs/BENCHMARKS.md -chart docs/bench/chart.png)
if [[ -n ${LONG:-} ]]; then args+=(-long); fi
if [[ -n ${BEFORE:-} ]]; then
	before=$(mktemp -d /tmp/parley-before.XXXXXX)
	git worktree add --detach "$before/src" "$BEFORE" >/dev/null
	(cd "$before/src" && go build -o "$before/bin/" ./cmd/...)
	git worktree remove --force "$before/src"
	args+=(-before-bins "$before/bin")
fi
bin/bench "${args[@]}"
