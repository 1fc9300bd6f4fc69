#!/usr/bin/env bash
# Timer lateness of lbd's VRRP timers on a CPU-starved host, without and
# with real-time scheduling (global_defs vrrp_rt_priority).
#
# Two lbd nodes on a veth pair in network namespaces run one VRRPv3
# instance at advert_int 0.01 (the master's advert timer fires 100 times
# a second). Once the master is elected, CPU hogs (busy shell loops, twice
# as many as CPUs, SCHED_OTHER) run for DURATION seconds. The nodes'
# lbd_vrrp_timer_lateness_seconds histograms are scraped before and after
# the loaded window; the difference gives p50/p99/p99.9 (linear inside a
# bucket, as Prometheus' histogram_quantile). False takeovers are the
# backup's transitions to MASTER during the window. Three runs: idle
# (no hogs), loaded, loaded with vrrp_rt_priority.
#
# Usage (root): bench/timer-lateness.sh [DURATION] [RT_PRIORITY]
#   DURATION     seconds of load per run (default 30)
#   RT_PRIORITY  vrrp_rt_priority of the second run (default 10)
# Environment: LBD (the lbd binary; default: make build's bin/lbd),
# HOGS (number of CPU hogs; default 2 x nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

duration=${1:-30}
rtprio=${2:-10}
hogs=${HOGS:-$(($(nproc) * 2))}

if [ "$(id -u)" -ne 0 ]; then
	echo "timer-lateness: run as root (network namespaces)" >&2
	exit 1
fi
if [ -z "${LBD:-}" ]; then
	make -s build >/dev/null
	LBD=$PWD/bin/lbd
fi

prefix="lt$(printf '%05d' $(($$ % 100000)))"
work=$(mktemp -d /tmp/lbd-lateness-XXXXXX)
pids=()
hogpids=()

cleanup() {
	set +e
	for p in "${hogpids[@]}" "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${hogpids[@]}" "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	hogpids=()
	pids=()
	for h in a b; do
		ip netns del "$prefix-$h" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns() { ip netns exec "$prefix-$1" "${@:2}"; }

lab() {
	ip netns add "$prefix-a"
	ip netns add "$prefix-b"
	ip link add "$prefix-va" netns "$prefix-a" type veth peer name "$prefix-vb" netns "$prefix-b"
	ns a ip link set "$prefix-va" name eth0
	ns b ip link set "$prefix-vb" name eth0
	for h in a b; do
		ns $h ip link set lo up
		ns $h ip link set eth0 up
	done
	ns a ip addr add 192.0.2.1/24 dev eth0
	ns b ip addr add 192.0.2.2/24 dev eth0
}

config() { # $1: rt priority (0: none)
	if [ "$1" -gt 0 ]; then
		printf 'global_defs {\n  vrrp_rt_priority %s\n}\n' "$1"
	fi
	cat <<'EOF'
vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  version 3
  virtual_router_id 51
@a  priority 200
@b  priority 100
  advert_int 0.01
  virtual_ipaddress {
    192.0.2.100/24
  }
}
EOF
}

metrics() { ns "$1" curl -sf http://127.0.0.1:9650/metrics; }

# lateness buckets "LE COUNT" (cumulative) summed over both nodes.
buckets() {
	{ metrics a; metrics b; } | awk '
		/^lbd_vrrp_timer_lateness_seconds_bucket/ {
			match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
			sum[le] += $NF
		}
		END { for (le in sum) print le, sum[le] }' | sort -g
}

# transitions of node $1 to state $2.
transitions() {
	metrics "$1" | awk -v to="$2" '
		/^lbd_vrrp_transitions_total/ && $0 ~ "to=\"" to "\"" { n += $NF }
		END { print n + 0 }'
}

# quantiles of the difference of two bucket lists (files $1 before, $2 after).
quantiles() {
	join <(sort "$1") <(sort "$2") | sort -g | awk '
		{ le[NR] = $1; c[NR] = $3 - $2; n = NR }
		function q(p,   target, i, lo, prev) {
			target = p * c[n]
			prev = 0; lo = 0
			for (i = 1; i <= n; i++) {
				if (c[i] >= target) {
					if (le[i] == "+Inf") return "> " lo * 1000 " ms"
					if (c[i] == prev) return sprintf("%.3f ms", le[i] * 1000)
					return sprintf("%.3f ms", (lo + (le[i] - lo) * (target - prev) / (c[i] - prev)) * 1000)
				}
				prev = c[i]; lo = le[i]
			}
		}
		END {
			if (c[n] == 0) { print "no timers"; exit }
			printf "%d | %s | %s | %s", c[n], q(0.5), q(0.99), q(0.999)
		}'
}

run() { # $1: rt priority (0: none), $2: number of hogs; prints one table row
	local rt=$1 nhogs=$2 label="SCHED_OTHER (no vrrp_rt_priority)"
	[ "$rt" -gt 0 ] && label="SCHED_RR $rt (vrrp_rt_priority $rt)"
	if [ "$nhogs" -eq 0 ]; then
		label="idle, $label"
	else
		label="$nhogs hogs, $label"
	fi
	lab
	config "$rt" >"$work/keepalived.conf"
	for h in a b; do
		ns $h "$LBD" run --config "$work/keepalived.conf" --config-id $h \
			--run-dir "$work/run-$h" --metrics-addr 127.0.0.1:9650 >"$work/$h.log" 2>&1 &
		pids+=($!)
	done
	local i
	for i in $(seq 300); do
		if ns a "$LBD" status --json --run-dir "$work/run-a" 2>/dev/null | grep -q '"state": "MASTER"'; then
			break
		fi
		sleep 0.1
	done
	ns a "$LBD" status --json --run-dir "$work/run-a" | grep -q '"state": "MASTER"' || {
		echo "timer-lateness: no master elected" >&2
		cat "$work/a.log" >&2
		exit 1
	}
	buckets >"$work/before"
	local up_b
	up_b=$(transitions b MASTER)
	for ((i = 0; i < nhogs; i++)); do
		sh -c 'while :; do :; done' &
		hogpids+=($!)
	done
	sleep "$duration"
	buckets >"$work/after"
	local false_b
	false_b=$(($(transitions b MASTER) - up_b))
	echo "| $label | $(quantiles "$work/before" "$work/after") | $false_b |"
	cleanup
	work=$(mktemp -d /tmp/lbd-lateness-XXXXXX)
}

echo "Timer lateness at advert_int 0.01 ($(nproc) CPUs, ${duration}s per run; hogs: busy shell loops), both nodes' VRRP timers:"
echo
echo "| load, scheduling | timers | p50 | p99 | p99.9 | false takeovers |"
echo "|---|---|---|---|---|---|"
run 0 0
run 0 "$hogs"
run "$rtprio" "$hogs"
