#!/usr/bin/env bash
# ensure-nginx.sh: prints the path of an nginx binary, installing Debian's
# package first when it is missing and we are root. Without root, it says
# what to install and fails.
set -euo pipefail

find_nginx() {
	command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}

bin=$(find_nginx)
if [[ -z $bin ]]; then
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
		echo "nginx is not installed: install it (Debian: sudo apt-get install nginx) and run again" >&2
		exit 1
	fi
	echo "ensure-nginx: installing nginx with apt-get" >&2
	# Keep the package from starting a system nginx on port 80.
	policy=/usr/sbin/policy-rc.d
	had_policy=0
	[[ -e $policy ]] && had_policy=1
	if [[ $had_policy -eq 0 ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"; fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q nginx >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nginx >/dev/null; }
	if [[ $had_policy -eq 0 ]]; then rm -f "$policy"; fi
	bin=$(find_nginx)
fi
echo "$bin"
