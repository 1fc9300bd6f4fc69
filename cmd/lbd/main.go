// Command lbd is a load-balancer daemon that replaces keepalived: it reads
// keepalived.conf, runs VRRP and balances L4 traffic. Each subcommand lives
// in its own file; add it to commands below.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lbdproject/lbd/internal/daemon"
)

// command is one subcommand. run gets the arguments after the subcommand
// name and returns the exit status: 0 success, 1 failure, 2 usage error.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands, in the order usage shows them.
var commands = []command{
	runCommand,
	statusCommand,
	reloadCommand,
	checkCommand,
	versionCommand,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "lbd: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: lbd <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `"lbd <command> -h" shows the command's flags.`)
}

// parseFlags parses a subcommand's flags; no subcommand takes positional
// arguments. ok is false when the command must stop with exit: 0 after
// -h, 2 for a usage error (already reported on fs's output).
func parseFlags(fs *flag.FlagSet, args []string) (exit int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	return 0, true
}

// clientFlags parses the flags of a command that asks a running lbd over
// its control socket ("lbd status", "lbd reload"): --run-dir and --json.
// ok is false when the command must stop with exit (see parseFlags).
func clientFlags(name, dirHelp, jsonHelp string, args []string, stderr io.Writer) (dir string, asJSON bool, exit int, ok bool) {
	fs := flag.NewFlagSet("lbd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&dir, "run-dir", daemon.DefaultRunDir, dirHelp)
	fs.BoolVar(&asJSON, "json", false, jsonHelp)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lbd %s [--json] [--run-dir DIR]\n", name)
		fs.PrintDefaults()
	}
	exit, ok = parseFlags(fs, args)
	return dir, asJSON, exit, ok
}
