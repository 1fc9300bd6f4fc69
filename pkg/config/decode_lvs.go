package config

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Schedulers are the IPVS schedulers keepalived accepts for lvs_sched.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"}

func knownScheduler(s string) bool {
	for _, k := range Schedulers {
		if k == s {
			return true
		}
	}
	return false
}

type vsrv = VirtualServer

// timingEntries are the checker timing keywords shared by virtual servers,
// real servers and checkers.
func timingEntries[T any](t func(*T) *CheckTiming) map[string]entry[T] {
	return map[string]entry[T]{
		"connect_timeout": kw(func(d *decoder, n *node, v *T) {
			if x, ok := d.timerArg(n, time.Microsecond, maxTimer); ok {
				t(v).ConnectTimeout = x
			}
		}),
		"retry": kw(func(d *decoder, n *node, v *T) {
			if x, ok := d.intArg(n, 0, 1<<32-1); ok {
				t(v).Retry = x
			}
		}),
		"delay_before_retry": kw(func(d *decoder, n *node, v *T) {
			if x, ok := d.timerArg(n, 0, maxTimer); ok {
				t(v).DelayBeforeRetry = x
			}
		}),
		"warmup": kw(func(d *decoder, n *node, v *T) {
			if x, ok := d.timerArg(n, 0, maxTimer); ok {
				t(v).Warmup = x
			}
		}),
		"delay_loop": kw(func(d *decoder, n *node, v *T) {
			if x, ok := d.timerArg(n, time.Microsecond, maxTimer); ok {
				t(v).DelayLoop = x
			}
		}),
	}
}

var timingAliases = map[string]string{"nb_get_retry": "retry"}

