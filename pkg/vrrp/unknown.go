package vrrp

import (
	"sync"
	"time"
)

// DefaultUnknownVRIDLogInterval is RuntimeOptions.UnknownVRIDLogInterval's
// default.
const DefaultUnknownVRIDLogInterval = time.Minute

// unknownLog rate-limits the lines of global_defs log_unknown_vrids on one
// port (interface and family). keepalived logs every advert of a VRID no
// instance of the receiving socket has ("Unknown VRID(n) received on
// interface(x). ignoring...", vrrp_scheduler.c vrrp_dispatcher_read), so a
// flood of them, or a neighbouring VRRP router at advert_int 0.01, fills
// the log. lbd logs the first advert of each VRID at once, then at most one
// line per interval for that VRID, carrying how many it did not log in
// between. Every one is counted anyway (lbd_vrrp_packets_dropped_total,
// reason vrid_unknown).
type unknownLog struct {
	mu     sync.Mutex
	next   [256]time.Time // the VRID's next line may be logged from then on
	unseen [256]uint64    // adverts of the VRID not logged since its last line
}

// note records an advert of vrid at now; log says whether to log it, and
// unlogged how many adverts of vrid went unlogged before it.
func (u *unknownLog) note(now time.Time, vrid uint8, every time.Duration) (log bool, unlogged uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.Before(u.next[vrid]) {
		u.unseen[vrid]++
		return false, 0
	}
	unlogged = u.unseen[vrid]
	u.unseen[vrid] = 0
	u.next[vrid] = now.Add(every)
	return true, unlogged
}
