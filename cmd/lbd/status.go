package main

import (
	"context"
	"encoding/json"
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
	dir, asJSON, exit, ok := clientFlags("status", "`DIR` of the lbd to ask (its --run-dir)", "print the status as JSON", args, stderr)
	if !ok {
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
