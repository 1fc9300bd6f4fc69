package labrun

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

func TestRunnerFatalAndCleanups(t *testing.T) {
	r, err := NewRunner(nil)
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	var dir string
	err = r.Run(func() error {
		dir = r.TempDir()
		r.Cleanup(func() { order = append(order, 1) })
		r.Cleanup(func() { order = append(order, 2) })
		r.Fatalf("stop here: %d", 42)
		order = append(order, 99) // not reached
		return nil
	})
	if err == nil || err.Error() != "stop here: 42" {
		t.Errorf("Run = %v, want the Fatalf message", err)
	}
	if !slices.Equal(order, []int{2, 1}) {
		t.Errorf("cleanups ran %v, want [2 1]", order)
	}
	if !r.Failed() {
		t.Error("not failed after Fatalf")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s still there (%v)", dir, err)
	}
	// Close again, and a cleanup registered after Close, run at once.
	r.Close()
	ran := false
	r.Cleanup(func() { ran = true })
	if !ran {
		t.Error("cleanup after Close did not run")
	}
}

func TestRunnerPanic(t *testing.T) {
	r, err := NewRunner(nil)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Run(func() error { panic("boom") })
	if err == nil || !strings.HasPrefix(err.Error(), "panic: boom") {
		t.Errorf("Run = %v", err)
	}
}

// TestPairProbe: the pair's client reaches whichever node holds the VIP,
// and the prober tells which.
func TestPairProbe(t *testing.T) {
	testutil.RequireRoot(t)
	r, err := NewRunner(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	var prefix string
	err = r.Run(func() error {
		p := NewPair(r)
		prefix = p.Lab.Prefix()
		pr := p.Probe(r, VIP, time.Millisecond)
		p.N1.AddAddr("eth0", VIP+"/24")
		if _, err := pr.WaitFrom("n1", time.Now(), 10*time.Second); err != nil {
			return err
		}
		p.N1.DelAddr("eth0", VIP+"/24")
		p.N2.AddAddr("eth0", VIP+"/24")
		// No gratuitous ARP here: the client forgets n1's MAC.
		p.Client.MustRun("ip", "neigh", "flush", "dev", "eth0")
		t0 := time.Now()
		if _, err := pr.WaitFrom("n2", t0, 30*time.Second); err != nil {
			return err
		}
		for _, x := range pr.Since(t0) {
			if x.From != "n1" && x.From != "n2" {
				t.Errorf("reply from %q", x.From)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The lab is gone.
	ents, _ := os.ReadDir(netns.NetnsDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			t.Errorf("namespace %s left after Run", e.Name())
		}
	}
}
