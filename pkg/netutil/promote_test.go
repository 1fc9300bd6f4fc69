package netutil

import (
	"testing"
)

// TestPromoteSecondaries: the first hold sets promote_secondaries, the
// last release restores 0, in the Host's namespace only; a value found at
// 1 is left at 1; and with it on, deleting the primary address keeps a
// secondary of the same subnet (promoted), as it exists for.
func TestPromoteSecondaries(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	key := "net/ipv4/conf/" + p.aName + "/promote_secondaries"
	if got := sysctl(t, p.a, key); got != "0" {
		t.Fatalf("%s = %s in a new namespace, want 0", key, got)
	}
	ps := NewPromoteSecondaries(h, nil)
	for range 2 {
		if err := ps.Hold(p.aName); err != nil {
			t.Fatal(err)
		}
	}
	if got := sysctl(t, p.a, key); got != "1" {
		t.Fatalf("%s = %s after Hold, want 1", key, got)
	}
	if got := sysctl(t, p.b, key); got != "0" {
		t.Fatalf("b's %s = %s: Hold wrote into the wrong namespace", key, got)
	}

	// What it is for: 192.0.2.1/24 is primary, the VIP a secondary.
	vip := Address{IfIndex: p.aIf.Index, Prefix: addrPrefix("192.0.2.100/24")}
	if err := h.AddAddr(vip); err != nil {
		t.Fatal(err)
	}
	if err := h.DelAddr(Address{IfIndex: p.aIf.Index, Prefix: addrPrefix("192.0.2.1/24")}); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.HasAddr(p.aIf.Index, vip.Prefix.Addr()); err != nil || !ok {
		t.Fatalf("secondary 192.0.2.100 after deleting the primary: present %v (%v), want promoted", ok, err)
	}

	if err := ps.Release(p.aName); err != nil {
		t.Fatal(err)
	}
	if got := sysctl(t, p.a, key); got != "1" {
		t.Fatalf("%s = %s with one hold left, want 1", key, got)
	}
	if err := ps.Release(p.aName); err != nil {
		t.Fatal(err)
	}
	if got := sysctl(t, p.a, key); got != "0" {
		t.Fatalf("%s = %s after the last release, want 0 restored", key, got)
	}

	// Found at 1: left at 1.
	setSysctl(t, p.a, key, "1")
	if err := ps.Hold(p.aName); err != nil {
		t.Fatal(err)
	}
	if err := ps.ReleaseAll(); err != nil {
		t.Fatal(err)
	}
	if got := sysctl(t, p.a, key); got != "1" {
		t.Fatalf("%s = %s: a value set by someone else was reset", key, got)
	}
	if err := ps.Hold("nosuch0"); err == nil {
		t.Fatal("Hold on a missing interface: no error")
	}
}

// TestPromoteSecondariesOffDeletesSecondaries is the kernel's behaviour
// the keyword exists for, without it: deleting the primary address
// deletes the secondaries of its subnet.
func TestPromoteSecondariesOffDeletesSecondaries(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	vip := Address{IfIndex: p.aIf.Index, Prefix: addrPrefix("192.0.2.100/24")}
	if err := h.AddAddr(vip); err != nil {
		t.Fatal(err)
	}
	if err := h.DelAddr(Address{IfIndex: p.aIf.Index, Prefix: addrPrefix("192.0.2.1/24")}); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.HasAddr(p.aIf.Index, vip.Prefix.Addr()); err != nil || ok {
		t.Fatalf("secondary 192.0.2.100 after deleting the primary without promote_secondaries: present %v (%v), want deleted", ok, err)
	}
}
