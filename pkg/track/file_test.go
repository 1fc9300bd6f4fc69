package track

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
)

func TestParseFileValue(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  int64
		ok bool
	}{
		{"5\n", 5, true},
		{"  -17 trailing", -17, true},
		{"+3", 3, true},
		{"0x1f", 31, true},
		{"0X1F", 31, true},
		{"010", 8, true}, // octal, as strtol base 0
		{"08", 0, true},  // "0" then a non-octal digit
		{"0x", 0, true},  // "0" then x
		{"0xg", 0, true},
		{"", 0, true},
		{"abc", 0, true},
		{"\t\n 42", 42, true},
		{"2147483648", 2147483648, true},
		{"-2147483648", -2147483648, true},
		{"2147483649", 0, false},
		{"-2147483649", 0, false},
		{"99999999999999999999999", 0, false},
		{strings.Repeat(" ", 126) + "7", 7, true},
		{strings.Repeat(" ", 127) + "7", 0, true}, // only 127 bytes are read
	} {
		v, ok := ParseFileValue([]byte(tc.in))
		if v != tc.v || ok != tc.ok {
			t.Errorf("ParseFileValue(%q) = %d, %v; want %d, %v", tc.in, v, ok, tc.v, tc.ok)
		}
	}
}

func TestInitFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	read := func() string { b, _ := os.ReadFile(p); return string(b) }
	if err := InitFile(p, 7, false, false); err != nil || read() != "7\n" {
		t.Fatalf("create: %v, content %q", err, read())
	}
	if err := InitFile(p, 9, false, false); err != nil || read() != "7\n" {
		t.Errorf("existing file without overwrite: %v, content %q; want untouched", err, read())
	}
	if err := InitFile(p, 9, true, true); err != nil || read() != "7\n" {
		t.Errorf("overwrite on reload: %v, content %q; want untouched", err, read())
	}
	if err := InitFile(p, -3, true, false); err != nil || read() != "-3\n" {
		t.Errorf("overwrite: %v, content %q", err, read())
	}
	if err := InitFile(dir, 1, true, false); err == nil {
		t.Error("overwriting a directory: no error")
	}
	link := filepath.Join(dir, "link")
	os.Symlink(filepath.Join(dir, "target"), link)
	if err := InitFile(link, 1, true, false); err == nil {
		t.Error("overwriting through a symbolic link: no error")
	}
}

func TestFileTracker(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "sub", "b") // its directory exists, the file not yet
	os.Mkdir(filepath.Dir(b), 0o755)
	os.WriteFile(a, []byte("5\n"), 0o644)
	rec := &recorder{}
	tr, err := NewFileTracker(FileOptions{
		Files:    []FileSpec{{Name: "fa", Path: a}, {Name: "fb", Path: b}},
		OnUpdate: rec.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); tr.Wait() }()
	tr.Start(ctx)
	if v, _ := tr.Value("fa"); v != 5 {
		t.Errorf("initial fa = %d, want 5", v)
	}
	if v, _ := tr.Value("fb"); v != 0 {
		t.Errorf("initial fb = %d, want 0 (missing)", v)
	}
	wait := func(name string, want int64) {
		t.Helper()
		netns.Eventually(t, 30*time.Second, name+" value", func() error {
			if v, _ := tr.Value(name); v != want {
				return errorf("%s = %d", name, v)
			}
			return nil
		})
	}
	os.WriteFile(a, []byte("-20\n"), 0o644) // written in place
	wait("fa", -20)
	tmp := filepath.Join(dir, "a.tmp")
	os.WriteFile(tmp, []byte("0x10"), 0o644)
	os.Rename(tmp, a) // renamed over
	wait("fa", 16)
	os.WriteFile(b, []byte("3"), 0o644) // created after start
	wait("fb", 3)
	os.WriteFile(a, []byte("99999999999"), 0o644) // invalid: ignored
	os.WriteFile(b, []byte("4"), 0o644)           // (an event after it, to know it was seen)
	wait("fb", 4)
	if v, _ := tr.Value("fa"); v != 16 {
		t.Errorf("fa after an invalid number = %d, want 16 (kept)", v)
	}
	os.Remove(a)
	wait("fa", 0)
	os.Rename(b, filepath.Join(dir, "moved"))
	wait("fb", 0)

	want := []Update{
		{Kind: KindFile, Name: "fa", Value: -20},
		{Kind: KindFile, Name: "fa", Value: 16},
		{Kind: KindFile, Name: "fb", Value: 3},
		{Kind: KindFile, Name: "fb", Value: 4},
		{Kind: KindFile, Name: "fa", Value: 0},
		{Kind: KindFile, Name: "fb", Value: 0},
	}
	got := rec.all()
	if len(got) != len(want) {
		t.Fatalf("updates %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("update %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFileTrackerMissingDirectory(t *testing.T) {
	_, err := NewFileTracker(FileOptions{Files: []FileSpec{{Name: "x", Path: filepath.Join(t.TempDir(), "nodir", "f")}}})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("NewFileTracker = %v, want a missing-directory error", err)
	}
}

func FuzzParseFileValue(f *testing.F) {
	for _, s := range []string{"5", "-0x1f", "0777", "  +9", "2147483648", "x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := ParseFileValue(b)
		if ok && (v < -2147483648 || v > 2147483648) {
			t.Fatalf("ParseFileValue(%q) = %d, outside keepalived's range", b, v)
		}
	})
}

func BenchmarkParseFileValue(b *testing.B) {
	in := []byte("  -123\n")
	for b.Loop() {
		if v, ok := ParseFileValue(in); !ok || v != -123 {
			b.Fatal(v)
		}
	}
}
