package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
)

var statusCommand = command{
	name:    "status",
	summary: "show a running lbd's instances, states, VIPs and counters",
	run:     runStatus,
}

// runStatus implements "lbd status [--json] [--run-dir DIR]": it asks the
// lbd of that run directory over its control socket. Exit 0 with the
// status, 1 when lbd cannot be reached, 2 for usage errors.
func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir string
	var asJSON bool
	fs.StringVar(&dir, "run-dir", daemon.DefaultRunDir, "`DIR` of the lbd to ask (its --run-dir)")
	fs.BoolVar(&asJSON, "json", false, "print the status as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lbd status [--json] [--run-dir DIR]")
		fs.PrintDefaults()
	}
	if exit, ok := parseFlags(fs, args); !ok {
		return exit
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := daemon.FetchStatus(ctx, dir)
	if err != nil {
		fmt.Fprintf(stderr, "lbd status: %v\n", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintf(stderr, "lbd status: %v\n", err)
			return 1
		}
		return 0
	}
	if err := daemon.WriteStatus(stdout, st, time.Now()); err != nil {
		fmt.Fprintf(stderr, "lbd status: %v\n", err)
		return 1
	}
	return 0
}
