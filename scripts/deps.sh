#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages lbd's build, tests, benchmarks
# and demo use. Idempotent: installs only what is missing, and does nothing
# (not even apt-get update) when everything is present.
set -euo pipefail

pkgs=(
	# BPF toolchain (make generate)
	clang llvm libbpf-dev bpftool linux-libc-dev
	# network namespaces, captures, probes
	iproute2 iputils-ping iputils-arping ndisc6 tcpdump socat curl procps psmisc
	# real peers and servers for interop tests
	keepalived ipvsadm nginx-light exim4-daemon-light
	# tests/vm: Debian's kernel under qemu
	qemu-system-x86 busybox-static cpio kmod zstd xz-utils
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages' own services are not wanted: tests start their own instances.
for svc in keepalived nginx exim4; do
	service "$svc" stop >/dev/null 2>&1 || true
done
