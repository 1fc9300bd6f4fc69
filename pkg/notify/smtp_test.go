package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

func TestAlertText(t *testing.T) {
	for _, tc := range []struct {
		ev            Event
		subject, body string
	}{
		{Event{ScopeInstance, "VI_1", StateMaster, 100}, "[lb1] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
		{Event{ScopeInstance, "VI_1", StateBackup, 100}, "[lb1] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{Event{ScopeInstance, "VI_1", StateFault, 100}, "[lb1] VRRP Instance VI_1 - Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{Event{ScopeInstance, "VI_1", StateStop, 100}, "[lb1] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="},
		{Event{ScopeInstance, "VI_1", StateDeleted, 100}, "[lb1] VRRP Instance VI_1 - Deleted", "=> VRRP Deleted at reload <="},
		{Event{ScopeGroup, "VG_1", StateMaster, 0}, "[lb1] VRRP Group VG_1 - Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="},
		{Event{ScopeGroup, "VG_1", StateBackup, 0}, "[lb1] VRRP Group VG_1 - Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="},
		{Event{ScopeGroup, "VG_1", StateFault, 0}, "[lb1] VRRP Group VG_1 - Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="},
		{Event{ScopeGroup, "VG_1", StateStop, 0}, "[lb1] VRRP Group VG_1 - Stopping", "=> All VRRP group instances are now stopping <="},
	} {
		s, b, ok := AlertText("lb1", tc.ev)
		if !ok || s != tc.subject || b != tc.body {
			t.Errorf("AlertText(%+v) = %q, %q, %v; want %q, %q", tc.ev, s, b, ok, tc.subject, tc.body)
		}
	}
	for _, ev := range []Event{
		{ScopeInstance, "VI_1", StateMasterRxLowerPri, 1},
		{ScopeInstance, "VI_1", StateMasterPriority, 1},
		{ScopeGroup, "VG_1", StateDeleted, 0},
	} {
		if _, _, ok := AlertText("lb1", ev); ok {
			t.Errorf("AlertText(%+v): a mail, want none", ev)
		}
	}
}

func TestCompose(t *testing.T) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))
	got := string(Compose(date, "keepalived@lb1", []string{"a@x.test", "b@x.test"},
		"[lb1] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="))
	want := "Date: Wed, 04 Mar 2026 05:06:07 +0100\r\n" +
		"From: keepalived@lb1\r\n" +
		"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n" +
		"X-Mailer: lbd\r\n" +
		"To: a@x.test, b@x.test\r\n" +
		"\r\n" +
		"=> VRRP Instance is now owning VRRP VIPs <=\r\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Compose (-want +got):\n%s", diff)
	}
}

