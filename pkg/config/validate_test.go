package config

import (
	"strconv"
	"strings"
	"testing"
)

// instance builds a minimal valid vrrp_instance with extra lines.
func instance(name, iface string, vrid int, vip string, extra ...string) string {
	var b strings.Builder
	b.WriteString("vrrp_instance " + name + " {\n")
	if iface != "" {
		b.WriteString("  interface " + iface + "\n")
	}
	if vrid != 0 {
		b.WriteString("  virtual_router_id " + strconv.Itoa(vrid) + "\n")
	}
	for _, e := range extra {
		b.WriteString("  " + e + "\n")
	}
	if vip != "" {
		b.WriteString("  virtual_ipaddress {\n    " + vip + "\n  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// TestValidation runs each rule with a configuration that breaks it and
// checks the exact diagnostics.
func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want []string
	}{
		{
			name: "valid",
			conf: instance("VI_1", "eth0", 51, "10.0.0.1/24"),
		},
		{
			name: "vrid out of range",
			conf: instance("VI_1", "eth0", 256, "10.0.0.1"),
			want: []string{
				"test.conf:3: vrrp_instance VI_1: virtual_router_id 256: out of range 1-255",
			},
		},
		{
			name: "vrid zero",
			conf: "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 0\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
			want: []string{
				"test.conf:3: vrrp_instance VI_1: virtual_router_id 0: out of range 1-255",
			},
		},
		{
			name: "vrid not a number",
			conf: "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5x\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n",
			want: []string{
				"test.conf:3: vrrp_instance VI_1: virtual_router_id 5x: not a number",
			},
		},
		{
			name: "priority out of range",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "priority 0", "priority 256", "priority -1"),
			want: []string{
				"test.conf:4: vrrp_instance VI_1: priority 0: out of range 1-255",
				"test.conf:5: vrrp_instance VI_1: priority 256: out of range 1-255",
				"test.conf:6: vrrp_instance VI_1: priority -1: out of range 1-255",
			},
		},
		{
			name: "missing interface",
			conf: instance("VI_1", "", 1, "10.0.0.1"),
			want: []string{"test.conf:1: vrrp_instance VI_1: interface is required unless unicast_peer is used"},
		},
		{
			name: "bad addresses",
			conf: instance("VI_1", "eth0", 1, "10.0.0.300", "mcast_src_ip 1.2.3", "unicast_src_ip", "mcast_dst_ip 10.0.0.1") +
				instance("VI_2", "eth0", 2, "10.0.0.2/33"),
			want: []string{
				"test.conf:1: warning: vrrp_instance VI_1: no virtual_ipaddress",
				"test.conf:4: vrrp_instance VI_1: mcast_src_ip 1.2.3: not an IP address",
				"test.conf:5: vrrp_instance VI_1: unicast_src_ip: missing value",
				"test.conf:6: vrrp_instance VI_1: mcast_dst_ip 10.0.0.1: not a multicast address",
				"test.conf:8: vrrp_instance VI_1: virtual_ipaddress 10.0.0.300: not an IP address",
				"test.conf:11: warning: vrrp_instance VI_2: no virtual_ipaddress",
				"test.conf:15: vrrp_instance VI_2: virtual_ipaddress 10.0.0.2/33: bad prefix length",
			},
		},
		{
			name: "duplicate vrid on one interface",
			conf: instance("VI_1", "eth0", 51, "10.0.0.1") + instance("VI_2", "eth0", 51, "10.0.0.2") +
				instance("VI_3", "eth1", 51, "10.0.0.3") + instance("VI_4", "eth0", 51, "2001:db8::4"),
			want: []string{
				"test.conf:8: vrrp_instance VI_2: virtual_router_id 51 is already used on eth0 (inet) by vrrp_instance VI_1 at test.conf:1",
			},
		},
		{
			name: "duplicate vrid with unicast peers",
			conf: instance("VI_1", "eth0", 51, "10.0.0.1", "unicast_peer {", "10.1.0.1", "}") +
				instance("VI_2", "eth0", 51, "10.0.0.2", "unicast_peer {", "10.1.0.2", "}") +
				instance("VI_3", "eth0", 51, "10.0.0.3", "unicast_peer {", "10.1.0.2", "}") +
				instance("VI_4", "eth0", 51, "10.0.0.4", "mcast_dst_ip 224.0.0.99") +
				instance("VI_5", "eth0", 51, "10.0.0.5"),
			want: []string{
				"test.conf:21: vrrp_instance VI_3: virtual_router_id 51 is already used on eth0 (inet) by vrrp_instance VI_2 at test.conf:11",
			},
		},
		{
			name: "sync group member does not exist, instance in two groups, empty group",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1") + instance("VI_2", "eth0", 2, "10.0.0.2") + `vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
    VI_9
  }
}
vrrp_sync_group G2 {
  group {
    VI_1
  }
}
vrrp_sync_group G3 {
  VI_2
}
`,
			want: []string{
				"test.conf:15: vrrp_sync_group G1: vrrp_instance VI_9 does not exist",
				"test.conf:22: vrrp_sync_group G2: vrrp_instance VI_1 is already in vrrp_sync_group G1",
				"test.conf:27: warning: vrrp_sync_group G3 has no vrrp instances; keepalived removes it",
				`test.conf:28: warning: unknown keyword "VI_2" in vrrp_sync_group`,
			},
		},
		{
			name: "sync group of one",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1") + "vrrp_sync_group G1 {\n group {\n VI_1\n }\n}\n",
			want: []string{"test.conf:8: warning: vrrp_sync_group G1 has only one vrrp instance, which is probably not what you want"},
		},
		{
			// keepalived's rules for these weights are the daemon's
			// (track.ApplySyncRules), which warns; the model keeps them.
			name: "sync group member tracking weights left as written",
			conf: "vrrp_script s {\n script /bin/true\n weight 10\n}\n" +
				instance("VI_1", "eth0", 1, "10.0.0.1", "track_script {", "s", "}") +
				instance("VI_2", "eth0", 2, "10.0.0.2") +
				"vrrp_sync_group G1 {\n group {\n VI_1\n VI_2\n }\n}\n",
			want: nil,
		},
		{
			name: "mixed VIP families",
			conf: "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n 2001:db8::1\n }\n virtual_ipaddress_excluded {\n 2001:db8::2\n 10.0.0.2\n }\n}\n",
			want: []string{
				"test.conf:6: vrrp_instance VI_1: virtual_ipaddress 2001:db8::1/128 is IPv6 but the instance is IPv4: IPv4 and IPv6 VIPs cannot be mixed (use virtual_ipaddress_excluded)",
			},
		},
		{
			name: "unicast peers of the wrong family",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "unicast_src_ip 2001:db8::9", "unicast_peer {", "10.0.0.2", "2001:db8::3", "}"),
			want: []string{
				"test.conf:1: vrrp_instance VI_1: unicast_src_ip 2001:db8::9 is IPv6 but the instance is IPv4",
				"test.conf:7: vrrp_instance VI_1: unicast_peer 2001:db8::3 is IPv6 but the instance is IPv4",
			},
		},
		{
			name: "unicast peer options",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "unicast_peer {", "10.0.0.2 min_ttl 300", "10.0.0.3 max_ttl", "10.0.0.4 ttl 3", "10.0.0.5 min_ttl 9 max_ttl 8", "}"),
			want: []string{
				"test.conf:5: vrrp_instance VI_1: unicast_peer 10.0.0.2 min_ttl 300: out of range 0-255",
				"test.conf:6: vrrp_instance VI_1: unicast_peer 10.0.0.3: max_ttl needs a value",
				`test.conf:7: vrrp_instance VI_1: unicast_peer 10.0.0.4: unknown option "ttl"`,
				"test.conf:8: vrrp_instance VI_1: unicast_peer 10.0.0.5: min_ttl 9 above max_ttl 8",
			},
		},
		{
			name: "auth_pass longer than 8",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "authentication {", "auth_type PASS", "auth_pass 0123456789", "}"),
			want: []string{
				`test.conf:6: warning: vrrp_instance VI_1: auth_pass "0123456789" is longer than 8 characters; keepalived uses only the first 8 ("01234567") and so does lbd`,
			},
		},
		{
			name: "authentication problems",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "authentication {", "auth_type SHA", "}") +
				instance("VI_2", "eth0", 2, "10.0.0.2", "authentication {", "auth_type PASS", "}") +
				instance("VI_3", "eth0", 3, "10.0.0.3", "version 3", "authentication {", "auth_type PASS", "auth_pass x", "}"),
			want: []string{
				"test.conf:4: vrrp_instance VI_1: authentication: missing auth_type",
				"test.conf:5: vrrp_instance VI_1: auth_type SHA: not PASS or AH",
				"test.conf:14: vrrp_instance VI_2: authentication: auth_type PASS without auth_pass",
				"test.conf:25: warning: vrrp_instance VI_3: authentication is not part of VRRPv3; ignored",
			},
		},
		{
			name: "AH with MASTER",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "state MASTER", "authentication {", "auth_type AH", "auth_pass 1111", "}"),
			want: []string{
				"test.conf:1: warning: vrrp_instance VI_1: initial state MASTER is incompatible with AH authentication; keepalived starts it as BACKUP and so does lbd",
			},
		},
		{
			name: "IPv6 with version 2",
			conf: instance("VI_1", "eth0", 1, "2001:db8::1", "version 2"),
			want: []string{"test.conf:1: warning: vrrp_instance VI_1: IPv6 needs VRRP version 3; version 2 ignored"},
		},
		{
			name: "advert_int",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "advert_int 1.5") +
				instance("VI_2", "eth0", 2, "10.0.0.2", "version 3", "advert_int 41") +
				instance("VI_3", "eth0", 3, "10.0.0.3", "advert_int 0.001") +
				instance("VI_4", "eth0", 4, "10.0.0.4", "advert_int 300"),
			want: []string{
				"test.conf:1: warning: vrrp_instance VI_1: VRRPv2 advertises whole seconds; advert_int 1.5s is sent as 2s",
				"test.conf:9: vrrp_instance VI_2: advert_int 41s above the VRRPv3 maximum of 40.95s",
				"test.conf:21: vrrp_instance VI_3: advert_int 0.001: out of range 0.01-255",
				"test.conf:29: vrrp_instance VI_4: advert_int 300: out of range 0.01-255",
			},
		},
		{
			name: "unknown track objects",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "track_script {", "nope", "}", "track_file {", "nofile weight 2", "}",
				"track_process {", "noproc", "}", "track_bfd {", "nobfd", "}", "track_interface {", "eth1 weight 300", "eth2 up", "}"),
			want: []string{
				"test.conf:5: vrrp_instance VI_1: track_script nope: no vrrp_script nope",
				"test.conf:8: vrrp_instance VI_1: track_file nofile: no track_file nofile",
				"test.conf:11: vrrp_instance VI_1: track_process noproc: no vrrp_track_process noproc",
				"test.conf:14: vrrp_instance VI_1: track_bfd nobfd: no bfd_instance nobfd",
				"test.conf:17: vrrp_instance VI_1: track_interface eth1 weight 300: out of range -253-253",
				`test.conf:18: vrrp_instance VI_1: track_interface eth2: unknown option "up"`,
			},
		},
		{
			name: "address owner ignores tracking weights",
			conf: "vrrp_script s {\n script /bin/true\n}\n" + instance("VI_1", "eth0", 1, "10.0.0.1", "priority 255", "track_script {", "s weight 5", "}"),
			want: []string{"test.conf:9: warning: vrrp_instance VI_1: track_script s weight 5 ignored: priority 255 (address owner) cannot change"},
		},
		{
			name: "strict mode",
			conf: "global_defs {\n vrrp_strict\n}\n" + instance("VI_1", "eth0", 1, "10.0.0.1", "state MASTER", "priority 100", "unicast_peer {", "10.0.0.2", "}",
				"preempt_delay 5", "accept", "garp_master_repeat 3", "higher_prio_send_advert", "authentication {", "auth_type PASS", "auth_pass x", "}") +
				instance("VI_2", "eth0", 2, "2001:db8::1") + instance("VI_3", "eth0", 3, ""),
			want: []string{
				"test.conf:4: warning: vrrp_instance VI_1: preempt_delay does not work with initial state MASTER",
				"test.conf:4: vrrp_instance VI_1: strict mode does not allow unicast_peer",
				"test.conf:4: vrrp_instance VI_1: strict mode allows state MASTER if and only if priority is 255",
				"test.conf:4: vrrp_instance VI_1: strict mode does not allow preempt_delay",
				"test.conf:4: vrrp_instance VI_1: strict mode does not allow accept with VRRPv2",
				"test.conf:4: vrrp_instance VI_1: strict mode does not allow gratuitous ARP repeats",
				"test.conf:4: vrrp_instance VI_1: strict mode does not allow higher_prio_send_advert",
				"test.conf:16: vrrp_instance VI_1: strict mode does not allow authentication",
				"test.conf:28: vrrp_instance VI_2: strict mode needs the first IPv6 VIP to be link-local",
				"test.conf:31: vrrp_instance VI_3: strict mode needs at least one virtual_ipaddress",
			},
		},
		{
			name: "duplicate names",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1") + instance("VI_1", "eth0", 2, "10.0.0.2") +
				"vrrp_script s {\n script /bin/true\n}\nvrrp_script s {\n script /bin/true\n}\n",
			want: []string{
				"test.conf:8: vrrp_instance VI_1: already defined at test.conf:1",
				"test.conf:18: vrrp_script s: already defined at test.conf:15",
			},
		},
		{
			name: "track objects without their main keyword",
			conf: "vrrp_script s {\n interval 2\n}\nvrrp_track_process p {\n quorum 3\n quorum_max 2\n}\ntrack_file f {\n weight 2\n}\nbfd_instance b {\n source_ip 10.0.0.1\n}\n",
			want: []string{
				"test.conf:1: vrrp_script s: no script",
				"test.conf:4: vrrp_track_process p: no process",
				"test.conf:4: vrrp_track_process p: quorum_max 2 below quorum 3",
				"test.conf:8: track_file f: no file",
				"test.conf:11: bfd_instance b: no neighbor_ip",
			},
		},
		{
			name: "real_server outside virtual_server",
			conf: "real_server 10.0.0.1 80 {\n weight 1\n}\nvirtual_server 10.0.0.9 80 {\n TCP_CHECK {\n }\n}\n" + instance("VI_1", "eth0", 1, "10.0.0.1", "url {", "path /", "}"),
			want: []string{
				"test.conf:1: real_server outside virtual_server",
				"test.conf:5: TCP_CHECK outside real_server",
				"test.conf:11: url outside HTTP_GET or SSL_GET",
			},
		},
		{
			name: "virtual server rules",
			conf: `virtual_server group NOPE {
}
virtual_server 10.0.0.1 {
}
virtual_server fwmark 3 {
  protocol UDP
  sh-port
}
virtual_server 10.0.0.2 80 {
  real_server 2001:db8::1 80 {
  }
  real_server 10.0.0.3 80 {
  }
  real_server 10.0.0.3 80 {
  }
  sorry_server 2001:db8::2 80
}
virtual_server 10.0.0.2 80 {
}
virtual_server 10.0.0.2 80 {
  protocol UDP
  persistence_granularity 64
}
`,
			want: []string{
				"test.conf:1: virtual_server group NOPE: virtual_server_group NOPE does not exist",
				"test.conf:3: virtual_server 10.0.0.1: a virtual server without a port must be persistent (persistence_timeout)",
				"test.conf:5: warning: virtual_server fwmark 3: protocol is ignored for a fwmark service (keepalived ignores it too)",
				"test.conf:5: warning: virtual_server fwmark 3: sh-port and sh-fallback apply to the sh scheduler only; ignored",
				"test.conf:10: virtual_server 10.0.0.2:80: real_server [2001:db8::1]:80 is not of the service's family (inet); only tunnelled real servers may differ",
				"test.conf:14: virtual_server 10.0.0.2:80: real_server 10.0.0.3:80 already defined at test.conf:12",
				"test.conf:16: virtual_server 10.0.0.2:80: sorry_server 2001:db8::2 is not of the service's family (inet)",
				"test.conf:18: virtual_server 10.0.0.2:80 (TCP): already defined at test.conf:9",
				"test.conf:20: virtual_server 10.0.0.2:80: persistence_granularity 64 does not suit an inet service",
			},
		},
		{
			name: "virtual server values",
			conf: `virtual_server 10.0.0.1 70000 {
}
virtual_server 10.0.0.1 80 {
  lb_algo fastest
  lb_kind FULLNAT
  protocol ICMP
  lvs_method TUN type vxlan
  persistence_granularity 255.0.255.0
  quorum 0
  delay_loop -1
  real_server 10.0.0.2 80 {
    weight 70000
    HTTP_GET {
      url {
        digest 1234
        status_code 200-100 abc
      }
    }
    MISC_CHECK {
    }
    FILE_CHECK {
      track_file nope
    }
    BFD_CHECK {
      name nope
    }
    UDP_CHECK {
      payload zz
      min_reply_length 10
      max_reply_length 5
    }
    DNS_CHECK {
      type PTR
    }
  }
  sorry_server_inhibit
}
`,
			want: []string{
				"test.conf:1: virtual_server port 70000: out of range 0-65535",
				"test.conf:4: virtual_server 10.0.0.1:80: lb_algo fastest: unknown scheduler (want one of rr, wrr, lc, wlc, lblc, sh, mh, dh, fo, ovf, lblcr, sed, nq, twos)",
				"test.conf:5: virtual_server 10.0.0.1:80: lb_kind FULLNAT: not NAT, DR or TUN",
				"test.conf:6: virtual_server 10.0.0.1:80: protocol ICMP: not TCP, UDP or SCTP",
				"test.conf:7: virtual_server 10.0.0.1:80: lvs_method TUN: type vxlan is not ipip, gue or gre",
				"test.conf:8: virtual_server 10.0.0.1:80: persistence_granularity 255.0.255.0: not a solid IPv4 netmask",
				"test.conf:9: virtual_server 10.0.0.1:80: quorum 0: out of range 1-4294967295",
				"test.conf:10: virtual_server 10.0.0.1:80: delay_loop -1: out of range 0.000001-4294967295",
				"test.conf:12: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: weight 70000: out of range 0-65535",
				"test.conf:13: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: HTTP_GET without url",
				"test.conf:14: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: HTTP_GET: url without path",
				"test.conf:15: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: HTTP_GET: digest 1234: not an MD5 digest (32 hex digits)",
				"test.conf:16: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: HTTP_GET: status_code 200-100: range is backwards",
				"test.conf:19: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: MISC_CHECK without misc_path",
				"test.conf:21: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: FILE_CHECK: track_file nope does not exist",
				"test.conf:24: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: BFD_CHECK: bfd_instance nope does not exist",
				"test.conf:27: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: UDP_CHECK: min_reply_length 10 above max_reply_length 5",
				"test.conf:28: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: UDP_CHECK: payload zz: not a hex string",
				"test.conf:33: virtual_server 10.0.0.1:80: real_server 10.0.0.2:80: DNS_CHECK: type PTR: not A, NS, CNAME, SOA, MX, TXT or AAAA",
				"test.conf:36: virtual_server 10.0.0.1:80: sorry_server_inhibit before or without sorry_server",
			},
		},
		{
			name: "routes and rules",
			conf: `static_routes {
  192.168.1.0/24 via 10.0.0.1 dev eth0 bogus 1
  10.0.0.0/8 via 2001:db8::1 dev eth0
  2001:db8::/64 via 10.0.0.1
  192.168.2.0/24 via
  192.168.3.0/24 no_track
  blackhole
  192.168.4.0/24 dev eth0 pref huge
}
static_rules {
  from 192.168.100.0/24 table 1 preference 1
  to 192.168.100./24 table 1 preference 2
  from 10.0.0.0/8 to 2001:db8::/32 preference 3
  fwmark zz preference 4
  from 10.0.0.0/8 frobnicate preference 5
}
static_ipaddress {
  10.0.0.1/24 dev eth0 scope universe
  10.0.0.2 label averyveryverylonglabel
  10.0.0.3 no_track
  10.0.0.4 dev
  10.0.0.5 foo
  10.0.0.6 track_group nope
}
`,
			want: []string{
				`test.conf:2: static_routes: unknown option "bogus"`,
				"test.conf:4: static_routes: gateway 10.0.0.1 is not of the destination's family",
				"test.conf:5: static_routes: via needs a value",
				"test.conf:6: static_routes: no_track is only valid in virtual_routes",
				"test.conf:7: static_routes: missing destination",
				`test.conf:8: static_routes: pref "huge" is not low, medium or high`,
				"test.conf:12: static_rules: invalid rule to address 192.168.100./24",
				"test.conf:13: static_rules: from and to are of different families",
				`test.conf:14: static_rules: fwmark "zz" is not a number`,
				`test.conf:15: static_rules: unknown option "frobnicate"`,
				`test.conf:18: static_ipaddress 10.0.0.1/24: scope "universe" is not global, site, link, host, nowhere or 0-255`,
				`test.conf:19: static_ipaddress 10.0.0.2: label "averyveryverylonglabel" longer than 15 characters`,
				"test.conf:20: static_ipaddress 10.0.0.3: no_track is only valid for VRRP addresses",
				"test.conf:21: static_ipaddress 10.0.0.4: dev needs a value",
				`test.conf:22: static_ipaddress 10.0.0.5: unknown option "foo"`,
				"test.conf:23: static_ipaddress 10.0.0.6/32: track_group nope does not exist",
			},
		},
		{
			name: "virtual routes without an interface",
			conf: instance("VI_1", "eth0", 1, "10.0.0.1", "virtual_routes {", "192.168.112.0/24 via 192.168.100.254",
				"192.168.113.0/24 via 192.168.100.252 or 192.168.100.253", "0.0.0.0/0 gw 192.168.0.1 table 100", "10.9.0.0/16 via 10.0.0.9 no_track", "}"),
			want: []string{
				"test.conf:5: warning: vrrp_instance VI_1: virtual_routes 192.168.112.0/24 has no interface (dev) and cannot be tracked; not tracking it",
				`test.conf:6: warning: vrrp_instance VI_1: virtual_routes: "or" for routes is deprecated; use "nexthop"`,
				"test.conf:6: warning: vrrp_instance VI_1: virtual_routes 192.168.113.0/24 has no interface (dev) and cannot be tracked; not tracking it",
				`test.conf:7: warning: vrrp_instance VI_1: virtual_routes: "gw" for routes is deprecated; use "via"`,
				"test.conf:7: warning: vrrp_instance VI_1: virtual_routes 0.0.0.0/0 has no interface (dev) and cannot be tracked; not tracking it",
			},
		},
		{
			name: "rule without preference",
			conf: "static_rules {\n from 10.0.0.0/8 table 1\n}\n",
			want: []string{"test.conf:2: warning: static_rules: rule has no preference; keepalived assigns one, which is probably not what you want"},
		},
		{
			name: "syntax: unknown keywords, braces",
			conf: `frobnicate {
  nested {
    deeper 1
  }
}
global_defs {
  router_id x
  bogus_keyword 3
  weird {
    a { b }
  }
  vrrp_instance VI_1 {
  }
}
vrrp_instance VI_2 {
  priority 100
  {
  }
}
}
vrrp_instance VI_3 {
  interface eth0
`,
			want: []string{
				`test.conf:1: warning: unknown keyword "frobnicate"`,
				`test.conf:8: warning: unknown keyword "bogus_keyword" in global_defs`,
				`test.conf:9: warning: unknown keyword "weird" in global_defs`,
				`test.conf:12: warning: unknown keyword "vrrp_instance" in global_defs (missing '}' before it?)`,
				"test.conf:15: vrrp_instance VI_2: virtual_router_id is required",
				"test.conf:15: vrrp_instance VI_2: interface is required unless unicast_peer is used",
				"test.conf:15: warning: vrrp_instance VI_2: no virtual_ipaddress",
				"test.conf:16: vrrp_instance VI_2: priority does not take a { } block; block ignored",
				"test.conf:20: unexpected '}'",
				"test.conf:21: vrrp_instance: missing '}' at end of block",
				"test.conf:21: vrrp_instance VI_3: virtual_router_id is required",
				"test.conf:21: warning: vrrp_instance VI_3: no virtual_ipaddress",
			},
		},
		{
			name: "missing block and values",
			conf: "vrrp_instance\nglobal_defs\nvrrp_script s\n",
			want: []string{
				"test.conf:1: vrrp_instance: missing '{' block",
				"test.conf:2: global_defs: missing '{' block",
				"test.conf:3: vrrp_script: missing '{' block",
			},
		},
		{
			name: "values: bools, timers, flags",
			conf: "global_defs {\n smtp_alert maybe\n vrrp_garp_interval abc\n vrrp_garp_master_delay nan\n vrrp_strict yes\n router_id a b\n umask 0999\n}\n",
			want: []string{
				"test.conf:2: global_defs: smtp_alert maybe: not one of on|off|true|false|yes|no",
				"test.conf:3: global_defs: vrrp_garp_interval abc: not a number of seconds",
				"test.conf:4: global_defs: vrrp_garp_master_delay nan: not a number of seconds",
				`test.conf:5: warning: global_defs: vrrp_strict takes no value; "yes" ignored`,
				`test.conf:6: warning: global_defs: router_id: extra values "b" ignored`,
				`test.conf:7: global_defs: umask 0999: "0999" is not a number or I{R|W|X}{USR|GRP|OTH}`,
			},
		},
		{
			name: "lvs_sync_daemon instance",
			conf: "global_defs {\n lvs_sync_daemon eth0 VI_X\n}\n",
			want: []string{"test.conf:2: lvs_sync_daemon: vrrp_instance VI_X does not exist"},
		},
		{
			name: "garp_group",
			conf: "garp_group {\n garp_interval 1\n}\ngarp_group {\n interface eth0\n interfaces {\n eth1\n }\n}\n",
			want: []string{
				"test.conf:1: garp_group: no interface or interfaces",
				"test.conf:4: garp_group: use interface or interfaces, not both",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := parse(t, tt.conf)
			wantDiags(t, got, tt.want...)
		})
	}
}

func TestAuthPassTruncated(t *testing.T) {
	c, _ := parse(t, instance("VI_1", "eth0", 1, "10.0.0.1", "authentication {", "auth_type PASS", "auth_pass 0123456789", "}"))
	if got := c.Instances[0].Auth.Pass; got != "01234567" {
		t.Errorf("auth_pass = %q; want the first 8 characters", got)
	}
}

func TestAHClearsMaster(t *testing.T) {
	c, _ := parse(t, instance("VI_1", "eth0", 1, "10.0.0.1", "state MASTER", "authentication {", "auth_type AH", "auth_pass 1111", "}"))
	if got := c.Instances[0].State; got != StateBackup {
		t.Errorf("state = %s; want BACKUP", got)
	}
}
