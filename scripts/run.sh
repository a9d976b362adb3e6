#!/usr/bin/env bash
# run.sh: the stack in the foreground (`make run`). Without DATABASE_URL it
# keeps a Postgres cluster under .data/ (created on the first run). Ctrl-C
# stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ -n ${own_pg:-} ]]; then scripts/pg.sh stop .data/pg; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o bin/ ./cmd/...

if [[ -z ${DATABASE_URL:-} ]]; then
	DATABASE_URL=$(scripts/pg.sh start .data/pg)
	export DATABASE_URL
	own_pg=1
fi

LISTEN_ADDR=${WRITER_ADDR:-127.0.0.1:8081} bin/writer &
pids+=($!)
echo "writer: http://${WRITER_ADDR:-127.0.0.1:8081}  (Ctrl-C stops it)"
wait -n "${pids[@]}"
