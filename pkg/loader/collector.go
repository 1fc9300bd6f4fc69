package loader

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric descriptions. VRID series are labelled by interface, vlan, vrid
// and family (the loader does not know instance names); the daemon may
// join them with its own lbd_vrrp_* series on those labels.
var (
	vridLabels = []string{"interface", "vlan", "vrid", "family"}

	descAdverts = prometheus.NewDesc("lbd_vrrp_adverts_received_total",
		"VRRP adverts accepted by the datapath.", vridLabels, nil)
	descPrioZero = prometheus.NewDesc("lbd_vrrp_priority_zero_received_total",
		"VRRP adverts with priority 0 (the master resigning) accepted by the datapath.", vridLabels, nil)
	descDropped = prometheus.NewDesc("lbd_vrrp_packets_dropped_total",
		"VRRP packets for a configured VRID that the datapath rejected and dropped, by reason.",
		[]string{"interface", "reason"}, nil)
	descPassed = prometheus.NewDesc("lbd_vrrp_packets_passed_total",
		"VRRP packets the datapath left to the kernel (no configured VRID, fragments, bad IP headers), by reason.",
		[]string{"interface", "reason"}, nil)
	descEventsLost = prometheus.NewDesc("lbd_vrrp_events_lost_total",
		"Datapath events lost because the ring buffer was full.", []string{"interface"}, nil)
	descMasterPrio = prometheus.NewDesc("lbd_vrrp_master_priority",
		"Priority in the last advert accepted from the current master.", vridLabels, nil)
	descMasterSeen = prometheus.NewDesc("lbd_vrrp_master_last_seen_seconds",
		"Seconds since the datapath last accepted an advert from the current master (age, not a timestamp).",
		vridLabels, nil)
	descTier = prometheus.NewDesc("lbd_datapath_tier",
		"Datapath tier per interface: 1 for the active tier, 0 for the others.",
		[]string{"interface", "tier"}, nil)
)

// passReasons are the reasons the program passes a VRRP packet for.
var passReasons = []Reason{
	Reason(bpfVrrpReasonVRRP_R_PACKET_LEN), Reason(bpfVrrpReasonVRRP_R_CHECKSUM),
	Reason(bpfVrrpReasonVRRP_R_VRID_UNKNOWN), Reason(bpfVrrpReasonVRRP_R_FRAGMENT),
}

type collector struct{ l *Loader }

// NewCollector returns a collector of the loader's counters and state, read
// from the maps (per-CPU values summed) at scrape time. The caller
// registers it.
func NewCollector(l *Loader) prometheus.Collector { return collector{l} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAdverts, descPrioZero, descDropped, descPassed,
		descEventsLost, descMasterPrio, descMasterSeen, descTier} {
		ch <- d
	}
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
	name := func(idx int) string {
		if n, ok := names[idx]; ok {
			return n
		}
		return "if" + strconv.Itoa(idx)
	}
	labels := func(k VRIDKey) []string {
		return []string{name(k.Ifindex), strconv.Itoa(int(k.VLAN)), strconv.Itoa(int(k.VRID)), k.Family.String()}
	}

	for _, ifc := range l.Interfaces() {
		for _, t := range Tiers {
			v := 0.0
			if t == ifc.Tier {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descTier, prometheus.GaugeValue, v, ifc.Name, t.String())
		}
	}

	s, err := l.Stats()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descAdverts, err)
		return
	}
	dropped := map[string]*[NumReasons]uint64{}
	for k, v := range s.VRIDs {
		lv := labels(k)
		ch <- prometheus.MustNewConstMetric(descAdverts, prometheus.CounterValue, float64(v.Accepted), lv...)
		ch <- prometheus.MustNewConstMetric(descPrioZero, prometheus.CounterValue, float64(v.PriorityZero), lv...)
		d := dropped[lv[0]]
		if d == nil {
			d = new([NumReasons]uint64)
			dropped[lv[0]] = d
		}
		for r, n := range v.Rejected {
			d[r] += n
		}
		if mi, ok := l.MasterInfo(k); ok {
			ch <- prometheus.MustNewConstMetric(descMasterPrio, prometheus.GaugeValue, float64(mi.Priority), lv...)
			ch <- prometheus.MustNewConstMetric(descMasterSeen, prometheus.GaugeValue, time.Since(mi.LastSeen).Seconds(), lv...)
		}
	}
	for ifn, d := range dropped {
		for r := 1; r < NumReasons; r++ {
			ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(d[r]), ifn, Reason(r).String())
		}
	}
	for idx, v := range s.Interfaces {
		ifn := name(idx)
		for _, r := range passReasons {
			ch <- prometheus.MustNewConstMetric(descPassed, prometheus.CounterValue, float64(v.Passed[r]), ifn, r.String())
		}
		ch <- prometheus.MustNewConstMetric(descEventsLost, prometheus.CounterValue, float64(v.EventsLost), ifn)
	}
}
