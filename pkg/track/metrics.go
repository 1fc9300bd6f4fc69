package track

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the trackers' Prometheus series. A nil *Metrics records
// nothing.
//
//	lbd_track_script_runs_total{script,result}  vrrp_script runs by outcome
//	lbd_track_script_skipped_total{script}      runs skipped: previous still running
//	lbd_track_up{kind,name}                     1 up, 0 down, -1 no result yet
//	lbd_track_file_value{name}                  number read from a track_file
//	lbd_track_process_count{name}               matching processes of a vrrp_track_process
type Metrics struct {
	scriptRuns  *prometheus.CounterVec
	scriptSkips *prometheus.CounterVec
	up          *prometheus.GaugeVec
	fileValue   *prometheus.GaugeVec
	procCount   *prometheus.GaugeVec
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		scriptRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbd_track_script_runs_total",
			Help: "vrrp_script runs, by script and result (success, failure, signaled, timeout, canceled, exec_error).",
		}, []string{"script", "result"}),
		scriptSkips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbd_track_script_skipped_total",
			Help: "vrrp_script runs skipped because the previous run was still going.",
		}, []string{"script"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lbd_track_up",
			Help: "State of a tracked interface, script or process: 1 up, 0 down, -1 no result yet.",
		}, []string{"kind", "name"}),
		fileValue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lbd_track_file_value",
			Help: "Number last read from a track_file.",
		}, []string{"name"}),
		procCount: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lbd_track_process_count",
			Help: "Running processes matching a vrrp_track_process.",
		}, []string{"name"}),
	}
	for _, c := range []prometheus.Collector{m.scriptRuns, m.scriptSkips, m.up, m.fileValue, m.procCount} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register track metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) scriptRun(name, result string) {
	if m != nil {
		m.scriptRuns.WithLabelValues(name, result).Inc()
	}
}

func (m *Metrics) scriptSkip(name string) {
	if m != nil {
		m.scriptSkips.WithLabelValues(name).Inc()
	}
}

func (m *Metrics) state(k Kind, name string, s State) {
	if m == nil {
		return
	}
	v := -1.0
	switch s {
	case StateUp:
		v = 1
	case StateDown:
		v = 0
	}
	m.up.WithLabelValues(k.String(), name).Set(v)
}

func (m *Metrics) file(name string, v int64) {
	if m != nil {
		m.fileValue.WithLabelValues(name).Set(float64(v))
	}
}

func (m *Metrics) processes(name string, n int) {
	if m != nil {
		m.procCount.WithLabelValues(name).Set(float64(n))
	}
}
