#!/usr/bin/env bash
# Failover time, lbd and Debian's keepalived side by side (bench/failover:
# two nodes and a client in network namespaces, the master's link goes
# down, the client's probe finds the VIP on the backup). Prints a Markdown
# table of min/median/max per advert_int. Root; a few minutes.
#
# Usage: bench/failover.sh [flags of bench/failover, e.g. -n 5 -fault kill -rt 10]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
if [ "$(id -u)" -ne 0 ]; then
	echo "failover: run as root (network namespaces)" >&2
	exit 1
fi
make -s build >/dev/null
exec go run ./bench/failover -lbd "$PWD/bin/lbd" "$@"
