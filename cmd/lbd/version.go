package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit can be set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=abcdef0" ./cmd/lbd
//
// Without them, the module version and VCS revision recorded by the Go
// toolchain are used.
var (
	version string
	commit  string
)

var versionCommand = command{
	name:    "version",
	summary: "print lbd's version, commit and Go version",
	run:     runVersion,
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: lbd version") }
	if exit, ok := parseFlags(fs, args); !ok {
		return exit
	}
	v, c := buildVersion()
	fmt.Fprintf(stdout, "lbd %s\ncommit %s\n%s %s/%s\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// buildVersion returns the version and commit: the -X values when set,
// else what debug.ReadBuildInfo recorded, else "devel" and "unknown".
func buildVersion() (ver, rev string) {
	ver, rev = version, commit
	info, ok := debug.ReadBuildInfo()
	if ok {
		if ver == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		if rev == "" {
			modified := false
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if rev != "" && modified {
				rev += " (modified)"
			}
		}
	}
	if ver == "" {
		ver = "devel"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev
}
