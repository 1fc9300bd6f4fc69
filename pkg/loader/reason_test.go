package loader

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/lbdproject/lbd/pkg/vrrp"
)

// TestReasonsMirrorVRRP checks the one-name-per-reason contract: the C enum
// (from the object's BTF), this package's names and pkg/vrrp's Reason have
// the same numbers and names, and VRRP_R_MAX is their count.
func TestReasonsMirrorVRRP(t *testing.T) {
	if NumReasons != int(vrrp.NumReasons) {
		t.Fatalf("loader has %d reasons, pkg/vrrp %d: append VRRP_R_* to bpf/vrrp.h and make generate", NumReasons, vrrp.NumReasons)
	}
	for i := 0; i < NumReasons; i++ {
		if got, want := Reason(i).String(), vrrp.Reason(i).String(); got != want {
			t.Errorf("reason %d: loader %q, pkg/vrrp %q", i, got, want)
		}
	}

	spec, err := loadBpf()
	if err != nil {
		t.Fatal(err)
	}
	var enum *btf.Enum
	if err := spec.Types.TypeByName("vrrp_reason", &enum); err != nil {
		t.Fatal(err)
	}
	for _, v := range enum.Values {
		name, ok := strings.CutPrefix(v.Name, "VRRP_R_")
		if !ok {
			t.Errorf("C reason %s lacks the VRRP_R_ prefix", v.Name)
			continue
		}
		if name == "MAX" {
			if int(v.Value) != NumReasons {
				t.Errorf("VRRP_R_MAX = %d, want %d", v.Value, NumReasons)
			}
			continue
		}
		if int(v.Value) >= NumReasons {
			t.Errorf("C reason %s = %d beyond pkg/vrrp's %d reasons", v.Name, v.Value, NumReasons)
			continue
		}
		if want := strings.ToUpper(vrrp.Reason(v.Value).String()); name != want {
			t.Errorf("C reason %d is VRRP_R_%s, pkg/vrrp calls it %q", v.Value, name, vrrp.Reason(v.Value).String())
		}
	}
	if len(enum.Values) != NumReasons+1 {
		t.Errorf("C enum has %d values, want %d reasons + VRRP_R_MAX", len(enum.Values), NumReasons)
	}
}
