#!/usr/bin/env bash
# pg.sh: a local PostgreSQL cluster for tests and `make run`.
#
#   pg.sh start DATADIR   create the cluster if DATADIR is empty, start it, print its DATABASE_URL
#   pg.sh stop DATADIR    stop it (fast shutdown)
#   pg.sh standby PRIMARY DATADIR
#                         a hot standby of the running cluster in PRIMARY (pg_basebackup -R:
#                         streaming replication), made if DATADIR is empty, started, its URL printed
#
# The cluster listens on a Unix socket inside DATADIR only, so it needs no free
# TCP port and cannot clash with another cluster. initdb and postgres refuse to
# run as root; as root they run as the "postgres" system user.
set -euo pipefail

usage="usage: pg.sh start|stop DATADIR, or pg.sh standby PRIMARY DATADIR"
cmd=${1:?$usage}
if [[ $cmd == standby ]]; then
	primary=${2:?$usage}
	dir=${3:?$usage}
else
	dir=${2:?$usage}
fi

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

# home_of DIR prints where the cluster of DIR lives. As root, the cluster
# belongs to the postgres user, which may not be able to reach DIR (a
# checkout under /root, say). Then the cluster lives under
# /var/lib/parley-pg, and DIR records where.
home_of() {
	local d
	mkdir -p "$1"
	d=$(cd "$1" && pwd)
	if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
		if [[ ! -f $d/LOCATION ]]; then
			echo "/var/lib/parley-pg/$(echo "$d" | md5sum | cut -c1-12)" >"$d/LOCATION"
		fi
		cat "$d/LOCATION"
	else
		echo "$d"
	fi
}

home=$(home_of "$dir")
mkdir -p "$home"
data=$home/data
sock=$home/sock

# run_cluster starts the cluster in $data on its socket, unless it runs.
run_cluster() {
	if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		as_owner "$bin/pg_ctl" -D "$data" -l "$home/postgres.log" -w -t 60 start -o \
			"-c listen_addresses='' -c unix_socket_directories='$sock' -c max_connections=300 -c shared_buffers=256MB ${PG_EXTRA_OPTS:-}" >/dev/null ||
			{ tail -20 "$home/postgres.log" >&2; exit 1; }
	fi
}

case $cmd in
start)
	mkdir -p "$sock"
	if [[ $(id -u) -eq 0 ]]; then chown postgres: "$home" "$sock"; fi
	if [[ ! -f $data/PG_VERSION ]]; then
		as_owner "$bin/initdb" -D "$data" -U parley --auth=trust -E UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 ||
			{ cat "$home/initdb.log" >&2; exit 1; }
	fi
	run_cluster
	# Create the application database once; "parley" is also the superuser.
	if ! "$bin/psql" -h "$sock" -U parley -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='parley'" | grep -q 1; then
		"$bin/psql" -h "$sock" -U parley -d postgres -qc "CREATE DATABASE parley" >/dev/null
	fi
	echo "postgres://parley@/parley?host=$sock"
	;;
standby)
	# The primary's socket; its superuser (parley, trust on the socket) may
	# replicate, and wal_level=replica is the default.
	psock=$(home_of "$primary")/sock
	mkdir -p "$sock"
	if [[ $(id -u) -eq 0 ]]; then chown postgres: "$home" "$sock"; fi
	if [[ ! -f $data/PG_VERSION ]]; then
		as_owner "$bin/pg_basebackup" -h "$psock" -U parley -D "$data" -R -X stream -c fast >"$home/basebackup.log" 2>&1 ||
			{ cat "$home/basebackup.log" >&2; exit 1; }
	fi
	run_cluster
	echo "postgres://parley@/parley?host=$sock"
	;;
stop)
	if [[ -f $data/PG_VERSION ]]; then
		as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	;;
*)
	echo "$usage" >&2
	exit 2
	;;
esac
