package daemon

import (
	"fmt"
	"testing"
)

// The receive buffer shares of vrrp_rx_bufs_policy and
// kernel_rx_buf_size, as keepalived sums them per socket.
func TestRxBufShare(t *testing.T) {
	const inst = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  %s
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101/24
  }
}
`
	tests := []struct {
		name, global, extra string
		mtu, want           int
	}{
		{"no policy", "", "", 1500, 0},
		{"kernel_rx_buf_size alone", "", "kernel_rx_buf_size 7000", 1500, 7000},
		{"MTU, default multiplier 3", "vrrp_rx_bufs_policy MTU", "", 1500, 4500},
		{"MTU x 4", "vrrp_rx_bufs_policy MTU\n vrrp_rx_bufs_multiplier 4", "", 9000, 36000},
		{"MTU, kernel_rx_buf_size wins", "vrrp_rx_bufs_policy MTU", "kernel_rx_buf_size 7000", 1500, 7000},
		// v2 IPv4: 20 IP + 8 VRRP + 8 auth + 2 x 4 = 44.
		{"ADVERT v2", "vrrp_rx_bufs_policy ADVERT", "", 1500, 3 * 44},
		// v3 IPv4: 20 + 8 + 2 x 4 = 36.
		{"ADVERT v3 x 2", "vrrp_rx_bufs_policy ADVERT\n vrrp_rx_bufs_multiplier 2", "version 3", 1500, 2 * 36},
		{"NUMBER", "vrrp_rx_bufs_policy 20000", "", 1500, 20000},
		{"NUMBER, kernel_rx_buf_size wins", "vrrp_rx_bufs_policy 20000", "kernel_rx_buf_size 7000", 1500, 7000},
	}
	for _, tt := range tests {
		text := "global_defs {\n " + tt.global + "\n}\n" + fmt.Sprintf(inst, tt.extra)
		tr := translate(t, text)
		if len(tr.Plans) != 1 {
			t.Fatalf("%s: plans %d, refused %+v, fatal %q", tt.name, len(tr.Plans), tr.Refused, tr.Fatal)
		}
		if got := rxBufShare(tr.RxBufs, &tr.Plans[0], tt.mtu); got != tt.want {
			t.Errorf("%s: share %d, want %d (policy %+v)", tt.name, got, tt.want, tr.RxBufs)
		}
	}
}

// TestAdvertLenIPv6: the VRRP header and 16 bytes per VIP (no IPv6
// header: the raw socket does not deliver it).
func TestAdvertLenIPv6(t *testing.T) {
	p := onePlan(t, `vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 51
  version 3
  virtual_ipaddress {
    2001:db8::100/64
    2001:db8::101/64
    2001:db8::102/64
  }
}
`)
	if got := advertLen(&p.Config); got != 8+3*16 {
		t.Errorf("advert length %d, want %d", got, 8+3*16)
	}
}

// The name lbd takes: vrrp_process_name, then process_name, then
// process_names' keepalived_vrrp; none: its own.
func TestProcessName(t *testing.T) {
	tests := []struct{ global, want string }{
		{"", ""},
		{"process_names", "keepalived_vrrp"},
		{"process_names\n process_name lb", "lb"},
		{"process_name lb\n vrrp_process_name lb_vrrp", "lb_vrrp"},
		{"checker_process_name chk", ""},
	}
	for _, tt := range tests {
		tr := translate(t, "global_defs {\n "+tt.global+"\n}\n")
		if tr.ProcessName != tt.want {
			t.Errorf("global_defs %q: process name %q, want %q", tt.global, tr.ProcessName, tt.want)
		}
	}
}