var virtualServerSpec = blockSpec[vsrv]{
	kws: mergeEntries(timingEntries(func(v *vsrv) *CheckTiming { return &v.CheckTiming }), map[string]entry[vsrv]{
		"lvs_sched": kw(func(d *decoder, n *node, v *vsrv) {
			s, ok := d.arg(n)
			if !ok {
				return
			}
			if !knownScheduler(s) {
				d.errorf(n.pos, "%s %s: unknown scheduler (want one of %s)", n.keyword(), s, strings.Join(Schedulers, ", "))
				return
			}
			v.Scheduler = s
		}),
		"flag-1":      kw(setFlag(func(v *vsrv) *bool { return &v.Flag1 })),
		"flag-2":      kw(setFlag(func(v *vsrv) *bool { return &v.Flag2 })),
		"flag-3":      kw(setFlag(func(v *vsrv) *bool { return &v.Flag3 })),
		"sh-port":     kw(setFlag(func(v *vsrv) *bool { return &v.SHPort })),
		"sh-fallback": kw(setFlag(func(v *vsrv) *bool { return &v.SHFallback })),
		"mh-port":     kw(setFlag(func(v *vsrv) *bool { return &v.MHPort })),
		"mh-fallback": kw(setFlag(func(v *vsrv) *bool { return &v.MHFallback })),
		"ops":         kw(setFlag(func(v *vsrv) *bool { return &v.OPS })),
		"hashed":      kw(setFlag(func(v *vsrv) *bool { return &v.Hashed })),
		"lvs_method": kw(func(d *decoder, n *node, v *vsrv) {
			if m, t, ok := d.lvsMethod(n); ok {
				v.Method, v.Tunnel = m, t
			}
		}),
		"persistence_engine": kw(setString(func(v *vsrv) *string { return &v.PersistenceEngine })),
		"persistence_timeout": kw(func(d *decoder, n *node, v *vsrv) {
			if len(n.args()) == 0 {
				v.PersistenceTimeout = 360 * time.Second // IPVS_SVC_PERSISTENT_TIMEOUT
				return
			}
			if x, ok := d.intArg(n, 1, 1<<32-1); ok {
				v.PersistenceTimeout = time.Duration(x) * time.Second
			}
		}),
		"persistence_granularity": kw(func(d *decoder, n *node, v *vsrv) {
			s, ok := d.arg(n)
			if !ok {
				return
			}
			if strings.Contains(s, ".") {
				m, err := netip.ParseAddr(s)
				if err != nil || !m.Is4() || !solidMask(m) {
					d.errorf(n.pos, "persistence_granularity %s: not a solid IPv4 netmask", s)
					return
				}
			} else if _, ok := d.parseInt(n.pos, "persistence_granularity", s, 1, 128); !ok {
				return
			}
			v.PersistenceGranularity = s
		}),
		"protocol": kw(func(d *decoder, n *node, v *vsrv) {
			s, ok := d.arg(n)
			if !ok {
				return
			}
			switch strings.ToUpper(s) {
			case "TCP":
				v.Protocol = ProtoTCP
			case "UDP":
				v.Protocol = ProtoUDP
			case "SCTP":
				v.Protocol = ProtoSCTP
			default:
				d.errorf(n.pos, "protocol %s: not TCP, UDP or SCTP", s)
			}
		}),
		"ha_suspend":  kw(setFlag(func(v *vsrv) *bool { return &v.HASuspend })),
		"smtp_alert":  kw(setBool(func(v *vsrv) *bool { return &v.SMTPAlert })),
		"virtualhost": kw(setString(func(v *vsrv) *string { return &v.Virtualhost })),
		"snmp_name":   kw(setString(func(v *vsrv) *string { return &v.SNMPName })),
		"alpha":       kw(setBool(func(v *vsrv) *bool { return &v.Alpha })),
		"omega":       kw(setBool(func(v *vsrv) *bool { return &v.Omega })),
		"quorum":      kw(setInt(func(v *vsrv) *int { return &v.Quorum }, 1, 1<<32-1)),
		"hysteresis":  kw(setInt(func(v *vsrv) *int { return &v.Hysteresis }, 0, 1<<32-1)),
		"quorum_up":   kw(setNotify(func(v *vsrv) **Script { return &v.QuorumUp })),
		"quorum_down": kw(setNotify(func(v *vsrv) **Script { return &v.QuorumDown })),
		"ip_family": kw(func(d *decoder, n *node, v *vsrv) {
			s, ok := d.arg(n)
			if !ok {
				return
			}
			switch s {
			case "inet":
				v.IPFamily = FamilyIPv4
			case "inet6":
				v.IPFamily = FamilyIPv6
			default:
				d.errorf(n.pos, "ip_family %s: not inet or inet6", s)
			}
		}),
		"sorry_server": kw(func(d *decoder, n *node, v *vsrv) {
			a := n.args()
			if len(a) == 0 || len(a) > 2 {
				d.errorf(n.pos, "sorry_server: want ADDRESS [PORT]")
				return
			}
			addr, ok := d.parseAddr(n.pos, "sorry_server", a[0])
			if !ok {
				return
			}
			s := &SorryServer{Pos: n.pos, Addr: addr}
			if len(a) == 2 {
				if s.Port, ok = d.parsePort(n.pos, "sorry_server port", a[1]); !ok {
					return
				}
			}
			if v.SorryServer != nil {
				d.warnf(n.pos, "sorry_server given twice; the last one is used")
				s.Inhibit = v.SorryServer.Inhibit
			}
			v.SorryServer = s
		}),
		"sorry_server_inhibit": kw(func(d *decoder, n *node, v *vsrv) {
			d.noArgs(n)
			if v.SorryServer == nil {
				d.errorf(n.pos, "sorry_server_inhibit before or without sorry_server")
				return
			}
			v.SorryServer.Inhibit = true
		}),
		"sorry_server_lvs_method": kw(func(d *decoder, n *node, v *vsrv) {
			if v.SorryServer == nil {
				d.errorf(n.pos, "sorry_server_lvs_method before or without sorry_server")
				return
			}
			if m, t, ok := d.lvsMethod(n); ok {
				v.SorryServer.Method, v.SorryServer.Tunnel = m, t
			}
		}),
		"inhibit_on_failure": kw(setBool(func(v *vsrv) *bool { return &v.InhibitOnFailure })),
		"real_server":        blk(decodeRealServer),
	}),
	aliases: mergeAliases(timingAliases, map[string]string{
		"lb_algo": "lvs_sched",
		"lb_kind": "lvs_method",
	}),
}

