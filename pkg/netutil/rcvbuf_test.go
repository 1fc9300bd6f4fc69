package netutil

import "testing"

// TestVRRPRecvBuffer: SetRecvBuffer sets SO_RCVBUF on the real socket;
// the kernel reports twice the size (socket(7)).
func TestVRRPRecvBuffer(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	c := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4})
	for _, n := range []int{3 * 1500, 10000} {
		if err := c.SetRecvBuffer(n); err != nil {
			t.Fatal(err)
		}
		got, err := c.RecvBuffer()
		if err != nil {
			t.Fatal(err)
		}
		if got != 2*n {
			t.Errorf("SO_RCVBUF %d after setting %d, want %d", got, n, 2*n)
		}
	}
	if err := c.SetRecvBuffer(0); err == nil {
		t.Error("SetRecvBuffer(0): no error")
	}
}
