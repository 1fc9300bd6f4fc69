// Package daemontest runs real lbd processes in internal/netns hosts, for
// the daemon's namespace tests and the VRRP test matrix built on them.
//
//	func TestMain(m *testing.M) { daemontest.Main(m) } // builds lbd once
//
//	func TestFailover(t *testing.T) {
//		testutil.RequireRoot(t)
//		lab := netns.New(t, netns.Options{})
//		...
//		n1 := daemontest.Start(t, k1, cfg1)
//		n2 := daemontest.Start(t, k2, cfg2, "--log-level", "debug")
//		if err := n1.WaitState("VI_1", "MASTER", 15*time.Second); err != nil { t.Fatal(err) }
//		st, err := n2.Status()            // lbd status --json, through the CLI
//		m, err := n1.Metrics()            // GET /metrics from inside the host
//		v, ok := m.Get("lbd_vrrp_state", "instance", "VI_1")
//		n1.Kill()                         // SIGKILL: no priority-0 advert, VIPs left
//		n2.Stop()                         // SIGTERM: graceful, exit status checked
//	}
//
// Each node gets its own run directory (short, under os.TempDir, so the
// control socket's path fits in sun_path) and serves metrics on
// 127.0.0.1:9650 inside its namespace. The process is stopped at cleanup
// (netns.Proc), and its log is printed when the test failed.
package daemontest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// DefaultMetricsAddr is where a node serves /metrics inside its host.
const DefaultMetricsAddr = "127.0.0.1:9650"

var (
	binary   string
	buildErr error
)

