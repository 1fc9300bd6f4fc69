package loader

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions of what only the program sees. The per-VRID counters
// (adverts accepted, rejections by reason) and the master's priority and
// age are not exported here: they belong to a VRRP instance, and the
// daemon adds them to pkg/vrrp's series of that instance (VRIDStats,
// MasterInfo), so that each series has one label set whatever the tier.
// The tier per interface is the daemon's series too (it covers interfaces
// without a program).
var (
	descPassed = prometheus.NewDesc("lbd_vrrp_packets_passed_total",
		"VRRP packets the datapath left to the kernel (no configured VRID, fragments, bad IP headers), by reason.",
		[]string{"interface", "reason"}, nil)
	descEventsLost = prometheus.NewDesc("lbd_vrrp_events_lost_total",
		"Datapath events lost because the ring buffer was full.", []string{"interface"}, nil)
)

// passReasons are the reasons the program passes a VRRP packet for.
var passReasons = []Reason{
	Reason(bpfVrrpReasonVRRP_R_PACKET_LEN), Reason(bpfVrrpReasonVRRP_R_CHECKSUM),
	Reason(bpfVrrpReasonVRRP_R_VRID_UNKNOWN), Reason(bpfVrrpReasonVRRP_R_FRAGMENT),
}

type collector struct{ l *Loader }

// NewCollector returns a collector of the program's per-interface counters
// (lbd_vrrp_packets_passed_total, lbd_vrrp_events_lost_total), read from
// the maps (per-CPU values summed) at scrape time. The caller registers
// it.
func NewCollector(l *Loader) prometheus.Collector { return collector{l} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPassed
	ch <- descEventsLost
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	l := c.l
	l.mu.Lock()
	closed := l.closed
	names := make(map[int]string, len(l.names))
	for k, v := range l.names {
		names[k] = v
	}
	l.mu.Unlock()
	if closed {
		return
	}
	s, err := l.Stats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descPassed, err)
		return
	}
	for idx, v := range s.Interfaces {
		ifn, ok := names[idx]
		if !ok {
			ifn = "if" + strconv.Itoa(idx)
		}
		for _, r := range passReasons {
			ch <- prometheus.MustNewConstMetric(descPassed, prometheus.CounterValue, float64(v.Passed[r]), ifn, r.String())
		}
		ch <- prometheus.MustNewConstMetric(descEventsLost, prometheus.CounterValue, float64(v.EventsLost), ifn)
	}
}