func mergeAliases(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// solidMask reports whether an IPv4 netmask is contiguous ones.
func solidMask(m netip.Addr) bool {
	b := m.As4()
	v := binary.BigEndian.Uint32(b[:])
	return v != 0 && ^v&(^v+1) == 0
}

// lvsMethod reads "NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]".
func (d *decoder) lvsMethod(n *node) (ForwardMethod, Tunnel, bool) {
	a := n.args()
	var t Tunnel
	if len(a) == 0 {
		d.errorf(n.pos, "%s: missing value", n.keyword())
		return 0, t, false
	}
	switch a[0] {
	case "NAT":
		if len(a) > 1 {
			d.warnf(n.pos, "%s NAT: extra values %q ignored", n.keyword(), strings.Join(a[1:], " "))
		}
		return ForwardNAT, t, true
	case "DR":
		if len(a) > 1 {
			d.warnf(n.pos, "%s DR: extra values %q ignored", n.keyword(), strings.Join(a[1:], " "))
		}
		return ForwardDR, t, true
	case "TUN":
	default:
		d.errorf(n.pos, "%s %s: not NAT, DR or TUN", n.keyword(), a[0])
		return 0, t, false
	}
	for i := 1; i < len(a); i++ {
		switch a[i] {
		case "type":
			if i+1 >= len(a) {
				d.errorf(n.pos, "%s TUN: type needs a value", n.keyword())
				return 0, t, false
			}
			i++
			switch a[i] {
			case "ipip", "gre":
				t.Type = a[i]
			case "gue":
				t.Type = "gue"
				if i+2 >= len(a) || a[i+1] != "port" {
					d.errorf(n.pos, "%s TUN type gue: needs port N", n.keyword())
					return 0, t, false
				}
				p, ok := d.parseInt(n.pos, n.keyword()+" TUN type gue port", a[i+2], 1, 65535)
				if !ok {
					return 0, t, false
				}
				t.Port = uint16(p)
				i += 2
			default:
				d.errorf(n.pos, "%s TUN: type %s is not ipip, gue or gre", n.keyword(), a[i])
				return 0, t, false
			}
		case "nocsum", "csum", "remcsum":
			if t.Type == "gre" && a[i] == "remcsum" {
				d.errorf(n.pos, "%s TUN type gre: remcsum is not supported", n.keyword())
				return 0, t, false
			}
			t.Checksum = a[i]
		default:
			d.errorf(n.pos, "%s TUN: unknown option %q", n.keyword(), a[i])
			return 0, t, false
		}
	}
	if t.Checksum != "" && t.Type != "gue" && t.Type != "gre" {
		d.errorf(n.pos, "%s TUN: %s needs type gue or gre", n.keyword(), t.Checksum)
		return 0, t, false
	}
	return ForwardTUN, t, true
}

func decodeVirtualServer(d *decoder, n *node, c *Config) {
	a := n.args()
	v := VirtualServer{Pos: n.pos}
	switch {
	case len(a) == 0:
		d.errorf(n.pos, "virtual_server: missing address, fwmark or group")
		return
	case a[0] == "fwmark":
		if len(a) != 2 {
			d.errorf(n.pos, "virtual_server fwmark: want fwmark N")
			return
		}
		m, ok := d.parseInt(n.pos, "virtual_server fwmark", a[1], 1, 1<<32-1)
		if !ok {
			return
		}
		v.Kind, v.FWMark = VSFWMark, uint32(m)
	case a[0] == "group":
		if len(a) != 2 {
			d.errorf(n.pos, "virtual_server group: want group NAME")
			return
		}
		v.Kind, v.Group = VSGroup, a[1]
	default:
		if len(a) > 2 {
			d.errorf(n.pos, "virtual_server: want ADDRESS [PORT], fwmark N or group NAME")
			return
		}
		addr, ok := d.parseAddr(n.pos, "virtual_server", a[0])
		if !ok {
			return
		}
		v.Kind, v.Addr = VSAddr, addr
		if len(a) == 2 {
			if v.Port, ok = d.parsePort(n.pos, "virtual_server port", a[1]); !ok {
				return
			}
		}
	}
	defer d.enter("virtual_server " + v.Name())()
	decodeBlock(d, &virtualServerSpec, "virtual_server", n.children, &v)
	c.VirtualServers = append(c.VirtualServers, v)
}

// Name is how keepalived names a virtual server in messages:
// "ADDR:PORT" ("[ADDR]:PORT" for IPv6), "fwmark N" or "group NAME".
func (v *VirtualServer) Name() string {
	switch v.Kind {
	case VSFWMark:
		return "fwmark " + strconv.FormatUint(uint64(v.FWMark), 10)
	case VSGroup:
		return "group " + v.Group
	}
	return hostPort(v.Addr, v.Port)
}

func hostPort(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// ---- real_server -------------------------------------------------------

type rsrv = RealServer

var realServerSpec = blockSpec[rsrv]{
	kws: mergeEntries(timingEntries(func(r *rsrv) *CheckTiming { return &r.CheckTiming }), map[string]entry[rsrv]{
		"weight": kw(setInt(func(r *rsrv) *int { return &r.Weight }, 0, 65535)),
		"lvs_method": kw(func(d *decoder, n *node, r *rsrv) {
			if m, t, ok := d.lvsMethod(n); ok {
				r.Method, r.Tunnel = m, t
			}
		}),
		"notify_up":   kw(setNotify(func(r *rsrv) **Script { return &r.NotifyUp })),
		"notify_down": kw(setNotify(func(r *rsrv) **Script { return &r.NotifyDown })),
		"uthreshold": kw(func(d *decoder, n *node, r *rsrv) {
			if x, ok := d.intArg(n, 0, 1<<32-1); ok {
				r.UThreshold = uint32(x)
			}
		}),
		"lthreshold": kw(func(d *decoder, n *node, r *rsrv) {
			if x, ok := d.intArg(n, 0, 1<<32-1); ok {
				r.LThreshold = uint32(x)
			}
		}),
		"smtp_alert":         kw(setBool(func(r *rsrv) *bool { return &r.SMTPAlert })),
		"virtualhost":        kw(setString(func(r *rsrv) *string { return &r.Virtualhost })),
		"snmp_name":          kw(setString(func(r *rsrv) *string { return &r.SNMPName })),
		"alpha":              kw(setBool(func(r *rsrv) *bool { return &r.Alpha })),
		"inhibit_on_failure": kw(setBool(func(r *rsrv) *bool { return &r.InhibitOnFailure })),
		"TCP_CHECK":          blk(checkerHandler(CheckTCP)),
		"HTTP_GET":           blk(checkerHandler(CheckHTTP)),
		"SSL_GET":            blk(checkerHandler(CheckSSL)),
		"MISC_CHECK":         blk(checkerHandler(CheckMisc)),
		"SMTP_CHECK":         blk(checkerHandler(CheckSMTP)),
		"DNS_CHECK":          blk(checkerHandler(CheckDNS)),
		"UDP_CHECK":          blk(checkerHandler(CheckUDP)),
		"PING_CHECK":         blk(checkerHandler(CheckPing)),
		"FILE_CHECK":         blk(checkerHandler(CheckFile)),
		"BFD_CHECK":          blk(checkerHandler(CheckBFD)),
	}),
	aliases: timingAliases,
}

func decodeRealServer(d *decoder, n *node, v *vsrv) {
	a := n.args()
	if len(a) == 0 || len(a) > 2 {
		d.errorf(n.pos, "real_server: want ADDRESS [PORT]")
		return
	}
	addr, ok := d.parseAddr(n.pos, "real_server", a[0])
	if !ok {
		return
	}
	r := RealServer{Pos: n.pos, Addr: addr}
	if len(a) == 2 {
		if r.Port, ok = d.parsePort(n.pos, "real_server port", a[1]); !ok {
			return
		}
	}
	defer d.enter(d.ctx + ": real_server " + hostPort(r.Addr, r.Port))()
	decodeBlock(d, &realServerSpec, "virtual_server.real_server", n.children, &r)
	v.RealServers = append(v.RealServers, r)
}

// ---- checkers ----------------------------------------------------------

type chk = Checker

var connEntries = map[string]entry[chk]{
	"connect_ip": kw(setAddr(func(c *chk) *netip.Addr { return &c.ConnectIP })),
	"connect_port": kw(func(d *decoder, n *node, c *chk) {
		if s, ok := d.arg(n); ok {
			c.ConnectPort, _ = d.parsePort(n.pos, "connect_port", s)
		}
	}),
	"bindto":  kw(setAddr(func(c *chk) *netip.Addr { return &c.BindTo })),
	"bind_if": kw(setString(func(c *chk) *string { return &c.BindIf })),
	"bind_port": kw(func(d *decoder, n *node, c *chk) {
		if s, ok := d.arg(n); ok {
			c.BindPort, _ = d.parsePort(n.pos, "bind_port", s)
		}
	}),
	"fwmark": kw(func(d *decoder, n *node, c *chk) {
		if x, ok := d.intArg(n, 0, 1<<32-1); ok {
			c.FWMark = uint32(x)
		}
	}),
}

var checkerTimingEntries = mergeEntries(timingEntries(func(c *chk) *CheckTiming { return &c.CheckTiming }), map[string]entry[chk]{
	"alpha":            kw(setBool(func(c *chk) *bool { return &c.Alpha })),
	"log_all_failures": kw(setBool(func(c *chk) *bool { return &c.LogAllFailures })),
})

var httpEntries = map[string]entry[chk]{
	"http_protocol": kw(func(d *decoder, n *node, c *chk) {
		s, ok := d.arg(n)
		if !ok {
			return
		}
		switch s {
		case "1.0", "1.0C", "1.1":
			c.HTTP.Protocol = s
		case "1.0c":
			c.HTTP.Protocol = "1.0C"
		default:
			d.errorf(n.pos, "http_protocol %s: not 1.0, 1.0C or 1.1", s)
		}
	}),
	"fast_recovery": kw(setBool(func(c *chk) *bool { return &c.HTTP.FastRecovery })),
	"virtualhost":   kw(setString(func(c *chk) *string { return &c.HTTP.Virtualhost })),
	"url":           blk(decodeURL),
}

var checkerSpecs = map[CheckerType]*blockSpec[chk]{
	CheckTCP:  {kws: mergeEntries(connEntries, checkerTimingEntries), aliases: timingAliases},
	CheckPing: {kws: mergeEntries(connEntries, checkerTimingEntries), aliases: timingAliases},
	CheckHTTP: {kws: mergeEntries(connEntries, checkerTimingEntries, httpEntries), aliases: timingAliases},
	CheckSSL: {kws: mergeEntries(connEntries, checkerTimingEntries, httpEntries, map[string]entry[chk]{
		"enable_sni": kw(setFlag(func(c *chk) *bool { return &c.HTTP.EnableSNI })),
	}), aliases: timingAliases},
	CheckSMTP: {kws: mergeEntries(connEntries, checkerTimingEntries, map[string]entry[chk]{
		"helo_name": kw(func(d *decoder, n *node, c *chk) {
			if s, ok := d.joinedArg(n); ok {
				c.SMTP.HeloName = s
			}
		}),
		"host": blk(decodeSMTPHost),
	}), aliases: timingAliases},
	CheckDNS: {kws: mergeEntries(connEntries, checkerTimingEntries, map[string]entry[chk]{
		"type": kw(func(d *decoder, n *node, c *chk) {
			s, ok := d.arg(n)
			if !ok {
				return
			}
			switch t := strings.ToUpper(s); t {
			case "A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA":
				c.DNS.Type = t
			default:
				d.errorf(n.pos, "type %s: not A, NS, CNAME, SOA, MX, TXT or AAAA", s)
			}
		}),
		"name": kw(setString(func(c *chk) *string { return &c.DNS.Name })),
	}), aliases: timingAliases},
	CheckUDP: {kws: mergeEntries(connEntries, checkerTimingEntries, map[string]entry[chk]{
		"payload": kw(func(d *decoder, n *node, c *chk) {
			b, ok := d.hexArg(n, false)
			if ok {
				c.UDP.Payload = []byte(b)
			}
		}),
		"require_reply": kw(func(d *decoder, n *node, c *chk) {
			c.UDP.RequireReply = true
			if len(n.args()) > 0 {
				if p, ok := d.hexArg(n, true); ok {
					c.UDP.ReplyPattern = p
				}
			}
		}),
		"min_reply_length": kw(setInt(func(c *chk) *int { return &c.UDP.MinReplyLength }, 0, 65535)),
		"max_reply_length": kw(setInt(func(c *chk) *int { return &c.UDP.MaxReplyLength }, 0, 65535)),
	}), aliases: timingAliases},
	CheckMisc: {kws: mergeEntries(checkerTimingEntries, map[string]entry[chk]{
		"misc_path": kw(func(d *decoder, n *node, c *chk) {
			user, group := "", ""
			if c.Misc.Path != nil {
				user, group = c.Misc.Path.User, c.Misc.Path.Group
			}
			if s := d.commandScript(n); s != nil {
				s.User, s.Group = user, group
				c.Misc.Path = s
			}
		}),
		"misc_timeout": kw(func(d *decoder, n *node, c *chk) {
			if x, ok := d.timerArg(n, time.Microsecond, maxTimer); ok {
				c.Misc.Timeout = x
			}
		}),
		"misc_dynamic": kw(setFlag(func(c *chk) *bool { return &c.Misc.Dynamic })),
		"user": kw(func(d *decoder, n *node, c *chk) {
			u, g, ok := d.userGroup(n)
			if !ok {
				return
			}
			if c.Misc.Path == nil {
				c.Misc.Path = &Script{}
			}
			c.Misc.Path.User, c.Misc.Path.Group = u, g
		}),
	}), aliases: timingAliases},
	CheckFile: {kws: map[string]entry[chk]{
		"track_file": kw(setString(func(c *chk) *string { return &c.File.TrackFile })),
		"dynamic":    kw(setFlag(func(c *chk) *bool { return &c.File.Dynamic })),
		"weight": kw(func(d *decoder, n *node, c *chk) {
			c.File.Weight, c.File.Reverse, _ = d.weightReverse(n, 1<<31-1)
		}),
	}},
	CheckBFD: {kws: map[string]entry[chk]{
		"name": kw(setString(func(c *chk) *string { return &c.BFD.Name })),
	}},
}

func checkerHandler(t CheckerType) handler[rsrv] {
	return func(d *decoder, n *node, r *rsrv) {
		c := Checker{Pos: n.pos, Type: t}
		switch t {
		case CheckHTTP, CheckSSL:
			c.HTTP = &HTTPCheck{}
		case CheckSMTP:
			c.SMTP = &SMTPCheck{}
		case CheckDNS:
			c.DNS = &DNSCheck{}
		case CheckMisc:
			c.Misc = &MiscCheck{}
		case CheckUDP:
			c.UDP = &UDPCheck{}
		case CheckFile:
			c.File = &FileCheck{}
		case CheckBFD:
			c.BFD = &BFDCheck{}
		}
		if len(n.args()) > 0 {
			d.warnf(n.pos, "%s: extra values %q ignored", n.keyword(), strings.Join(n.args(), " "))
		}
		restore := d.enter(d.ctx + ": " + t.String())
		decodeBlock(d, checkerSpecs[t], "virtual_server.real_server."+t.String(), n.children, &c)
		restore()
		if t == CheckMisc && (c.Misc.Path == nil || c.Misc.Path.Cmd == "") {
			d.errorf(n.pos, "MISC_CHECK without misc_path")
			return
		}
		if t == CheckFile && c.File.TrackFile == "" {
			d.errorf(n.pos, "FILE_CHECK without track_file")
			return
		}
		if t == CheckBFD && c.BFD.Name == "" {
			d.errorf(n.pos, "BFD_CHECK without name")
			return
		}
		if (t == CheckHTTP || t == CheckSSL) && len(c.HTTP.URLs) == 0 {
			d.errorf(n.pos, "%s without url", t)
			return
		}
		r.Checkers = append(r.Checkers, c)
	}
}

// hexArg reads keepalived's free-format HEX_STR: the words are joined;
// each word is split into bytes from its start, a trailing odd digit being
// one byte on its own ("Ab12f 3" is AB 12 0F 03). With pattern, 'X'
// nibbles (ignored when matching) are allowed, and the result is the
// normalised pattern text; otherwise it is the raw bytes.
func (d *decoder) hexArg(n *node, pattern bool) (string, bool) {
	if len(n.args()) == 0 {
		d.errorf(n.pos, "%s: missing hex string", n.keyword())
		return "", false
	}
	var bytesOut []byte
	var pat strings.Builder
	for _, w := range n.args() {
		for i := 0; i < len(w); i += 2 {
			pair := w[i:min(i+2, len(w))]
			if len(pair) == 1 {
				pair = "0" + pair
			}
			for _, ch := range []byte(pair) {
				ok := ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F' || pattern && (ch == 'x' || ch == 'X')
				if !ok {
					d.errorf(n.pos, "%s %s: not a hex string", n.keyword(), strings.Join(n.args(), " "))
					return "", false
				}
			}
			if pattern {
				pat.WriteString(strings.ToUpper(pair))
				continue
			}
			b, _ := strconv.ParseUint(pair, 16, 8)
			bytesOut = append(bytesOut, byte(b))
		}
	}
	if pattern {
		return pat.String(), true
	}
	return string(bytesOut), true
}

var urlSpec = blockSpec[URL]{kws: map[string]entry[URL]{
	"path": kw(setString(func(u *URL) *string { return &u.Path })),
	"digest": kw(func(d *decoder, n *node, u *URL) {
		s, ok := d.arg(n)
		if !ok {
			return
		}
		if len(s) != 32 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "" {
			d.errorf(n.pos, "digest %s: not an MD5 digest (32 hex digits)", s)
			return
		}
		u.Digest = strings.ToLower(s)
	}),
	"status_code": kw(func(d *decoder, n *node, u *URL) {
		if len(n.args()) == 0 {
			d.errorf(n.pos, "status_code: missing value")
			return
		}
		var codes []StatusRange
		for _, s := range n.args() {
			lo, hi, isRange := strings.Cut(s, "-")
			a, ok := d.parseInt(n.pos, "status_code", lo, 100, 999)
			if !ok {
				return
			}
			b := a
			if isRange {
				if b, ok = d.parseInt(n.pos, "status_code", hi, 100, 999); !ok {
					return
				}
				if b < a {
					d.errorf(n.pos, "status_code %s: range is backwards", s)
					return
				}
			}
			codes = append(codes, StatusRange{Lo: int(a), Hi: int(b)})
		}
		u.StatusCodes = codes
	}),
	"virtualhost":    kw(setString(func(u *URL) *string { return &u.Virtualhost })),
	"regex":          kw(func(d *decoder, n *node, u *URL) { u.Regex, _ = d.joinedArg(n) }),
	"regex_no_match": kw(setFlag(func(u *URL) *bool { return &u.RegexNoMatch })),
	"regex_options": kw(func(d *decoder, n *node, u *URL) {
		u.RegexOptions = append([]string(nil), n.args()...)
	}),
	"regex_stack": kw(func(d *decoder, n *node, u *URL) {
		a := n.args()
		if len(a) != 2 {
			d.errorf(n.pos, "regex_stack: want START MAX")
			return
		}
		s, ok1 := d.parseInt(n.pos, "regex_stack", a[0], 0, 1<<31-1)
		m, ok2 := d.parseInt(n.pos, "regex_stack", a[1], 0, 1<<31-1)
		if ok1 && ok2 {
			u.RegexStackStart, u.RegexStackMax = int(s), int(m)
		}
	}),
	"regex_min_offset": kw(setInt(func(u *URL) *int { return &u.RegexMinOffset }, 0, 1<<31-1)),
	"regex_max_offset": kw(setInt(func(u *URL) *int { return &u.RegexMaxOffset }, 0, 1<<31-1)),
}}

func decodeURL(d *decoder, n *node, c *chk) {
	u := URL{Pos: n.pos}
	decodeBlock(d, &urlSpec, "virtual_server.real_server."+c.Type.String()+".url", n.children, &u)
	if u.Path == "" {
		d.errorf(n.pos, "url without path")
		return
	}
	c.HTTP.URLs = append(c.HTTP.URLs, u)
}

var smtpHostSpec = blockSpec[SMTPHost]{kws: map[string]entry[SMTPHost]{
	"connect_ip": kw(setAddr(func(h *SMTPHost) *netip.Addr { return &h.ConnectIP })),
	"connect_port": kw(func(d *decoder, n *node, h *SMTPHost) {
		if s, ok := d.arg(n); ok {
			h.ConnectPort, _ = d.parsePort(n.pos, "connect_port", s)
		}
	}),
	"bindto":  kw(setAddr(func(h *SMTPHost) *netip.Addr { return &h.BindTo })),
	"bind_if": kw(setString(func(h *SMTPHost) *string { return &h.BindIf })),
	"bind_port": kw(func(d *decoder, n *node, h *SMTPHost) {
		if s, ok := d.arg(n); ok {
			h.BindPort, _ = d.parsePort(n.pos, "bind_port", s)
		}
	}),
	"fwmark": kw(func(d *decoder, n *node, h *SMTPHost) {
		if x, ok := d.intArg(n, 0, 1<<32-1); ok {
			h.FWMark = uint32(x)
		}
	}),
}}

func decodeSMTPHost(d *decoder, n *node, c *chk) {
	h := SMTPHost{Pos: n.pos}
	decodeBlock(d, &smtpHostSpec, "virtual_server.real_server.SMTP_CHECK.host", n.children, &h)
	c.SMTP.Hosts = append(c.SMTP.Hosts, h)
}

// ---- virtual_server_group ----------------------------------------------

func decodeVSGroup(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	defer d.enter("virtual_server_group " + name)()
	g := VirtualServerGroup{Pos: n.pos, Name: name}
	for _, e := range n.children {
		if e.block {
			d.errorf(e.pos, "unexpected { } block")
			continue
		}
		if ent, ok := d.parseVSGEntry(e); ok {
			g.Entries = append(g.Entries, ent)
		}
	}
	if len(g.Entries) == 0 {
		d.warnf(n.pos, "no entries; keepalived removes the group")
	}
	c.VirtualServerGroups = append(c.VirtualServerGroups, g)
}

// parseVSGEntry reads "ADDR[-LAST] [PORT]", "ADDR/LEN [PORT]" or
// "fwmark N [inet|inet6]".
func (d *decoder) parseVSGEntry(n *node) (VSGEntry, bool) {
	w := n.words
	e := VSGEntry{Pos: n.pos}
	if w[0] == "fwmark" {
		if len(w) < 2 || len(w) > 3 {
			d.errorf(n.pos, "fwmark: want fwmark N [inet|inet6]")
			return e, false
		}
		m, ok := d.parseInt(n.pos, "fwmark", w[1], 1, 1<<32-1)
		if !ok {
			return e, false
		}
		e.IsFWMark, e.FWMark = true, uint32(m)
		if len(w) == 3 {
			switch w[2] {
			case "inet":
				e.Family = FamilyIPv4
			case "inet6":
				e.Family = FamilyIPv6
			default:
				d.errorf(n.pos, "fwmark %s %s: not inet or inet6", w[1], w[2])
				return e, false
			}
		}
		return e, true
	}
	if len(w) > 2 {
		d.errorf(n.pos, "%s: want ADDRESS[-RANGE] [PORT]", w[0])
		return e, false
	}
	first, last, ok := parseAddrRange(w[0])
	if !ok {
		d.errorf(n.pos, "%s: not an address, address range or prefix", w[0])
		return e, false
	}
	e.First, e.Last, e.Family = first, last, familyOf(first)
	if len(w) == 2 {
		if e.Port, ok = d.parsePort(n.pos, w[0]+" port", w[1]); !ok {
			return e, false
		}
	}
	return e, true
}

// parseAddrRange reads A.B.C.D, A.B.C.D-E (last octet; last hex group for
// IPv6), A-B (two full addresses) or A/N (the prefix's addresses).
func parseAddrRange(s string) (first, last netip.Addr, ok bool) {
	if strings.Contains(s, "/") {
		p, err := parsePrefixQuiet(s)
		if err != nil {
			return first, last, false
		}
		p = p.Masked()
		first = p.Addr()
		last = lastInPrefix(p)
		return first, last, true
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := netip.ParseAddr(lo)
	if err != nil || a.Zone() != "" {
		return first, last, false
	}
	if !isRange {
		return a, a, true
	}
	if b, err := netip.ParseAddr(hi); err == nil && b.Zone() == "" {
		if b.BitLen() != a.BitLen() || b.Less(a) {
			return first, last, false
		}
		return a, b, true
	}
	if a.Is4() {
		v, err := strconv.ParseUint(hi, 10, 8)
		b4 := a.As4()
		if err != nil || byte(v) < b4[3] {
			return first, last, false
		}
		b4[3] = byte(v)
		return a, netip.AddrFrom4(b4), true
	}
	v, err := strconv.ParseUint(hi, 16, 16)
	b16 := a.As16()
	cur := uint64(b16[14])<<8 | uint64(b16[15])
	if err != nil || v < cur {
		return first, last, false
	}
	b16[14], b16[15] = byte(v>>8), byte(v)
	return a, netip.AddrFrom16(b16), true
}

func lastInPrefix(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ---- SSL ---------------------------------------------------------------

var sslSpec = blockSpec[SSLConfig]{kws: map[string]entry[SSLConfig]{
	"password":    kw(setString(func(s *SSLConfig) *string { return &s.Password })),
	"ca":          kw(setString(func(s *SSLConfig) *string { return &s.CA })),
	"certificate": kw(setString(func(s *SSLConfig) *string { return &s.Certificate })),
	"key":         kw(setString(func(s *SSLConfig) *string { return &s.Key })),
}}

func decodeSSL(d *decoder, n *node, c *Config) {
	if c.SSL != nil {
		d.warnf(n.pos, "SSL given twice; the last one is used")
	}
	s := SSLConfig{Pos: n.pos}
	decodeBlock(d, &sslSpec, "SSL", n.children, &s)
	c.SSL = &s
}
