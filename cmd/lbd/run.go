package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lbdproject/lbd/internal/daemon"
)

var runCommand = command{
	name:    "run",
	summary: "run VRRP (and, later, load balancing) in the foreground",
	run:     runRun,
}

// runRun implements "lbd run --config FILE [flags]": foreground until
// SIGTERM or SIGINT, which stop gracefully (priority-0 adverts, VIPs
// removed). Exit 0 after a clean stop, 1 when lbd could not start or stop
// cleanly, 2 for usage errors.
func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lbd run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts daemon.Options
	var level, format string
	fs.StringVar(&opts.ConfigPath, "config", "", "keepalived configuration `FILE`")
	fs.StringVar(&opts.ConfigPath, "f", "", "alias of --config (keepalived's -f)")
	fs.StringVar(&opts.ConfigID, "config-id", "", "`ID` selecting @ID conditional lines (default: the host name)")
	fs.StringVar(&opts.ConfigID, "i", "", "alias of --config-id (keepalived's -i)")
	fs.StringVar(&opts.RunDir, "run-dir", daemon.DefaultRunDir, "`DIR` for the control socket, pid file and state (one per lbd)")
	fs.StringVar(&opts.BPFFS, "bpffs", daemon.DefaultBPFFS, "`DIR`: a bpffs for the datapath's pinned maps and links, shared by the lbd of every network namespace (the default is mounted if absent)")
	fs.StringVar(&opts.MetricsAddr, "metrics-addr", "", "`HOST:PORT` to serve Prometheus /metrics on (default: none)")
	fs.StringVar(&opts.Datapath, "datapath", "auto", "datapath `TIER`: "+strings.Join(daemon.Datapaths, "|"))
	fs.StringVar(&level, "log-level", "info", "log `LEVEL`: debug, info, warn, error")
	fs.StringVar(&format, "log-format", "text", "log `FORMAT`: text, json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lbd run --config FILE [--run-dir DIR] [--metrics-addr HOST:PORT] [--datapath TIER] [flags]")
		fs.PrintDefaults()
	}
	if exit, ok := parseFlags(fs, args); !ok {
		return exit
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "lbd run: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if opts.ConfigPath == "" {
		return usageErr("--config FILE is required")
	}
	if !daemon.ValidDatapath(opts.Datapath) {
		return usageErr("--datapath %q: want one of %s", opts.Datapath, strings.Join(daemon.Datapaths, ", "))
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return usageErr("--log-level %q: want debug, info, warn or error", level)
	}
	hopts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		opts.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		opts.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		return usageErr("--log-format %q: want text or json", format)
	}
	opts.Version, _ = buildVersion()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	opts.Hangup = hup

	if err := daemon.Run(ctx, opts); err != nil {
		opts.Logger.Error("lbd run failed", "error", err)
		return 1
	}
	return 0
}