// dialFrom dials from inside host h.
func dialFrom(h *netns.Host) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := h.Do(func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// TestMailerExim: alerts reach a real SMTP server (Debian's exim) across a
// link between two namespaces, with keepalived's subject, body and
// recipients.
func TestMailerExim(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	lb, mx := lab.Host("lb"), lab.Host("mx")
	lab.Link(lb, "eth0", mx, "eth0")
	lb.AddAddr("eth0", "192.0.2.1/24")
	mx.AddAddr("eth0", "192.0.2.25/24")
	ex := netns.StartExim(t, mx, "192.0.2.25", 2525)
	dial := dialFrom(lb)
	netns.Eventually(t, 30*time.Second, "exim listening", func() error {
		c, err := dial(t.Context(), "tcp", ex.Addr)
		if err != nil {
			return err
		}
		return c.Close()
	})

	m := newMetrics(t)
	ml, err := NewMailer(MailOptions{
		Server:   ex.Addr,
		HeloName: "lb1.lbd.test",
		From:     "lbd@lb1.lbd.test",
		To:       []string{"ops@lbd.test", "noc@lbd.test"},
		RouterID: "lb1",
		NoFaults: true,
		Dial:     dial,
		Metrics:  m,
		Logger:   testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ml.Alert(Event{ScopeInstance, "VI_1", StateMaster, 100})
	ml.Alert(Event{ScopeInstance, "VI_1", StateMaster, 100}) // same state again: no mail
	ml.Alert(Event{ScopeInstance, "VI_1", StateFault, 100})  // no_email_faults
	ml.Alert(Event{ScopeInstance, "VI_1", StateMasterRxLowerPri, 100})
	ml.Alert(Event{ScopeGroup, "VG_1", StateBackup, 0})
	ml.Close(t.Context())
	if sent, failed := counterValue(m.smtp.WithLabelValues("sent")), counterValue(m.smtp.WithLabelValues("failed")); sent != 2 || failed != 0 {
		t.Fatalf("sent %v, failed %v; want 2, 0; exim log:\n%s", sent, failed, ex.Log())
	}
	var msgs [][2]string
	netns.Eventually(t, 30*time.Second, "2 messages in exim's spool", func() error {
		all := ex.Messages()
		if len(all) != 2 {
			return fmt.Errorf("%d messages", len(all))
		}
		ids := make([]string, 0, 2)
		for id := range all {
			ids = append(ids, id)
		}
		sort.Strings(ids) // exim ids grow with time
		msgs = [][2]string{all[ids[0]], all[ids[1]]}
		return nil
	})
	for i, want := range []struct{ subject, body string }{
		{"[lb1] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
		{"[lb1] VRRP Group VG_1 - Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="},
	} {
		hdr, body := msgs[i][0], msgs[i][1]
		for _, s := range []string{
			"<lbd@lb1.lbd.test>",               // envelope sender
			"ops@lbd.test\nnoc@lbd.test\n",     // envelope recipients
			"Subject: " + want.subject + "\n",  // headers as sent
			"From: lbd@lb1.lbd.test\n",         //
			"To: ops@lbd.test, noc@lbd.test\n", //
			"X-Mailer: lbd\n",                  //
			"helo_name lb1.lbd.test",           // HELO/EHLO name
			"host_address [192.0.2.1]:",        // came across the link
		} {
			if !strings.Contains(hdr, s) {
				t.Errorf("message %d: header file lacks %q:\n%s", i, s, hdr)
			}
		}
		if !strings.Contains(body, want.body+"\n") {
			t.Errorf("message %d: body %q lacks %q", i, body, want.body)
		}
	}
}

// TestMailerDeadServer: a refused connection and a server that never
// answers each cost one failed, counted mail; Alert never blocks; a full
// queue drops.
func TestMailerDeadServer(t *testing.T) {
	// Refused: a port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	m := newMetrics(t)
	ml, err := NewMailer(MailOptions{Server: refused, To: []string{"a@lbd.test"}, Metrics: m, ConnectTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ml.Alert(Event{ScopeInstance, "VI_1", StateMaster, 100})
	ml.Close(t.Context())
	if got := counterValue(m.smtp.WithLabelValues("failed")); got != 1 {
		t.Errorf("refused: failed = %v, want 1", got)
	}

	// Silent: accepts, never greets.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	m2 := newMetrics(t)
	ml2, err := NewMailer(MailOptions{Server: silent.Addr().String(), To: []string{"a@lbd.test"}, Metrics: m2,
		ConnectTimeout: 300 * time.Millisecond, QueueLen: 1})
	if err != nil {
		t.Fatal(err)
	}
	ml2.Alert(Event{ScopeInstance, "VI_1", StateMaster, 100})
	c := <-accepted // the first mail is being sent (and will time out)
	defer c.Close()
	ml2.Alert(Event{ScopeInstance, "VI_1", StateBackup, 100}) // queued
	ml2.Alert(Event{ScopeInstance, "VI_1", StateFault, 100})  // queue full: dropped
	ml2.Close(t.Context())
	for r, want := range map[string]float64{"failed": 2, "dropped": 1, "sent": 0} {
		if got := counterValue(m2.smtp.WithLabelValues(r)); got != want {
			t.Errorf("silent server: %s = %v, want %v", r, got, want)
		}
	}
}

func TestMailerBadOptions(t *testing.T) {
	if _, err := NewMailer(MailOptions{}); err == nil {
		t.Error("no server: no error")
	}
	if _, err := NewMailer(MailOptions{Server: "127.0.0.1", To: []string{"a@b\r\nRCPT TO:<x@y>"}}); err == nil {
		t.Error("CRLF in an address: no error")
	}
	ml, err := NewMailer(MailOptions{Server: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer ml.Close(t.Context())
	if ml.opts.Server != "192.0.2.9:25" {
		t.Errorf("server %q, want port 25 added", ml.opts.Server)
	}
	if !strings.HasPrefix(ml.opts.From, "keepalived@") {
		t.Errorf("default from %q", ml.opts.From)
	}
	ml6, err := NewMailer(MailOptions{Server: "2001:db8::25"})
	if err != nil {
		t.Fatal(err)
	}
	defer ml6.Close(t.Context())
	if ml6.opts.Server != "[2001:db8::25]:25" {
		t.Errorf("server %q, want [2001:db8::25]:25", ml6.opts.Server)
	}
}

// testLogger logs to the test.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
