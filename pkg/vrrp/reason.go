package vrrp

// Reason names why a received VRRP packet was rejected. One name serves the
// Go receive path, the XDP program (bpf/vrrp.h: enum vrrp_reason, same
// numbering), logs (key "reason") and the metric label of
// lbd_vrrp_packets_dropped_total. Numbering is part of the BPF contract:
// append only.
type Reason uint8

const (
	ReasonNone             Reason = iota // accepted
	ReasonPacketLen                      // truncated, or lengths disagree
	ReasonIPTTL                          // IPv4 TTL or IPv6 hop limit not 255 (RFC 3768 7.1, RFC 5798 7.1)
	ReasonVersion                        // VRRP version not the instance's
	ReasonInvalidType                    // type is not 1 (ADVERTISEMENT)
	ReasonChecksum                       // VRRP checksum wrong (v3: with pseudo-header)
	ReasonVRIDUnknown                    // no instance for this VRID on this interface
	ReasonInvalidAuthType                // v2 auth type unknown
	ReasonAuthTypeMismatch               // v2 auth type differs from the instance's
	ReasonAuthFailure                    // v2 simple-text password differs
	ReasonAddrList                       // address count or list differs from the configured VIPs
	ReasonAdvertInterval                 // v2 advert interval differs from the instance's
	ReasonSenderNotAllowed               // source not a unicast peer / not in the allow-list
	ReasonFamily                         // address family differs from the instance's
	ReasonOwnAddress                     // our own advert looped back
	ReasonFragment                       // IP fragment (left to the kernel to reassemble)
	ReasonProtocol                       // IPv4 protocol / IPv6 next header is not VRRP (112)

	NumReasons // number of reasons; not a reason
)

var reasonNames = [NumReasons]string{
	ReasonNone:             "none",
	ReasonPacketLen:        "packet_len",
	ReasonIPTTL:            "ip_ttl",
	ReasonVersion:          "version",
	ReasonInvalidType:      "invalid_type",
	ReasonChecksum:         "checksum",
	ReasonVRIDUnknown:      "vrid_unknown",
	ReasonInvalidAuthType:  "invalid_authtype",
	ReasonAuthTypeMismatch: "authtype_mismatch",
	ReasonAuthFailure:      "auth_failure",
	ReasonAddrList:         "addr_list",
	ReasonAdvertInterval:   "advert_interval",
	ReasonSenderNotAllowed: "sender_not_allowed",
	ReasonFamily:           "family",
	ReasonOwnAddress:       "own_address",
	ReasonFragment:         "fragment",
	ReasonProtocol:         "protocol",
}

// String returns the reason's metric label.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}
