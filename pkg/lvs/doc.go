// Package lvs will own virtual and real servers, health checks and the
// scheduler tables (Maglev for XDP, IPVS as the fallback datapath). No issue
// has built it yet: the configuration model for virtual_server and the
// checkers lives in pkg/config today.
package lvs
