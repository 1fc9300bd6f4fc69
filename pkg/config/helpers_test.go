package config

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testOpts reads includes from an empty in-memory FS, with a fixed config
// id and random seed, so that tests never touch the host.
func testOpts() Options {
	return Options{ConfigID: "node1", FS: fstest.MapFS{}, RandomSeed: 1}
}

// parse parses text as "test.conf" and returns the model and the
// diagnostics as strings, without the "not implemented yet" warnings
// (tested on their own).
func parse(t testing.TB, text string) (*Config, []string) {
	t.Helper()
	return parseOpts(t, text, testOpts())
}

func parseOpts(t testing.TB, text string, opts Options) (*Config, []string) {
	t.Helper()
	c, ds := Parse("test.conf", []byte(text), opts)
	return c, diagStrings(ds)
}

func diagStrings(ds Diagnostics) []string {
	var out []string
	for _, d := range ds {
		if strings.Contains(d.Msg, "is parsed but not implemented yet") {
			continue
		}
		out = append(out, d.String())
	}
	return out
}

// mustParse parses text and fails on any diagnostic (other than the
// unimplemented warnings).
func mustParse(t testing.TB, text string) *Config {
	t.Helper()
	c, ds := parse(t, text)
	if len(ds) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", strings.Join(ds, "\n"))
	}
	return c
}

// wantDiags compares diagnostics exactly.
func wantDiags(t testing.TB, got []string, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

// cmpModel compares model values, ignoring which keywords were set.
var cmpModel = cmp.Options{
	cmpopts.IgnoreUnexported(GlobalDefs{}, VRRPInstance{}, VRRPScript{}, TrackProcess{}, TrackFile{},
		BFDInstance{}, SyncGroup{}, VirtualServer{}, RealServer{}, Checker{}),
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	cmpopts.EquateEmpty(),
}
