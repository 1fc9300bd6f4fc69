package notify

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbdproject/lbd/pkg/script"
)

// Metrics are the notifiers' Prometheus series. A nil *Metrics records
// nothing.
//
//	lbd_notify_scripts_total{result}     notify scripts by outcome, and "dropped" (queue full, shutdown)
//	lbd_notify_fifo_lines_total{result}  FIFO lines "written" or "dropped" (no room, error)
//	lbd_smtp_alerts_total{result}        mails "sent", "failed" or "dropped" (queue full, shutdown)
type Metrics struct {
	scripts *prometheus.CounterVec
	fifo    *prometheus.CounterVec
	smtp    *prometheus.CounterVec
}

// NewMetrics creates the series, with every result at 0, and registers
// them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		scripts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbd_notify_scripts_total",
			Help: "Notify scripts run, by result (success, failure, signaled, timeout, canceled, exec_error), or dropped.",
		}, []string{"result"}),
		fifo: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbd_notify_fifo_lines_total",
			Help: "Lines written to notify FIFOs, or dropped because the FIFO was full or failed.",
		}, []string{"result"}),
		smtp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbd_smtp_alerts_total",
			Help: "SMTP alerts sent, failed, or dropped (queue full, shutdown).",
		}, []string{"result"}),
	}
	for _, o := range script.Outcomes() {
		m.scripts.WithLabelValues(o.String())
	}
	m.scripts.WithLabelValues("dropped")
	m.fifo.WithLabelValues("written")
	m.fifo.WithLabelValues("dropped")
	for _, r := range []string{"sent", "failed", "dropped"} {
		m.smtp.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.scripts, m.fifo, m.smtp} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register notify metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) script(result string) {
	if m != nil {
		m.scripts.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) fifoLine(result string) {
	if m != nil {
		m.fifo.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) mail(result string) {
	if m != nil {
		m.smtp.WithLabelValues(result).Inc()
	}
}
