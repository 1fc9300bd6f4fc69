package vrrp

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the runtime's Prometheus series. VRRP series carry the labels
// instance (the vrrp_instance name) and vrid; receive drops carry
// interface and reason. The receive series (adverts and priority-0 adverts
// received, drops, the master's priority and last-seen age) are read from
// the runtime at scrape time and include what each instance's Offload (the
// XDP program) counted: one series per instance whatever the datapath.
//
//	lbd_vrrp_state{instance,vrid}                    0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (98 STOP)
//	lbd_vrrp_priority{instance,vrid}                 effective priority
//	lbd_vrrp_configured_priority{instance,vrid}      configured priority
//	lbd_vrrp_transitions_total{instance,vrid,to,reason}
//	lbd_vrrp_adverts_sent_total{instance,vrid}
//	lbd_vrrp_adverts_received_total{instance,vrid}   accepted adverts (socket + offload)
//	lbd_vrrp_priority_zero_sent_total{instance,vrid}
//	lbd_vrrp_priority_zero_received_total{instance,vrid}
//	lbd_vrrp_garp_sent_total{instance,vrid}          gratuitous ARPs and unsolicited NAs
//	lbd_vrrp_packets_dropped_total{interface,reason} rejected VRRP packets (Reason; socket + offload)
//	lbd_vrrp_master_priority{instance,vrid}          priority of the master (BACKUP: the one followed; MASTER: ours)
//	lbd_vrrp_master_last_seen_seconds{instance,vrid} BACKUP: age of the last advert accepted from the master
//	lbd_vrrp_inbox_overflow_total{instance,vrid}     accepted adverts lost: the instance's queue was full
//	lbd_vrrp_errors_total{instance,vrid,op}          failed side effects: send_advert, add_vip, remove_vip, garp, panic
//	lbd_vrrp_timer_lateness_seconds                  histogram: timer fire time minus its deadline
//	lbd_vrrp_sync_group_state{group}                 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (98 STOP)
//
// The series of an instance or group removed by a reload are deleted.
type Metrics struct {
	state      *prometheus.GaugeVec
	prio       *prometheus.GaugeVec
	confPrio   *prometheus.GaugeVec
	trans      *prometheus.CounterVec
	sent       *prometheus.CounterVec
	zeroSent   *prometheus.CounterVec
	garp       *prometheus.CounterVec
	overflow   *prometheus.CounterVec
	errors     *prometheus.CounterVec
	lateness   prometheus.Histogram
	groups     *prometheus.GaugeVec
	collectors []prometheus.Collector

	// rt is the runtime the receive series are read from (NewRuntime
	// binds it; one runtime per Metrics).
	rt atomic.Pointer[Runtime]
}

// LatenessBuckets are the upper bounds of lbd_vrrp_timer_lateness_seconds:
// 10µs to 1s, so that both a healthy host (tens of µs) and a starved VM
// (hundreds of ms, a missed advert at advert_int 0.1) are resolved.
var LatenessBuckets = []float64{
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3,
	100e-3, 250e-3, 500e-3, 1,
}

// Error operations, the op label of lbd_vrrp_errors_total.
const (
	OpSendAdvert = "send_advert"
	OpAddVIP     = "add_vip"
	OpRemoveVIP  = "remove_vip"
	OpGARP       = "garp"
	OpPanic      = "panic"
)

// NewMetrics creates the series and registers them with reg; a nil reg
// leaves them unregistered (they still count, which tests read).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	inst := []string{"instance", "vrid"}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, inst)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append(append([]string(nil), inst...), labels...))
	}
	m := &Metrics{
		state:    gauge("lbd_vrrp_state", "VRRP instance state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived's numbering), 98 STOP."),
		prio:     gauge("lbd_vrrp_priority", "Effective VRRP priority (configured plus tracking weights)."),
		confPrio: gauge("lbd_vrrp_configured_priority", "Configured VRRP priority."),
		trans:    counter("lbd_vrrp_transitions_total", "VRRP state transitions, by new state and reason.", "to", "reason"),
		sent:     counter("lbd_vrrp_adverts_sent_total", "VRRP adverts sent (one per destination)."),
		zeroSent: counter("lbd_vrrp_priority_zero_sent_total", "VRRP adverts with priority 0 sent (the master resigning)."),
		garp:     counter("lbd_vrrp_garp_sent_total", "Gratuitous ARPs and unsolicited neighbour advertisements sent."),
		overflow: counter("lbd_vrrp_inbox_overflow_total", "Accepted VRRP adverts lost because the instance's queue was full."),
		errors:   counter("lbd_vrrp_errors_total", "Failed VRRP side effects, by operation (send_advert, add_vip, remove_vip, garp, panic).", "op"),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lbd_vrrp_timer_lateness_seconds",
			Help:    "How late VRRP timers (advert, master-down, GARP) ran: fire time minus deadline.",
			Buckets: LatenessBuckets,
		}),
		groups: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lbd_vrrp_sync_group_state",
			Help: "VRRP sync group state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 98 STOP.",
		}, []string{"group"}),
	}
	m.collectors = []prometheus.Collector{m.state, m.prio, m.confPrio, m.trans, m.sent,
		m.zeroSent, m.garp, m.overflow, m.errors, m.lateness, m.groups, rxCollector{m}}
	if reg != nil {
		for _, c := range m.collectors {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register vrrp metrics: %w", err)
			}
		}
	}
	return m, nil
}

