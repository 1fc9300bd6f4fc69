#!/usr/bin/env bash
# make demo: on a fresh Debian machine, as root, builds lbd and shows a VRRP
# failover in network namespaces (examples/demo): two lbd nodes reading
# examples/keepalived.conf, a client probing the VIP, the master killed,
# the measured failover time. The lab is torn down at the end, on failure
# and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (network namespaces): sudo make demo" >&2
	exit 1
fi
if ! command -v go >/dev/null; then
	echo "demo: Go 1.26 is needed to build lbd (https://go.dev/dl/, into /usr/local/go)" >&2
	exit 1
fi
# What the demo itself needs (make deps installs every test dependency).
missing=()
for p in iproute2; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "demo: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "==> building lbd"
make -s build
go build -o bin/lbd-demo ./examples/demo
exec bin/lbd-demo -lbd bin/lbd -config examples/keepalived.conf "$@"
