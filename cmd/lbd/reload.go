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

var reloadCommand = command{
	name:    "reload",
	summary: "make a running lbd reread its configuration and apply the difference",
	run:     runReload,
}

// runReload implements "lbd reload [--json] [--run-dir DIR]": the same
// as SIGHUP, through the control socket, and it prints what changed or
// why the configuration was refused (file:line errors; the running
// configuration stays). Exit 0 when applied, 1 when refused or lbd cannot
// be reached, 2 for usage errors.
func runReload(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir string
	var asJSON bool
	fs.StringVar(&dir, "run-dir", daemon.DefaultRunDir, "`DIR` of the lbd to reload (its --run-dir)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lbd reload [--json] [--run-dir DIR]")
		fs.PrintDefaults()
	}
	if exit, ok := parseFlags(fs, args); !ok {
		return exit
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := daemon.Query(ctx, dir, daemon.Request{Command: daemon.CommandReload})
	if err != nil {
		fmt.Fprintf(stderr, "lbd reload: %v\n", err)
		return 1
	}
	r := resp.Reload
	if r == nil {
		fmt.Fprintf(stderr, "lbd reload: %s\n", resp.Error)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		daemon.WriteReload(stdout, r)
	}
	if !r.OK {
		return 1
	}
	return 0
}