// ObserveLateness records one timer's lateness.
func (m *Metrics) ObserveLateness(d time.Duration) { m.lateness.Observe(d.Seconds()) }

// instMetrics are one instance's series, bound once so that the hot paths
// do no label lookups.
type instMetrics struct {
	m                          *Metrics
	name, vrid                 string
	state, prio, confPrio      prometheus.Gauge
	sent, zeroSent, garp, over prometheus.Counter
}

func (m *Metrics) instance(name string, vrid uint8) *instMetrics {
	v := strconv.Itoa(int(vrid))
	return &instMetrics{
		m: m, name: name, vrid: v,
		state:    m.state.WithLabelValues(name, v),
		prio:     m.prio.WithLabelValues(name, v),
		confPrio: m.confPrio.WithLabelValues(name, v),
		sent:     m.sent.WithLabelValues(name, v),
		zeroSent: m.zeroSent.WithLabelValues(name, v),
		garp:     m.garp.WithLabelValues(name, v),
		over:     m.overflow.WithLabelValues(name, v),
	}
}

func (im *instMetrics) transition(to State, c Cause) {
	im.m.trans.WithLabelValues(im.name, im.vrid, to.String(), c.String()).Inc()
}

func (im *instMetrics) error(op string) {
	im.m.errors.WithLabelValues(im.name, im.vrid, op).Inc()
}

// dropCounters are one receive port's rejections, by Reason.
type dropCounters [NumReasons]atomic.Uint64

// The receive series, read from the runtime at scrape time.
var (
	descReceived = prometheus.NewDesc("lbd_vrrp_adverts_received_total",
		"VRRP adverts accepted for the instance, by its socket or its datapath offload (XDP).",
		[]string{"instance", "vrid"}, nil)
	descZeroRecv = prometheus.NewDesc("lbd_vrrp_priority_zero_received_total",
		"VRRP adverts with priority 0 (the master resigning) accepted for the instance.",
		[]string{"instance", "vrid"}, nil)
	descDropped = prometheus.NewDesc("lbd_vrrp_packets_dropped_total",
		"VRRP packets rejected on receive, by the sockets or the datapath offload, by interface and reason.",
		[]string{"interface", "reason"}, nil)
	descMasterPrio = prometheus.NewDesc("lbd_vrrp_master_priority",
		"Priority of the current master: the one a BACKUP follows, or the instance's own while MASTER.",
		[]string{"instance", "vrid"}, nil)
	descMasterSeen = prometheus.NewDesc("lbd_vrrp_master_last_seen_seconds",
		"Seconds since the last advert accepted from the master a BACKUP follows (an age, not a timestamp).",
		[]string{"instance", "vrid"}, nil)
)

// rxCollector emits the receive series: the runtime's own counts plus
// each instance's Offload.
type rxCollector struct{ m *Metrics }

func (c rxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descZeroRecv, descDropped, descMasterPrio, descMasterSeen} {
		ch <- d
	}
}

func (c rxCollector) Collect(ch chan<- prometheus.Metric) {
	rt := c.m.rt.Load()
	if rt == nil {
		return
	}
	now := time.Now()
	rx := rt.rxSnapshot(now)
	for _, in := range rx.instances {
		v := strconv.Itoa(int(in.vrid))
		ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(in.received), in.name, v)
		ch <- prometheus.MustNewConstMetric(descZeroRecv, prometheus.CounterValue, float64(in.zeroRecv), in.name, v)
		if in.masterKnown {
			ch <- prometheus.MustNewConstMetric(descMasterPrio, prometheus.GaugeValue, float64(in.masterPrio), in.name, v)
		}
		if !in.lastSeen.IsZero() {
			ch <- prometheus.MustNewConstMetric(descMasterSeen, prometheus.GaugeValue, max(now.Sub(in.lastSeen).Seconds(), 0), in.name, v)
		}
	}
	for _, iface := range rx.ifaceOrder {
		d := rx.drops[iface]
		for r := Reason(1); r < NumReasons; r++ {
			ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(d[r]), iface, r.String())
		}
	}
}

func (m *Metrics) groupState(name string, s State) {
	m.groups.WithLabelValues(name).Set(float64(s.Metric()))
}

func (m *Metrics) forgetGroup(name string) {
	m.groups.DeleteLabelValues(name)
}

// forgetInstance deletes the series of an instance a reload removed.
func (m *Metrics) forgetInstance(im *instMetrics) {
	l := prometheus.Labels{"instance": im.name, "vrid": im.vrid}
	for _, v := range []*prometheus.GaugeVec{m.state, m.prio, m.confPrio} {
		v.DeletePartialMatch(l)
	}
	for _, v := range []*prometheus.CounterVec{m.trans, m.sent, m.zeroSent, m.garp, m.overflow, m.errors} {
		v.DeletePartialMatch(l)
	}
}
