package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"strings"
	"sync"
	"time"
)

// MailOptions configures a Mailer: keepalived's global_defs email keywords.
type MailOptions struct {
	// Server is smtp_server: "host" or "host:port" (an IPv6 address in
	// brackets with a port); the port defaults to 25.
	Server string
	// HeloName is smtp_helo_name (default: the host name).
	HeloName string
	// From is notification_email_from (default keepalived@HOSTNAME).
	From string
	// To is notification_email; no recipients means no mail.
	To []string
	// RouterID is router_id, in every subject (default: the host name).
	RouterID string
	// ConnectTimeout is smtp_connect_timeout (default 30s). It bounds the
	// connection and then each exchange with the server.
	ConnectTimeout time.Duration
	// NoFaults is no_email_faults: no mail for FAULT.
	NoFaults bool
	// QueueLen bounds the mails waiting to be sent (default 32); beyond
	// it, alerts are dropped, logged and counted.
	QueueLen int
	Logger   *slog.Logger
	Metrics  *Metrics
	// Now stamps the Date header (default time.Now).
	Now func() time.Time
	// Dial connects to the server (default net.Dialer's DialContext, in
	// the calling process's network namespace). The context carries
	// ConnectTimeout.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Mailer sends keepalived's smtp_alert mails from one goroutine. Alert
// never blocks; an SMTP server that is down or slow costs a logged and
// counted failure, nothing else.
type Mailer struct {
	opts MailOptions
	log  *slog.Logger

	mu     sync.Mutex
	last   map[string]State // last state mailed, per scope and name
	queue  chan mail
	closed bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type mail struct {
	subject, body string
}

// NewMailer applies defaults and starts the sending goroutine.
func NewMailer(opts MailOptions) (*Mailer, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	if opts.Server == "" {
		return nil, errors.New("smtp alerts: no smtp_server")
	}
	if _, _, err := net.SplitHostPort(opts.Server); err != nil {
		opts.Server = net.JoinHostPort(strings.Trim(opts.Server, "[]"), "25")
	}
	if opts.HeloName == "" {
		opts.HeloName = host
	}
	if opts.From == "" {
		opts.From = "keepalived@" + host
	}
	if opts.RouterID == "" {
		opts.RouterID = host
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 30 * time.Second
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 32
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Dial == nil {
		opts.Dial = (&net.Dialer{}).DialContext
	}
	for _, a := range append([]string{opts.From}, opts.To...) {
		if strings.ContainsAny(a, "\r\n<>") {
			return nil, fmt.Errorf("smtp alerts: bad address %q", a)
		}
	}
	m := &Mailer{
		opts:  opts,
		log:   opts.Logger.With("smtp_server", opts.Server),
		last:  map[string]State{},
		queue: make(chan mail, opts.QueueLen),
		done:  make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	go m.loop()
	return m, nil
}

// AlertText returns the subject and body keepalived mails for ev
// (vrrp_notify.c vrrp_smtp_notifier, vrrp_sync_smtp_notifier and
// core/smtp.c smtp_alert), and false for events that send no mail.
func AlertText(routerID string, ev Event) (subject, body string, ok bool) {
	var what string
	switch ev.State {
	case StateMaster:
		what = "Entering MASTER state"
	case StateBackup:
		what = "Entering BACKUP state"
	case StateFault:
		what = "Entering FAULT state"
	case StateStop:
		what = "Stopping"
	case StateDeleted:
		if ev.Scope == ScopeGroup {
			return "", "", false
		}
		what = "Deleted"
	default:
		return "", "", false
	}
	if ev.Scope == ScopeGroup {
		switch ev.State {
		case StateStop:
			body = "=> All VRRP group instances are now stopping <="
		default:
			body = "=> All VRRP group instances are now in " + ev.State.String() + " state <="
		}
		return fmt.Sprintf("[%s] VRRP Group %s - %s", routerID, ev.Name, what), body, true
	}
	switch ev.State {
	case StateMaster:
		body = "=> VRRP Instance is now owning VRRP VIPs <="
	case StateBackup, StateFault:
		body = "=> VRRP Instance is no longer owning VRRP VIPs <="
	case StateStop:
		body = "=> VRRP Instance stopping <="
	case StateDeleted:
		body = "=> VRRP Deleted at reload <="
	}
	return fmt.Sprintf("[%s] VRRP Instance %s - %s", routerID, ev.Name, what), body, true
}

// Compose builds the message keepalived 2.2.7 sends: Date, From, Subject,
// X-Mailer, To (all recipients, comma separated), a blank line, the body.
// X-Mailer says lbd.
func Compose(date time.Time, from string, to []string, subject, body string) []byte {
	var b strings.Builder
	b.WriteString("Date: " + date.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("From: " + from + "\r\n")
	b.WriteString("Subject: " + oneLine(subject) + "\r\n")
	b.WriteString("X-Mailer: lbd\r\n")
	b.WriteString("To: " + strings.Join(to, ", ") + "\r\n")
	b.WriteString("\r\n")
	b.WriteString(body + "\r\n")
	return []byte(b.String())
}

// oneLine keeps a header on one line whatever a name holds.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// Alert queues the mail for ev, unless it is not mailed (events, FAULT
// with no_email_faults) or the same scope and name already had a mail for
// this state last (keepalived's last_email_state). It never blocks.
func (m *Mailer) Alert(ev Event) {
	if len(m.opts.To) == 0 {
		return
	}
	if ev.State == StateFault && m.opts.NoFaults {
		return
	}
	subject, body, ok := AlertText(m.opts.RouterID, ev)
	if !ok {
		return
	}
	key := ev.Scope.String() + " " + ev.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last[key] == ev.State {
		return
	}
	m.last[key] = ev.State
	if m.closed {
		m.drop(subject, "mailer closed")
		return
	}
	select {
	case m.queue <- mail{subject: subject, body: body}:
	default:
		m.drop(subject, "queue full")
	}
}

func (m *Mailer) drop(subject, why string) {
	m.log.Warn("smtp alert dropped", "subject", subject, "reason", why)
	m.opts.Metrics.mail("dropped")
}

// Close stops accepting alerts and waits for the queued ones to be sent,
// or until ctx ends (the rest are dropped).
func (m *Mailer) Close(ctx context.Context) {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.mu.Unlock()
	select {
	case <-m.done:
	case <-ctx.Done():
		m.cancel()
		<-m.done
	}
	m.cancel()
}

func (m *Mailer) loop() {
	defer close(m.done)
	for ml := range m.queue {
		if m.ctx.Err() != nil {
			m.drop(ml.subject, "shutting down")
			continue
		}
		if err := m.send(m.ctx, ml); err != nil {
			m.log.Warn("smtp alert failed", "subject", ml.subject, "err", err)
			m.opts.Metrics.mail("failed")
			continue
		}
		m.log.Info("smtp alert sent", "subject", ml.subject)
		m.opts.Metrics.mail("sent")
	}
}

// send delivers one mail: HELO (EHLO first), MAIL, one RCPT per
// recipient (any refusal fails the mail, as keepalived), DATA, QUIT.
func (m *Mailer) send(ctx context.Context, ml mail) error {
	dctx, cancel := context.WithTimeout(ctx, m.opts.ConnectTimeout)
	conn, err := m.opts.Dial(dctx, "tcp", m.opts.Server)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// Shutdown interrupts a slow server.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	dc := &deadlineConn{Conn: conn, timeout: m.opts.ConnectTimeout}
	host, _, _ := net.SplitHostPort(m.opts.Server)
	c, err := smtp.NewClient(dc, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(m.opts.HeloName); err != nil {
		return fmt.Errorf("helo: %w", err)
	}
	if err := c.Mail(m.opts.From); err != nil {
		return fmt.Errorf("mail from %s: %w", m.opts.From, err)
	}
	for _, rcpt := range m.opts.To {
		if err := c.Rcpt(rcpt); err != nil {
			return fmt.Errorf("rcpt to %s: %w", rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(Compose(m.opts.Now(), m.opts.From, m.opts.To, ml.subject, ml.body)); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of data: %w", err)
	}
	if err := c.Quit(); err != nil {
		m.log.Debug("smtp quit", "err", err) // the mail is accepted already
	}
	return nil
}

// deadlineConn gives every read and write its own deadline, as keepalived
// applies smtp_connect_timeout to each exchange.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}
