#!/usr/bin/env bash
# CPU of a BACKUP following 200 VRRPv3 instances at advert_int 0.01 for
# 30 s: lbd on XDP, lbd on raw sockets and Debian's keepalived side by side
# (bench/vrrpcpu; the master is lbd on raw sockets). Prints a Markdown
# table. Root; about three minutes.
#
# Usage: bench/vrrp-cpu.sh [flags of bench/vrrpcpu, e.g. -d 60s -rt 0]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
if [ "$(id -u)" -ne 0 ]; then
	echo "vrrp-cpu: run as root (network namespaces, XDP)" >&2
	exit 1
fi
make -s build >/dev/null
exec go run ./bench/vrrpcpu -lbd "$PWD/bin/lbd" "$@"
