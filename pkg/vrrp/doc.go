// Package vrrp implements VRRP (RFC 3768 version 2 and RFC 5798 version 3,
// IPv4 and IPv6) with keepalived's behaviour where the RFCs leave room:
// the advertisement codec, receive validation, the per-instance state
// machine, and the runtime that drives it over sockets and netlink.
package vrrp
