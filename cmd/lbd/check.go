package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/lbdproject/lbd/pkg/config"
)

var checkCommand = command{
	name:    "check",
	summary: "validate a keepalived configuration without touching the system",
	run:     runCheck,
}

// runCheck implements "lbd check --config FILE [--json] [--config-id ID]":
// diagnostics go to stderr as "file:line: message"; exit 0 when valid
// (warnings allowed), 1 with errors, 2 for usage errors. --json prints the
// normalized model on stdout.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var path, id string
	var asJSON bool
	fs.StringVar(&path, "config", "", "keepalived configuration `FILE`")
	fs.StringVar(&path, "f", "", "alias of --config (keepalived's -f)")
	fs.BoolVar(&asJSON, "json", false, "print the normalized model as JSON on stdout")
	fs.StringVar(&id, "config-id", "", "`ID` selecting @ID conditional lines (default: the host name)")
	fs.StringVar(&id, "i", "", "alias of --config-id (keepalived's -i)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lbd check --config FILE [--json] [--config-id ID]")
		fs.PrintDefaults()
	}
	if exit, ok := parseFlags(fs, args); !ok {
		return exit
	}
	if path == "" {
		fmt.Fprintln(stderr, "lbd check: --config FILE is required")
		fs.Usage()
		return 2
	}

	cfg, diags := config.Load(path, config.Options{ConfigID: id})
	for _, d := range diags {
		fmt.Fprintln(stderr, d)
	}
	nerr, nwarn := len(diags.Errors()), len(diags.Warnings())
	if cfg == nil || nerr > 0 {
		fmt.Fprintf(stderr, "%s: invalid: %s, %s\n", path, plural(nerr, "error"), plural(nwarn, "warning"))
		return 1
	}
	if asJSON {
		out, err := cfg.JSON()
		if err != nil {
			fmt.Fprintf(stderr, "lbd check: encode json: %v\n", err)
			return 1
		}
		if _, err := stdout.Write(out); err != nil {
			fmt.Fprintf(stderr, "lbd check: write json: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "%s: valid: %s, %s, %s\n", path,
		plural(len(cfg.Instances), "vrrp instance"), plural(len(cfg.VirtualServers), "virtual server"),
		plural(nwarn, "warning"))
	return 0
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
