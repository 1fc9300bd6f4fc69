package vrrp

import "time"

// SkewTime returns the Skew_Time of a router of this priority, computed as
// keepalived does (vrrp.h VRRP_TIMER_SKEW, integer microseconds):
//
//	v2 (RFC 3768 6.1): (256 - Priority) / 256 seconds
//	v3 (RFC 5798 6.1): ((256 - Priority) * Master_Adver_Interval) / 256,
//	                   with the interval in whole centiseconds
//
// keepalived uses the effective (tracked) priority.
func SkewTime(version, priority uint8, masterAdverInterval time.Duration) time.Duration {
	p := int64(256 - int(priority))
	if version == 3 {
		cs := int64(masterAdverInterval / centisecond)
		return time.Duration(p*cs*625/16) * time.Microsecond
	}
	return time.Duration(p*1_000_000/256) * time.Microsecond
}

// MasterDownInterval returns the Master_Down_Interval: adverts (keepalived's
// down_timer_adverts, 3 in the RFCs) times the master's advert interval, plus
// SkewTime (RFC 3768 6.1, RFC 5798 6.1).
func MasterDownInterval(version, priority uint8, masterAdverInterval time.Duration, adverts int) time.Duration {
	return time.Duration(adverts)*masterAdverInterval + SkewTime(version, priority, masterAdverInterval)
}
