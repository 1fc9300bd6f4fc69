package script

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdproject/lbd/internal/testutil"
)

// secureDir returns a fresh directory whose every component is root-owned
// and not writable by others (t.TempDir under /tmp, which is sticky).
func secureDir(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	d := t.TempDir()
	probe := filepath.Join(d, "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(probe)
	if err := checkComponents(probe); err != nil {
		testutil.Skip(t, "temporary directory is not secure here ("+err.Error()+"); set TMPDIR")
	}
	return d
}

func writeScript(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // no umask
		t.Fatal(err)
	}
}

func TestCheckSecure(t *testing.T) {
	d := secureDir(t)
	p := filepath.Join(d, "chk.sh")
	writeScript(t, p, 0o755)
	root := &User{UID: 0, GID: 0}
	c := Command{Args: []string{p, "arg"}, User: root}
	flags, err := Check(&c, CheckOptions{ScriptSecurity: true})
	if err != nil || flags != 0 {
		t.Fatalf("Check = %v, %v; want secure", flags, err)
	}
	if c.Path() != p {
		t.Errorf("Path() = %q, want %q", c.Path(), p)
	}
}

func TestCheckInsecure(t *testing.T) {
	nobody, err := LookupUser("nobody", "")
	if err != nil {
		testutil.Skip(t, "needs user nobody: "+err.Error())
	}
	root := &User{UID: 0, GID: 0}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, d, p string)
	}{
		{"world-writable script", func(t *testing.T, d, p string) { os.Chmod(p, 0o757) }},
		{"group-writable script, non-root group", func(t *testing.T, d, p string) {
			os.Chown(p, 0, int(nobody.GID))
			os.Chmod(p, 0o775)
		}},
		{"script owned by a user", func(t *testing.T, d, p string) { os.Chown(p, int(nobody.UID), 0) }},
		{"world-writable directory", func(t *testing.T, d, p string) { os.Chmod(d, 0o777) }},
		{"directory owned by a user", func(t *testing.T, d, p string) { os.Chown(d, int(nobody.UID), 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := secureDir(t)
			d := filepath.Join(top, "scripts")
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(d, "chk.sh")
			writeScript(t, p, 0o755)
			tc.setup(t, d, p)

			c := Command{Args: []string{p}, User: root}
			flags, err := Check(&c, CheckOptions{})
			if err != nil || flags&FlagInsecure == 0 {
				t.Errorf("without script security: Check = %v, %v; want FlagInsecure and no error", flags, err)
			}
			c = Command{Args: []string{p}, User: root}
			_, err = Check(&c, CheckOptions{ScriptSecurity: true})
			if !errors.Is(err, ErrInsecure) {
				t.Errorf("with script security: Check error = %v, want ErrInsecure", err)
			}
			// A script that does not run as root is not checked.
			c = Command{Args: []string{p}, User: &nobody}
			os.Chmod(p, 0o757)
			if flags, err := Check(&c, CheckOptions{ScriptSecurity: true}); err != nil || flags&FlagInsecure != 0 {
				t.Errorf("as nobody: Check = %v, %v; want accepted", flags, err)
			}
		})
	}
}

func TestCheckStickyDirIsSecure(t *testing.T) {
	d := secureDir(t)
	sticky := filepath.Join(d, "sticky")
	if err := os.Mkdir(sticky, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(sticky, 0o777|os.ModeSticky)
	p := filepath.Join(sticky, "chk.sh")
	writeScript(t, p, 0o755)
	c := Command{Args: []string{p}, User: &User{}}
	if flags, err := Check(&c, CheckOptions{ScriptSecurity: true}); err != nil || flags != 0 {
		t.Errorf("script in a sticky world-writable directory: Check = %v, %v; want secure", flags, err)
	}
}

func TestCheckSymlinkKeepsName(t *testing.T) {
	d := secureDir(t)
	real := filepath.Join(d, "real.sh")
	writeScript(t, real, 0o755)
	link := filepath.Join(d, "alias")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	c := Command{Args: []string{link}, User: &User{}}
	if _, err := Check(&c, CheckOptions{ScriptSecurity: true}); err != nil {
		t.Fatal(err)
	}
	if c.Path() != real || c.Args[0] != link {
		t.Errorf("Path() = %q, Args[0] = %q; want %q executed as %q", c.Path(), c.Args[0], real, link)
	}
}

func TestCheckErrors(t *testing.T) {
	d := secureDir(t)
	nobody, err := LookupUser("nobody", "")
	if err != nil {
		testutil.Skip(t, "needs user nobody: "+err.Error())
	}
	noexec := filepath.Join(d, "noexec.sh")
	writeScript(t, noexec, 0o644)
	rootOnly := filepath.Join(d, "rootonly.sh")
	writeScript(t, rootOnly, 0o700)
	for _, tc := range []struct {
		name string
		cmd  Command
		opts CheckOptions
		want error
	}{
		{"missing", Command{Args: []string{filepath.Join(d, "missing.sh")}}, CheckOptions{}, ErrNotFound},
		{"not on PATH", Command{Args: []string{"lbd-no-such-program"}}, CheckOptions{PATH: d}, ErrNotFound},
		{"not executable", Command{Args: []string{noexec}, User: &User{}}, CheckOptions{}, ErrNotExecutable},
		{"not executable by its user", Command{Args: []string{rootOnly}, User: &nobody}, CheckOptions{}, ErrNotExecutable},
		{"directory", Command{Args: []string{d}, User: &User{}}, CheckOptions{}, ErrNotExecutable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(&tc.cmd, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCheckPathSearch(t *testing.T) {
	d := secureDir(t)
	p := filepath.Join(d, "lbd-chk")
	writeScript(t, p, 0o755)
	c := Command{Args: []string{"lbd-chk", "x"}, User: &User{}}
	flags, err := Check(&c, CheckOptions{PATH: "/nonexistent:" + d, ScriptSecurity: true})
	if err != nil || flags != FlagPathSearch {
		t.Fatalf("Check = %v, %v; want path_search", flags, err)
	}
	if c.Path() != p || c.Args[0] != "lbd-chk" {
		t.Errorf("Path() = %q, Args[0] = %q", c.Path(), c.Args[0])
	}
}

func TestCheckRedirectTest(t *testing.T) {
	c, err := Parse("</etc/keepalived/some-file")
	if err != nil {
		t.Fatal(err)
	}
	flags, err := Check(&c, CheckOptions{ScriptSecurity: true})
	if err != nil || flags != FlagShell || !c.Shell {
		t.Errorf("Check = %v, %v, Shell %v; want shell", flags, err, c.Shell)
	}
}

func TestFlagsString(t *testing.T) {
	if got := (FlagInsecure | FlagPathSearch).String(); got != "insecure|path_search" {
		t.Errorf("String() = %q", got)
	}
	if got := Flags(0).String(); !strings.Contains(got, "none") {
		t.Errorf("String() = %q", got)
	}
}
