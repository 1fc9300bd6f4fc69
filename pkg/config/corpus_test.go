package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDirs are keepalived's own sample configurations: the project's copy
// next to the repository, and Debian's when keepalived is installed.
var corpusDirs = []string{
	filepath.Join("..", "..", "..", "shared", "keepalived-samples"),
	"/usr/share/doc/keepalived/samples",
}

// corpusErrors are the errors expected from samples that are wrong by
// keepalived's own rules, as "line: message". What `keepalived -t -f FILE`
// (2.2.7) says about each sample, with interfaces eth0-eth3 and eth0.1
// present (lbd check does not look at the host's interfaces, so keepalived's
// "interface doesn't exist" errors have no counterpart), and what lbd does:
//
//	conditional_conf   rc 5 without -i: "No script set for vrrp_script
//	                   check_VI_0 - removing" (both script lines are
//	                   conditional). lbd: the same error. With -i high or
//	                   -i low it is valid (checked below).
//	vrrp.rules         rc 5: "Invalid rule to address 192.168.100./24" in
//	                   static_rules and virtual_rules. lbd: the same errors.
//	SSL_GET            rc 5: "Initial state master is incompatible with AH
//	                   authentication - clearing". keepalived runs it as
//	                   BACKUP. lbd: a warning, and the same repair.
//	fwmark             rc 5: "protocol specified for fwmark - protocol will be
//	                   ignored". keepalived runs it. lbd: a warning.
//	track_interface,   rc 5: "cannot track route ... with no interface
//	vrrp.routes,       specified, not tracking", and for routes "or"/"gw"
//	vrrp.static_ipaddress  deprecated. keepalived installs the routes. lbd:
//	                   warnings.
//	vrrp.lvs_syncd     rc 5: "Unknown keyword 'VI_2'" (members written
//	                   without group {}), "Sync group VG1 has no virtual
//	                   router(s)", lvs_sync_daemon_interface deprecated.
//	                   keepalived runs it. lbd: warnings.
//	vrrp.localcheck    rc 6: "SECURITY VIOLATION - scripts are being executed
//	                   but script_security not enabled" — a check of the
//	                   host's files that lbd check does not make.
//	all others         rc 0.
var corpusErrors = map[string][]string{
	"keepalived.conf.conditional_conf": {
		"6: vrrp_script check_VI_0: no script",
	},
	"keepalived.conf.vrrp.rules": {
		"11: static_rules: invalid rule to address 192.168.100./24",
		"26: vrrp_instance VI_1: virtual_rules: invalid rule to address 192.168.200./24",
	},
}

// warningKind names a class of warning, for the corpus summary.
func warningKind(msg string) string {
	for _, k := range []struct{ substr, kind string }{
		{"is parsed but not implemented yet", "unimplemented"},
		{"unknown keyword", "unknown keyword"},
		{"deprecated", "deprecated"},
		{"cannot be tracked", "virtual route without dev"},
		{"has no vrrp instances", "empty sync group"},
		{"rule has no preference", "rule without preference"},
		{"protocol is ignored for a fwmark", "protocol on fwmark service"},
		{"incompatible with AH", "MASTER with AH"},
	} {
		if strings.Contains(msg, k.substr) {
			return k.kind
		}
	}
	return "other: " + msg
}

func TestCorpus(t *testing.T) {
	found := false
	for _, dir := range corpusDirs {
		files, _ := filepath.Glob(filepath.Join(dir, "keepalived.conf.*"))
		if len(files) == 0 {
			continue
		}
		found = true
		t.Run(filepath.Base(filepath.Dir(files[0])), func(t *testing.T) { runCorpus(t, dir, files) })
	}
	if !found {
		// Not testutil.Skip: the samples are optional inputs, absent in CI.
		t.Skipf("no keepalived sample configurations in %s", strings.Join(corpusDirs, " or "))
	}
}

func runCorpus(t *testing.T, dir string, files []string) {
	clean := 0
	kinds := map[string]int{}
	for _, f := range files {
		name := filepath.Base(f)
		c, ds := Load(f, Options{ConfigID: "lbd-corpus", RandomSeed: 1})
		if c == nil {
			t.Errorf("%s: not read: %v", name, ds)
			continue
		}
		var errs []string
		for _, d := range ds.Errors() {
			errs = append(errs, fmt.Sprintf("%d: %s", d.Pos.Line, d.Msg))
		}
		if diff := strings.Join(errs, "\n"); diff != strings.Join(corpusErrors[name], "\n") {
			t.Errorf("%s: errors:\n%s\nwant:\n%s", name, diff, strings.Join(corpusErrors[name], "\n"))
		}
		if len(errs) == 0 {
			clean++
		}
		for _, d := range ds.Warnings() {
			kinds[warningKind(d.Msg)]++
		}
	}
	// The conditional sample is valid for the ids it was written for.
	if f := filepath.Join(dir, "keepalived.conf.conditional_conf"); fileExists(f) {
		for _, id := range []string{"high", "low"} {
			c, ds := Load(f, Options{ConfigID: id, RandomSeed: 1})
			if ds.HasErrors() {
				t.Errorf("conditional_conf with config id %s: %v", id, ds.Errors())
				continue
			}
			prio := map[string]int{"high": 170, "low": 85}[id]
			if got := c.Instances[0].Priority; got != prio {
				t.Errorf("conditional_conf with config id %s: priority %d; want %d", id, got, prio)
			}
		}
	}
	var names []string
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d files, %d with no error (%d with the expected errors)\n", dir, len(files), clean, len(files)-clean)
	for _, k := range names {
		fmt.Fprintf(&b, "  %5d warnings: %s\n", kinds[k], k)
	}
	t.Log("\n" + b.String())
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
