package loader

import (
	"errors"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/lbdproject/lbd/internal/testutil"
)

// TestVerifier loads every program of the object as the kernel sees it and
// logs the verifier's statistics. It is the test the tests/vm harness runs
// on Debian's 6.1 kernel; on the CI host it runs against 6.18.
func TestVerifier(t *testing.T) {
	testutil.RequireRoot(t)
	spec, err := loadBpf()
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats},
	})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			// Load again with the instruction log, for the reader.
			_, err = ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
				Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelInstruction, LogSizeStart: 1 << 26},
			})
			errors.As(err, &ve)
			log := ve.Log
			if len(log) > 60 {
				log = log[len(log)-60:]
			}
			t.Fatalf("verifier rejected the object: %v\n%s", err, strings.Join(log, "\n"))
		}
		t.Fatal(err)
	}
	defer coll.Close()
	for name, p := range coll.Programs {
		stats := strings.TrimSpace(p.VerifierLog)
		if i := strings.LastIndex(stats, "processed"); i >= 0 {
			stats = stats[i:]
		}
		t.Logf("%s (%s): %s", name, p.Type(), stats)
	}
	if len(coll.Programs) != len(spec.Programs) {
		t.Fatalf("loaded %d of %d programs", len(coll.Programs), len(spec.Programs))
	}
}
