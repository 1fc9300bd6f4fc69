package main

import (
	"context"
	"encoding/json"
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
	dir, asJSON, exit, ok := clientFlags("reload", "`DIR` of the lbd to reload (its --run-dir)", "print the result as JSON", args, stderr)
	if !ok {
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
