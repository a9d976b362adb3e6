#!/usr/bin/env bash
# ensure-chromium.sh: prints the path of a Chromium binary, for the browser
# tests (internal/browsertest), installing Debian's package first when it is
# missing and we are root. Without root, it says what to install and fails.
set -euo pipefail

find_chromium() {
	local c
	for c in chromium chromium-browser /usr/bin/chromium; do
		if command -v "$c" 2>/dev/null; then return; fi
	done
}

bin=$(find_chromium)
if [[ -z $bin ]]; then
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
		echo "chromium is not installed: install it (Debian: sudo apt-get install chromium) and run again" >&2
		exit 1
	fi
	echo "ensure-chromium: installing chromium with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	# Headless needs none of the recommends (Mesa drivers, upower, a
	# notification daemon, …); leaving them out keeps the install short.
	apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }
	bin=$(find_chromium)
	if [[ -z $bin ]]; then
		echo "ensure-chromium: chromium was installed but no binary was found" >&2
		exit 1
	fi
fi
echo "$bin"