// Main builds cmd/lbd into a temporary directory, runs the tests and
// removes it. Call it from TestMain. Under -short nothing is built (the
// namespace tests need root and skip anyway).
func Main(m *testing.M) {
	flag.Parse()
	code := func() int {
		if testing.Short() {
			buildErr = fmt.Errorf("lbd not built under -short")
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "lbd-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "daemontest:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary, buildErr = build(dir)
		if buildErr != nil {
			fmt.Fprintln(os.Stderr, "daemontest:", buildErr)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	//lint:ignore SA1019 the fallback when go is not on PATH
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func build(dir string) (string, error) {
	out := filepath.Join(dir, "lbd")
	cmd := exec.Command(goTool(), "build", "-o", out, "github.com/lbdproject/lbd/cmd/lbd")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/lbd: %v\n%s", err, b)
	}
	return out, nil
}

// Binary returns the lbd built by Main.
func Binary(tb testing.TB) string {
	tb.Helper()
	if binary == "" {
		if buildErr != nil {
			testutil.Skip(tb, buildErr.Error())
		}
		tb.Fatal("daemontest: lbd was not built: call daemontest.Main from TestMain")
	}
	return binary
}

// Node is one lbd running in a lab host.
type Node struct {
	t           testing.TB
	Host        *netns.Host
	Proc        *netns.Proc
	Binary      string
	ConfigPath  string
	RunDir      string
	MetricsAddr string
}

// Start writes cfg and runs "lbd run" in h with its own run directory
// (unless flags set --run-dir), metrics on DefaultMetricsAddr (unless
// flags set --metrics-addr), the host's bpffs (h.BPFFS(), unless flags set
// --bpffs) and debug logs, then waits until its control socket answers.
// flags are added to the command line. The node is stopped at cleanup.
func Start(t testing.TB, h *netns.Host, cfg string, flags ...string) *Node {
	t.Helper()
	bin := Binary(t)
	dir, err := os.MkdirTemp("", "lbd-"+h.Name()+"-")
	if err != nil {
		t.Fatalf("daemontest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &Node{t: t, Host: h, Binary: bin, ConfigPath: filepath.Join(dir, "keepalived.conf"), RunDir: filepath.Join(dir, "run"),
		MetricsAddr: DefaultMetricsAddr}
	if err := os.WriteFile(n.ConfigPath, []byte(cfg), 0o644); err != nil {
		t.Fatalf("daemontest: %v", err)
	}
	args := []string{"run", "--config", n.ConfigPath, "--log-level", "debug"}
	if i := indexOf(flags, "--run-dir"); i >= 0 && i+1 < len(flags) {
		n.RunDir = flags[i+1] // a restart on a killed node's run directory
	} else {
		args = append(args, "--run-dir", n.RunDir)
	}
	if i := indexOf(flags, "--metrics-addr"); i >= 0 && i+1 < len(flags) {
		n.MetricsAddr = flags[i+1]
	} else {
		args = append(args, "--metrics-addr", n.MetricsAddr)
	}
	if indexOf(flags, "--bpffs") < 0 {
		// The host's own bpffs, mounted by the test: it outlives each lbd
		// (a restarted one adopts what a killed one pinned), unlike a
		// bpffs lbd would mount under `ip netns exec`. Pass --bpffs ""
		// to test lbd's default.
		args = append(args, "--bpffs", h.BPFFS())
	}
	args = append(args, flags...)
	n.Proc = h.Start(bin, args...)
	err = netns.Poll(30*time.Second, func() error {
		if ok, err := n.Proc.Exited(); ok {
			return netns.Permanent(fmt.Errorf("lbd exited (%v):\n%s", err, n.Proc.Output()))
		}
		_, err := n.fetch()
		return err
	})
	if err != nil {
		t.Fatalf("daemontest: lbd in %s not ready: %v", h.Name(), err)
	}
	return n
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// fetch asks the control socket directly (no process spawned).
func (n *Node) fetch() (*daemon.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return daemon.FetchStatus(ctx, n.RunDir)
}

// Status runs "lbd status --json" in the node's host and decodes it.
func (n *Node) Status() (*daemon.Status, error) {
	out, err := n.Host.Run(n.Binary, "status", "--json", "--run-dir", n.RunDir)
	if err != nil {
		return nil, err
	}
	var st daemon.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("lbd status --json: %w:\n%s", err, out)
	}
	return &st, nil
}

// Instance returns one instance's status (through the CLI, as Status).
func (n *Node) Instance(name string) (*daemon.InstanceStatus, error) {
	st, err := n.Status()
	if err != nil {
		return nil, err
	}
	in := st.Instance(name)
	if in == nil {
		return nil, fmt.Errorf("%s: no vrrp_instance %s in lbd status", n.Host.Name(), name)
	}
	return in, nil
}

// WaitState waits until the instance is in state (MASTER, BACKUP, FAULT,
// ...) and returns its status then.
func (n *Node) WaitState(instance, state string, timeout time.Duration) error {
	last := "no status"
	err := netns.Poll(timeout, func() error {
		if ok, err := n.Proc.Exited(); ok {
			return netns.Permanent(fmt.Errorf("lbd exited (%v)", err))
		}
		st, err := n.fetch()
		if err != nil {
			return err
		}
		in := st.Instance(instance)
		if in == nil {
			return netns.Permanent(fmt.Errorf("no vrrp_instance %s", instance))
		}
		if in.State == state {
			return nil
		}
		last = fmt.Sprintf("%s (last transition: %s, faults %q)", in.State, in.LastReason, in.Faults)
		return fmt.Errorf("%s is %s", instance, in.State)
	})
	if err != nil {
		return fmt.Errorf("%s: waiting for %s to be %s: %w; last seen %s", n.Host.Name(), instance, state, err, last)
	}
	return nil
}

// Stop sends SIGTERM and waits for lbd to exit; an exit status other
// than 0 is an error.
func (n *Node) Stop() error {
	if ok, err := n.Proc.Exited(); ok {
		return fmt.Errorf("%s: lbd had already exited (%v)", n.Host.Name(), err)
	}
	if err := n.Proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := n.Proc.Wait(30 * time.Second); err != nil {
		return fmt.Errorf("%s: lbd after SIGTERM: %w", n.Host.Name(), err)
	}
	return nil
}

// Kill sends SIGKILL: no priority-0 advert, VIPs left on the interface.
func (n *Node) Kill() {
	n.Proc.Kill()
}

// Log returns what lbd logged so far.
func (n *Node) Log() string { return n.Proc.Output() }

// Metrics fetches /metrics from inside the node's host.
func (n *Node) Metrics() (Metrics, error) {
	body, err := n.Host.HTTPGet("http://"+n.MetricsAddr+"/metrics", 5*time.Second)
	if err != nil {
		return nil, err
	}
	return ParseMetrics(body)
}

// Metrics are the samples of a Prometheus text exposition, by series:
// `name{label="value",...}` with labels sorted, or the bare name.
type Metrics map[string]float64

// ParseMetrics reads the text exposition format (samples only; comments
// and timestamps ignored).
func ParseMetrics(text string) (Metrics, error) {
	m := Metrics{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		series, rest, labels := line, "", ""
		if j := strings.IndexByte(line, '{'); j >= 0 {
			k := strings.LastIndexByte(line, '}')
			if k < j {
				return nil, fmt.Errorf("metrics line %d: %q", i+1, line)
			}
			series, labels, rest = line[:j], line[j+1:k], line[k+1:]
		} else if j := strings.IndexByte(line, ' '); j >= 0 {
			series, rest = line[:j], line[j:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics line %d: no value: %q", i+1, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", i+1, err)
		}
		m[seriesKey(series, splitLabels(labels))] = v
	}
	return m, nil
}

// splitLabels splits `a="x",b="y"` (values without commas or escaped
// quotes, which lbd's label values never hold).
func splitLabels(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}

func seriesKey(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name + "{")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Get returns the value of the one series of name whose labels include
// the given name/value pairs; false if none or several match.
func (m Metrics) Get(name string, labels ...string) (float64, bool) {
	found := m.match(name, labels)
	if len(found) != 1 {
		return 0, false
	}
	return found[0], true
}

// Sum adds the values of every series of name whose labels include the
// given pairs.
func (m Metrics) Sum(name string, labels ...string) float64 {
	var sum float64
	for _, v := range m.match(name, labels) {
		sum += v
	}
	return sum
}

func (m Metrics) match(name string, labels []string) []float64 {
	var found []float64
	for key, v := range m {
		n, ls, _ := strings.Cut(key, "{")
		if n != name {
			continue
		}
		have := splitLabels(strings.TrimSuffix(ls, "}"))
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
				break
			}
		}
		if match {
			found = append(found, v)
		}
	}
	return found
}
