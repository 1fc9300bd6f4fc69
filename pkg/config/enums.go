package config

import "strconv"

// Family is an address family.
type Family uint8

const (
	FamilyUnspec Family = iota
	FamilyIPv4
	FamilyIPv6
)

// String returns keepalived's spelling: "inet" or "inet6".
func (f Family) String() string {
	switch f {
	case FamilyUnspec:
		return ""
	case FamilyIPv4:
		return "inet"
	case FamilyIPv6:
		return "inet6"
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText prints String.
func (f Family) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// State is a VRRP instance's initial state (keyword state).
type State uint8

const (
	StateBackup State = iota // keepalived's default
	StateMaster
)

// String returns "BACKUP" or "MASTER".
func (s State) String() string {
	switch s {
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText prints String.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// AuthType is a VRRPv2 authentication type.
type AuthType uint8

const (
	AuthNone AuthType = iota
	AuthPass          // simple text password (RFC 2338 type 1)
	AuthAH            // IPsec AH (RFC 2338 type 2)
)

// String returns keepalived's spelling: "", "PASS" or "AH".
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return ""
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return "auth(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText prints String.
func (a AuthType) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// ForwardMethod is an LVS forwarding method (lb_kind / lvs_method).
type ForwardMethod uint8

const (
	ForwardNAT ForwardMethod = iota // keepalived's default
	ForwardDR
	ForwardTUN
)

// String returns "NAT", "DR" or "TUN".
func (m ForwardMethod) String() string {
	switch m {
	case ForwardNAT:
		return "NAT"
	case ForwardDR:
		return "DR"
	case ForwardTUN:
		return "TUN"
	}
	return "method(" + strconv.Itoa(int(m)) + ")"
}

// MarshalText prints String.
func (m ForwardMethod) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Protocol is a virtual service's L4 protocol.
type Protocol uint8

const (
	ProtoTCP Protocol = iota // keepalived's default
	ProtoUDP
	ProtoSCTP
)

// String returns "TCP", "UDP" or "SCTP".
func (p Protocol) String() string {
	switch p {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoSCTP:
		return "SCTP"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText prints String.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// VSKind says how a virtual_server names its service.
type VSKind uint8

const (
	VSAddr   VSKind = iota // virtual_server IP [PORT]
	VSFWMark               // virtual_server fwmark N
	VSGroup                // virtual_server group NAME
)

// String returns "addr", "fwmark" or "group".
func (k VSKind) String() string {
	switch k {
	case VSAddr:
		return "addr"
	case VSFWMark:
		return "fwmark"
	case VSGroup:
		return "group"
	}
	return "vskind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText prints String.
func (k VSKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// CheckerType is a real server health checker.
type CheckerType uint8

const (
	CheckTCP CheckerType = iota
	CheckHTTP
	CheckSSL
	CheckMisc
	CheckSMTP
	CheckDNS
	CheckUDP
	CheckPing
	CheckFile
	CheckBFD
)

var checkerNames = [...]string{
	CheckTCP:  "TCP_CHECK",
	CheckHTTP: "HTTP_GET",
	CheckSSL:  "SSL_GET",
	CheckMisc: "MISC_CHECK",
	CheckSMTP: "SMTP_CHECK",
	CheckDNS:  "DNS_CHECK",
	CheckUDP:  "UDP_CHECK",
	CheckPing: "PING_CHECK",
	CheckFile: "FILE_CHECK",
	CheckBFD:  "BFD_CHECK",
}

// String returns the checker's keyword, e.g. "HTTP_GET".
func (c CheckerType) String() string {
	if int(c) < len(checkerNames) {
		return checkerNames[c]
	}
	return "checker(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText prints String.
func (c CheckerType) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
