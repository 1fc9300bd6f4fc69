package netutil

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRTNamesFiles(t *testing.T) {
	t.Parallel()
	usr, etc := t.TempDir(), t.TempDir()
	writeFiles(t, usr, map[string]string{
		"rt_tables":  "255 local\n254 main\n100 vendor\n",
		"rt_protos":  "12 bird\n",
		"rt_dsfield": "0x10 lowdelay\n",
	})
	writeFiles(t, etc, map[string]string{
		// Local files win over the distribution's; rt_tables.d adds.
		"rt_tables":            "#\n# comment\n100\tlocalname  # trailing comment\n0x20 hexnum\nbogus line\n300\n",
		"rt_tables.d/a.conf":   "6909 small\n",
		"rt_tables.d/b.conf":   "6910 small\n", // later file wins
		"rt_tables.d/skip.txt": "7000 notread\n",
		"rt_protos.d/x.conf":   "250 mine\n",
		"rt_realms":            "30 thirty\n20 twenty\n",
		"rt_scopes":            "100 middle\n",
		"group":                "5 five\n",
	})
	n, err := LoadRTNames(usr, etc, filepath.Join(t.TempDir(), "missing"))
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]uint32{
		"main": 254, "local": 255, "default": 253, "vendor": 100, "localname": 100,
		"hexnum": 32, "small": 6910, "7": 7, "0x10": 16, "4294967295": 1<<32 - 1,
	}
	for s, want := range tables {
		if got, err := n.Table(s); err != nil || got != want {
			t.Errorf("Table(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, bad := range []string{"notread", "unspec", "0", "4294967296", "", "-1", "nope"} {
		if got, err := n.Table(bad); err == nil {
			t.Errorf("Table(%q) = %d, want an error", bad, got)
		}
	}
	for s, want := range map[string]uint8{"keepalived": 18, "bird": 12, "mine": 250, "boot": 3, "99": 99} {
		if got, err := n.Protocol(s); err != nil || got != want {
			t.Errorf("Protocol(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	if _, err := n.Protocol("256"); err == nil {
		t.Error("Protocol(256) accepted")
	}
	for s, want := range map[string]uint32{"thirty/twenty": 30<<16 | 20, "20": 20, "3/20": 3<<16 | 20, "cosmos/5": 5} {
		if got, err := n.Realms(s); err != nil || got != want {
			t.Errorf("Realms(%q) = %#x, %v; want %#x", s, got, err, want)
		}
	}
	for _, bad := range []string{"65536", "1/65536", "x/1", "1/", "/"} {
		if _, err := n.Realms(bad); err == nil {
			t.Errorf("Realms(%q) accepted", bad)
		}
	}
	if got, err := n.DSField("lowdelay"); err != nil || got != 0x10 {
		t.Errorf("DSField(lowdelay) = %#x, %v", got, err)
	}
	if got, err := n.DSField("0x04"); err != nil || got != 4 {
		t.Errorf("DSField(0x04) = %#x, %v", got, err)
	}
	if got, err := n.Scope("middle"); err != nil || got != 100 {
		t.Errorf("Scope(middle) = %v, %v", got, err)
	}
	if got, err := n.Scope("link"); err != nil || got != ScopeLink {
		t.Errorf("Scope(link) = %v, %v", got, err)
	}
	if got, err := n.Group("five"); err != nil || got != 5 {
		t.Errorf("Group(five) = %v, %v", got, err)
	}
}

// A nil *RTNames knows the kernel's and iproute2's built-in names.
func TestRTNamesBuiltin(t *testing.T) {
	t.Parallel()
	var n *RTNames
	if v, err := n.Table("main"); err != nil || v != 254 {
		t.Errorf("Table(main) = %d, %v", v, err)
	}
	if v, err := n.Protocol("keepalived"); err != nil || v != ProtoKeepalived {
		t.Errorf("Protocol(keepalived) = %d, %v", v, err)
	}
	if _, err := n.DSField("lowdelay"); err == nil {
		t.Error("DSField knows a file's name without the file")
	}
	if v, err := n.Group("default"); err != nil || v != 0 {
		t.Errorf("Group(default) = %d, %v", v, err)
	}
}

func TestParseIPProto(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]uint8{"UDP": 17, "tcp": 6, "ipv6-icmp": 58, "sctp": 132, "0x11": 17, "47": 47} {
		if got, err := ParseIPProto(s); err != nil || got != want {
			t.Errorf("ParseIPProto(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "udpx", "256"} {
		if _, err := ParseIPProto(bad); err == nil {
			t.Errorf("ParseIPProto(%q) accepted", bad)
		}
	}
}
