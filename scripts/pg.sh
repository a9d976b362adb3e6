#!/usr/bin/env bash
# pg.sh: a local PostgreSQL cluster for tests and `make run`.
#
#   pg.sh start DATADIR   create the cluster if DATADIR is empty, start it, print its DATABASE_URL
#   pg.sh stop DATADIR    stop it (fast shutdown)
#
# The cluster listens on a Unix socket inside DATADIR only, so it needs no free
# TCP port and cannot clash with another cluster. initdb and postgres refuse to
# run as root; as root they run as the "postgres" system user.
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop DATADIR}
dir=${2:?usage: pg.sh start|stop DATADIR}

find_bin() {
	for d in /usr/lib/postgresql/*/bin; do
		if [[ -x $d/initdb ]]; then echo "$d"; return; fi
	done
}

bin=$(find_bin || true)
if [[ -z $bin ]]; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "pg.sh: installing postgresql with apt-get" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
		bin=$(find_bin)
	else
		echo "pg.sh: PostgreSQL server binaries not found; install them (Debian: apt-get install postgresql) or set DATABASE_URL" >&2
		exit 1
	fi
fi

as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# As root, the cluster belongs to the postgres user, which may not be able to
# reach $dir (a checkout under /root, say). Then the cluster lives under
# /var/lib/parley-pg, and $dir records where.
if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
	if [[ ! -f $dir/LOCATION ]]; then
		echo "/var/lib/parley-pg/$(echo "$dir" | md5sum | cut -c1-12)" >"$dir/LOCATION"
	fi
	home=$(cat "$dir/LOCATION")
	mkdir -p "$home"
else
	home=$dir
fi
data=$home/data
sock=$home/sock

case $cmd in
start)
	mkdir -p "$sock"
	if [[ $(id -u) -eq 0 ]]; then chown postgres: "$home" "$sock"; fi
	if [[ ! -f $data/PG_VERSION ]]; then
		as_owner "$bin/initdb" -D "$data" -U parley --auth=trust -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 ||
			{ cat "$home/initdb.log" >&2; exit 1; }
	fi
	if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_owner "$bin/pg_ctl" -D "$data" -l "$home/postgres.log" -w -t 60 start -o \
			"-c listen_addresses='' -c unix_socket_directories='$sock' -c max_connections=300 -c shared_buffers=256MB ${PG_EXTRA_OPTS:-}" >/dev/null ||
			{ tail -20 "$home/postgres.log" >&2; exit 1; }
	fi
	# Create the application database once; "parley" is also the superuser.
	if ! "$bin/psql" -h "$sock" -U parley -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='parley'" | grep -q 1; then
		"$bin/psql" -h "$sock" -U parley -d postgres -qc "CREATE DATABASE parley" >/dev/null
	fi
	echo "postgres://parley@/parley?host=$sock"
	;;
stop)
	if [[ -f $data/PG_VERSION ]]; then
		as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	;;
*)
	echo "usage: pg.sh start|stop DATADIR" >&2
	exit 2
	;;
esac
