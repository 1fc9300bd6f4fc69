package script

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Errors returned by Check, to be matched with errors.Is. keepalived
// disables the script in each case ("Disabling track script %s ...").
var (
	// ErrNotFound: the program does not exist, or is not on PATH.
	ErrNotFound = errors.New("script not found")
	// ErrNotExecutable: the script's user may not execute the program.
	ErrNotExecutable = errors.New("script not executable")
	// ErrInsecure: enable_script_security is set and the program, or a
	// directory above it, is writable by a non-root user although the
	// script runs with root privileges.
	ErrInsecure = errors.New("script insecure")
)

// Flags describe what Check found.
type Flags uint8

// The flags.
const (
	// FlagShell: the line is keepalived's "</path" file test and runs
	// through /bin/sh (SC_SYSTEM).
	FlagShell Flags = 1 << iota
	// FlagInsecure: some part of the path is writable by a non-root user
	// while the script runs as root (SC_INSECURE). Without
	// enable_script_security this is only a warning; lbd's daemon, like
	// keepalived, should log "SECURITY VIOLATION" once if any script has it.
	FlagInsecure
	// FlagPathSearch: the program had no '/' and was found on PATH
	// (keepalived warns: "Please specify full path").
	FlagPathSearch
)

// String lists the set flags.
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	var parts []string
	for _, n := range []struct {
		bit  Flags
		name string
	}{{FlagShell, "shell"}, {FlagInsecure, "insecure"}, {FlagPathSearch, "path_search"}} {
		if f&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, "|")
}

// CheckOptions configures Check.
type CheckOptions struct {
	// ScriptSecurity is enable_script_security: refuse insecure scripts
	// instead of only flagging them.
	ScriptSecurity bool
	// PATH searched for a bare program name; empty means $PATH, and the
	// C library's default if that is unset too.
	PATH string
}

// Check does what keepalived does to every script when it loads its
// configuration (lib/notify.c check_script_secure), and prepares cmd to
// run: a bare program name is looked up on PATH, the program must be an
// executable regular file for the script's user, and its real path (symbolic
// links resolved) is what will be executed, while argv[0] keeps the name
// as written, so that programs which look at their own name still see it.
//
// When the script runs as root (user or group 0, or a set-uid/set-gid root
// program), every component of the path as written and of the real path is
// checked: each must be owned by root, and must not be writable by a
// non-root group or by others, unless it is a directory with the sticky
// bit set (such as /tmp); the last component must be a regular file or a
// symbolic link, the others directories. A failure sets FlagInsecure, and
// under ScriptSecurity returns ErrInsecure.
//
// Unlike keepalived, the existence checks run with lbd's privileges, not
// the script user's (lbd does not switch its own identity): a program
// that only root can reach passes here and fails when run, with an
// ExecError. Check is not needed to run a Command; Run looks bare names up
// on PATH itself.
func Check(cmd *Command, opts CheckOptions) (Flags, error) {
	if len(cmd.Args) == 0 {
		return 0, fmt.Errorf("check script: %w: empty command", ErrNotFound)
	}
	if isRedirectTest(cmd.Args[0]) {
		cmd.Shell = true
		return FlagShell, nil
	}
	u := cmd.user()
	var flags Flags
	name := cmd.Args[0]
	if !strings.Contains(name, "/") {
		p, err := findPath(name, opts.PATH, u)
		if err != nil {
			return 0, err
		}
		name = p
		flags |= FlagPathSearch
	}
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return flags, fmt.Errorf("check script %s: %w: cannot be accessed: %v", name, ErrNotFound, err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return flags, fmt.Errorf("check script %s: %w: %v", name, ErrNotFound, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return flags, fmt.Errorf("check script %s: %w: unable to access: %v", name, ErrNotFound, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || !executable(&st, u) {
		return flags, fmt.Errorf("check script %s: %w for uid:gid %d:%d", name, ErrNotExecutable, u.UID, u.GID)
	}
	cmd.path = real

	needProtection := u.UID == 0 || u.GID == 0 ||
		(st.Uid == 0 && st.Mode&unix.S_IXUSR != 0 && st.Mode&unix.S_ISUID != 0) ||
		(st.Gid == 0 && st.Mode&unix.S_IXGRP != 0 && st.Mode&unix.S_ISGID != 0)
	if !needProtection {
		return flags, nil
	}
	for _, p := range []string{name, real} {
		if err := checkComponents(p); err != nil {
			flags |= FlagInsecure
			if opts.ScriptSecurity {
				return flags, fmt.Errorf("check script %s: %w: %v", name, ErrInsecure, err)
			}
			return flags, nil
		}
		if real == name {
			break
		}
	}
	return flags, nil
}

// executable is keepalived's is_executable: root may run anything with an
// x bit; otherwise the owner, group or other x bit applies.
func executable(st *unix.Stat_t, u User) bool {
	m := st.Mode
	switch {
	case u.UID == 0:
		return m&(unix.S_IXUSR|unix.S_IXGRP|unix.S_IXOTH) != 0
	case u.UID == st.Uid:
		return m&unix.S_IXUSR != 0
	case u.GID == st.Gid:
		return m&unix.S_IXGRP != 0
	default:
		return m&unix.S_IXOTH != 0
	}
}

// findPath looks a bare program name up on PATH for user u (keepalived's
// find_path, glibc execvp's search): the first executable regular file
// wins; if none but some were not permitted, the error says so.
func findPath(name, path string, u User) (string, error) {
	if path == "" {
		path = os.Getenv("PATH")
	}
	if path == "" {
		path = "/bin:/usr/bin" // confstr(_CS_PATH) on glibc
	}
	denied := false
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			if errors.Is(err, unix.EACCES) {
				denied = true
			}
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || !executable(&st, u) {
			denied = true
			continue
		}
		return p, nil
	}
	if denied {
		return "", fmt.Errorf("check script %s: %w: permissions failure in path", name, ErrNotExecutable)
	}
	return "", fmt.Errorf("check script %s: %w: cannot find in path", name, ErrNotFound)
}

// checkComponents is keepalived's check_security: "/", then every prefix
// of p up to p itself, without following symbolic links.
func checkComponents(p string) error {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		p = abs
	}
	prefixes := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			prefixes = append(prefixes, p[:i])
		}
	}
	if p != "/" {
		prefixes = append(prefixes, p)
	}
	for i, c := range prefixes {
		last := i == len(prefixes)-1
		var st unix.Stat_t
		if err := unix.Lstat(c, &st); err != nil {
			return fmt.Errorf("could not find %s: %v", c, err)
		}
		typ := st.Mode & unix.S_IFMT
		if !last && typ != unix.S_IFDIR || last && typ != unix.S_IFREG && typ != unix.S_IFLNK {
			return fmt.Errorf("wrong file type found in script path %s", c)
		}
		writable := (st.Gid != 0 && st.Mode&unix.S_IWGRP != 0) || st.Mode&unix.S_IWOTH != 0
		stickyDir := typ == unix.S_IFDIR && st.Mode&unix.S_ISVTX != 0
		if st.Uid != 0 || (writable && !stickyDir && typ != unix.S_IFLNK) {
			return fmt.Errorf("unsafe permissions found for script %s: %s is %s, owner uid %d, group gid %d",
				p, c, modeString(st.Mode), st.Uid, st.Gid)
		}
	}
	return nil
}

func modeString(m uint32) string {
	return fmt.Sprintf("%04o", m&0o7777)
}
