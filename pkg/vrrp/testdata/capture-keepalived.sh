#!/usr/bin/env bash
# Regenerates keepalived-2.2.7.adverts: runs the installed keepalived in a
# throwaway network namespace with the instances below, captures its adverts
# on the peer end of a veth with tcpdump, and keeps the first advert and the
# priority-0 (shutdown) advert of each VRID, Ethernet header removed.
# Needs root, keepalived, tcpdump, python3. Takes about 15 seconds.
set -euo pipefail
out=${1:-$(dirname "$0")/keepalived-2.2.7.adverts}
tmp=$(mktemp -d)
A=lbdvrrpcap-a$$ B=lbdvrrpcap-b$$
cleanup() {
	[[ -n ${kp:-} ]] && kill "$kp" 2>/dev/null || true
	[[ -n ${tp:-} ]] && kill "$tp" 2>/dev/null || true
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/ka.conf" <<'EOF'
global_defs {
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
}
vrrp_instance V2_OWNER {
    interface lbdvcA
    virtual_router_id 51
    state MASTER
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/24
        192.0.2.11/24
    }
}
vrrp_instance V2_PASS {
    interface lbdvcA
    virtual_router_id 52
    state MASTER
    priority 200
    advert_int 2
    authentication {
        auth_type PASS
        auth_pass lbdtest
    }
    virtual_ipaddress {
        198.51.100.20/24
    }
}
vrrp_instance V3_V4 {
    interface lbdvcA
    version 3
    virtual_router_id 53
    state BACKUP
    priority 100
    advert_int 0.5
    virtual_ipaddress {
        203.0.113.30/24
        203.0.113.31/24
        203.0.113.32/24
    }
}
vrrp_instance V3_V6 {
    interface lbdvcA
    virtual_router_id 54
    state MASTER
    priority 254
    advert_int 0.25
    virtual_ipaddress {
        fe80::54/64
        2001:db8::54/64
    }
}
vrrp_instance V3_UNI {
    interface lbdvcA
    version 3
    virtual_router_id 55
    state BACKUP
    priority 1
    advert_int 1
    unicast_src_ip 10.250.0.1
    unicast_peer {
        10.250.0.2
    }
    virtual_ipaddress {
        192.0.2.55/32
    }
}
EOF

ip netns add "$A"
ip netns add "$B"
# Fixed MACs give a fixed EUI-64 link-local source (fe80::ff:fe00:a).
ip link add lbdvcA netns "$A" address 02:00:00:00:00:0a type veth peer name lbdvcB netns "$B" address 02:00:00:00:00:0b
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip -n "$A" addr add 10.250.0.1/24 dev lbdvcA
ip -n "$B" addr add 10.250.0.2/24 dev lbdvcB
ip -n "$A" link set lbdvcA up
ip -n "$B" link set lbdvcB up
# Wait for the link-local address to leave tentative state.
for _ in $(seq 50); do
	ip -n "$A" -6 addr show dev lbdvcA scope link | grep -q tentative || break
	sleep 0.1
done

ip netns exec "$B" tcpdump -i lbdvcB -U -w "$tmp/cap.pcap" 'ip proto 112 or ip6 proto 112' 2>/dev/null &
tp=$!
sleep 1
ip netns exec "$A" keepalived -P -n -l -D --no-syslog -f "$tmp/ka.conf" \
	-p "$tmp/ka.pid" -r "$tmp/vrrp.pid" >"$tmp/ka.log" 2>&1 &
kp=$!
sleep 9 # every instance becomes MASTER (the slowest, priority 1, after ~4s)
kill "$kp"
wait "$kp" || true
kp=
sleep 1
kill "$tp"
wait "$tp" || true
tp=

tcpdump -n -xx -r "$tmp/cap.pcap" 2>/dev/null | awk '
	/^[0-9]/ { if (hex != "") print hex; hex = ""; next }
	/0x/ { for (i = 2; i <= NF; i++) hex = hex $i }
	END { if (hex != "") print hex }' >"$tmp/hex.txt"

python3 - "$tmp/hex.txt" "$out" <<'EOF'
import sys
names = {
    51: "v2 IPv4 multicast, state MASTER without priority (derived 255), advert_int 1, 2 VIPs",
    52: "v2 IPv4 multicast, auth_type PASS auth_pass lbdtest, priority 200, advert_int 2",
    53: "v3 IPv4 multicast, priority 100, advert_int 0.5",
    54: "v3 IPv6 multicast, priority 254, advert_int 0.25, VIPs fe80::54 2001:db8::54",
    55: "v3 IPv4 unicast 10.250.0.1 -> 10.250.0.2, priority 1, advert_int 1",
}
seen, out = set(), []
for line in open(sys.argv[1]):
    b = bytes.fromhex(line.strip())
    ip = b[14:]
    v = ip[(ip[0] & 15) * 4:] if b[12:14] == b"\x08\x00" else ip[40:]
    key = (v[1], v[2] == 0)
    if key not in seen:
        seen.add(key)
        out.append((key, ip.hex()))
with open(sys.argv[2], "w") as f:
    f.write("# Adverts captured from Debian keepalived 2.2.7 (tcpdump on the peer veth,\n")
    f.write("# Ethernet header removed), by capture-keepalived.sh. One packet per line:\n")
    f.write("# <name> <hex of the whole IP packet>. Independent oracle for the codec goldens.\n")
    for (vrid, zero), h in sorted(out):
        f.write("# %s%s\n" % (names[vrid], ", shutdown (priority 0)" if zero else ""))
        f.write("vrid%d%s %s\n" % (vrid, "-prio0" if zero else "", h))
EOF
echo "wrote $out"
