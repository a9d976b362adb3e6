#!/usr/bin/env bash
# run.sh: the whole stack in the foreground (`make run`).
#
#   Postgres   a cluster under .data/pg (created on the first run, kept), unless DATABASE_URL is set
#   writer     127.0.0.1:8081, metrics on 127.0.0.1:9181
#   readers    READERS of them (default 2) on 127.0.0.1:8091, 8092, …,
#              metrics on 127.0.0.1:9182, 9183, …
#   nginx      127.0.0.1:8080, the public entry (never to metrics)
#
# Logs go to .data/logs/. Ctrl-C or SIGTERM stops everything it started.
# Every service knob in the environment (README) is passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

READERS=${READERS:-2}
WRITER_ADDR=127.0.0.1:8081
NGINX_ADDR=127.0.0.1:8080
READER_PORT0=8091
# Prometheus metrics, one port per service (deploy/prometheus.yml scrapes
# these): the writer's, then the readers' in order.
WRITER_METRICS_ADDR=127.0.0.1:9181
READER_METRICS_PORT0=9182
[[ $READERS =~ ^[1-9][0-9]?$ ]] || { echo "READERS must be between 1 and 99" >&2; exit 2; }

pids=()
own_pg=
cleanup() {
	trap - EXIT INT TERM
	echo
	echo "stopping…"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [[ -n $own_pg ]]; then scripts/pg.sh stop .data/pg; fi
	echo "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Readers authenticate to the writer's /internal/ routes with this token
# (SPEC §9); one is made up for this run unless given.
INTERNAL_TOKEN=${INTERNAL_TOKEN:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
export INTERNAL_TOKEN
# Views a stopping reader cannot deliver wait here for the next one.
VIEW_SPOOL_DIR=${VIEW_SPOOL_DIR:-$PWD/.data/views-spool}
export VIEW_SPOOL_DIR

nginx_bin=$(scripts/ensure-nginx.sh)
mkdir -p .data/logs
echo "building…"
go build -o bin/ ./cmd/...

if [[ -z ${DATABASE_URL:-} ]]; then
	# As a production operator would (docs/operations.md, "Postgres"):
	# checkpoints by time, not forced by WAL volume.
	DATABASE_URL=$(PG_EXTRA_OPTS="-c max_wal_size=4GB -c checkpoint_timeout=15min ${PG_EXTRA_OPTS:-}" scripts/pg.sh start .data/pg)
	export DATABASE_URL
	own_pg=1
fi

# wait_http URL NAME: wait until URL answers 200, or fail if the last
# process started has exited.
wait_http() {
	for _ in $(seq 1 300); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
		if ! kill -0 "${pids[-1]}" 2>/dev/null; then
			echo "$2 failed to start; see .data/logs/$2.log:" >&2
			tail -5 ".data/logs/$2.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "$2 did not become ready; see .data/logs/$2.log" >&2
	exit 1
}

LISTEN_ADDR=$WRITER_ADDR METRICS_ADDR=$WRITER_METRICS_ADDR bin/writer >.data/logs/writer.log 2>&1 &
pids+=($!)
wait_http "http://$WRITER_ADDR/healthz" writer

readers=()
reader_metrics=()
for i in $(seq 0 $((READERS - 1))); do
	addr=127.0.0.1:$((READER_PORT0 + i))
	maddr=127.0.0.1:$((READER_METRICS_PORT0 + i))
	LISTEN_ADDR=$addr METRICS_ADDR=$maddr WRITER_URL=http://$WRITER_ADDR bin/reader >".data/logs/reader$((i + 1)).log" 2>&1 &
	pids+=($!)
	readers+=("$addr")
	reader_metrics+=("$maddr")
	wait_http "http://$addr/readyz" "reader$((i + 1))"
done

bin/nginxconf -prefix .data/nginx -listen "$NGINX_ADDR" -readers "$(IFS=,; echo "${readers[*]}")" -writers "$WRITER_ADDR"
"$nginx_bin" -t -q -p "$PWD/.data/nginx" -c "$PWD/.data/nginx/nginx.conf"
"$nginx_bin" -p "$PWD/.data/nginx" -c "$PWD/.data/nginx/nginx.conf" >.data/logs/nginx.log 2>&1 &
pids+=($!)
wait_http "http://$NGINX_ADDR/last_topics" nginx

cat <<MSG

Parley is up.
  web page     http://$NGINX_ADDR/
  API (nginx)  http://$NGINX_ADDR        try: curl -s http://$NGINX_ADDR/last_topics   (reference: /docs/)
  database     $DATABASE_URL   (bin/parley export and import take it)
  writer       http://$WRITER_ADDR
  readers      ${readers[*]/#/http://}
  metrics      writer http://$WRITER_METRICS_ADDR/metrics
               readers ${reader_metrics[*]/#/http://}   (each at /metrics; deploy/prometheus.yml scrapes them)
  logs         .data/logs/
  make demo    loads a few threads
Ctrl-C stops everything.
MSG

# Run until Ctrl-C, or until any process dies.
set +e
wait -n "${pids[@]}"
echo "a process exited; see .data/logs/" >&2
exit 1
