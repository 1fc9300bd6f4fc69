package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// ErrNotOffloadable marks a VRID configuration the program cannot check
// (AH authentication, more addresses than it handles): keep such an
// instance on raw sockets alone (do not SetVRID it; its adverts then pass).
var ErrNotOffloadable = errors.New("not offloadable to the datapath")

const centisecond = 10 * time.Millisecond

// validate checks c for key k and returns the map value.
func (c *VRIDConfig) toBPF(k VRIDKey) (bpfVrrpCfg, error) {
	var v bpfVrrpCfg
	if k.Ifindex <= 0 {
		return v, fmt.Errorf("vrid %s: no interface", k)
	}
	if k.VRID == 0 {
		return v, fmt.Errorf("vrid %s: vrid 0 is not valid", k)
	}
	if k.VLAN > 4095 {
		return v, fmt.Errorf("vrid %s: vlan %d out of range", k, k.VLAN)
	}
	alen, max := 4, MaxAddrsIPv4
	switch k.Family {
	case IPv4:
	case IPv6:
		alen, max = 16, MaxAddrsIPv6
	default:
		return v, fmt.Errorf("vrid %s: family %d", k, k.Family)
	}
	switch c.Version {
	case 2:
		if c.Interval <= 0 || c.Interval%time.Second != 0 || c.Interval > 255*time.Second {
			return v, fmt.Errorf("vrid %s: v2 interval %v is not 1..255 whole seconds", k, c.Interval)
		}
		switch c.AuthType {
		case AuthNone, AuthPass:
		case AuthAH:
			return v, fmt.Errorf("vrid %s: auth AH: %w", k, ErrNotOffloadable)
		default:
			return v, fmt.Errorf("vrid %s: auth type %d", k, c.AuthType)
		}
	case 3:
		if c.AuthType != AuthNone {
			return v, fmt.Errorf("vrid %s: v3 has no authentication", k)
		}
		if c.Interval < centisecond || c.Interval > 4095*centisecond {
			return v, fmt.Errorf("vrid %s: v3 interval %v is not 10ms..40.95s", k, c.Interval)
		}
	default:
		return v, fmt.Errorf("vrid %s: version %d", k, c.Version)
	}
	if len(c.VIPs) > max {
		return v, fmt.Errorf("vrid %s: %d addresses, at most %d: %w", k, len(c.VIPs), max, ErrNotOffloadable)
	}
	for _, a := range c.VIPs {
		if !a.IsValid() || (alen == 4) != a.Is4() {
			return v, fmt.Errorf("vrid %s: address %v is not %s", k, a, k.Family)
		}
	}
	if c.LocalAddr.IsValid() && (alen == 4) != c.LocalAddr.Is4() {
		return v, fmt.Errorf("vrid %s: local address %v is not %s", k, c.LocalAddr, k.Family)
	}
	if c.ChecksumCompat > ChecksumLegacy {
		return v, fmt.Errorf("vrid %s: checksum compat %d", k, c.ChecksumCompat)
	}

	v.Version = c.Version
	v.AuthType = c.AuthType
	v.Naddr = uint8(len(c.VIPs))
	v.AdverIntCs = uint16(c.Interval / centisecond)
	if c.AuthType == AuthPass {
		v.AuthPass = c.AuthData
	}
	v.AddrHash = addrHash(c.VIPs)
	if c.LocalAddr.IsValid() {
		b := c.LocalAddr.AsSlice()
		copy(v.OwnAddr[:], b)
	}
	if c.Master {
		v.Flags |= uint8(bpfVrrpCfgFlagVRRP_CFG_MASTER)
	}
	if c.Unicast {
		v.Flags |= uint8(bpfVrrpCfgFlagVRRP_CFG_UNICAST)
		switch c.ChecksumCompat {
		case ChecksumAuto:
			v.Flags |= uint8(bpfVrrpCfgFlagVRRP_CFG_CSUM_ALT)
		case ChecksumLegacy:
			v.Flags |= uint8(bpfVrrpCfgFlagVRRP_CFG_CSUM_ALT_ONLY)
		}
	}
	if c.EnforceAllow {
		v.Flags |= uint8(bpfVrrpCfgFlagVRRP_CFG_ENFORCE_ALLOW)
	}
	if c.SkipAddrCheck {
		v.Flags |= uint8(bpfVrrpCfgFlagVRRP_CFG_SKIP_ADDR_CHECK)
	}
	return v, nil
}

// addrHash is bpf/csum.h's address-list hash: the sum of a mix of each
// address, so that the order of the list does not matter.
func addrHash(addrs []netip.Addr) uint64 {
	var h uint64
	for _, a := range addrs {
		var w [4]uint32
		if a.Is4() {
			b := a.As4()
			w[0] = binary.LittleEndian.Uint32(b[:])
		} else {
			b := a.As16()
			for i := range w {
				w[i] = binary.LittleEndian.Uint32(b[4*i:])
			}
		}
		h += addrMix(w)
	}
	return h
}

const hashSeed = 0x6c62642d76727270 // "lbd-vrrp", as VRRP_HASH_SEED

func fmix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func addrMix(w [4]uint32) uint64 {
	lo := uint64(w[1])<<32 | uint64(w[0])
	hi := uint64(w[3])<<32 | uint64(w[2])
	return fmix64(lo ^ fmix64(hi^hashSeed))
}

// CheckVRID reports whether SetVRID would accept c for k, without
// touching the maps: ErrNotOffloadable (wrapped) for what only the
// raw-socket path handles.
func (l *Loader) CheckVRID(k VRIDKey, c VRIDConfig) error {
	_, err := c.toBPF(k)
	return err
}

// SetVRID hands a VRID to the program: from now on its adverts on that
// interface (and VLAN) are checked, counted and absorbed there. Counters of
// a VRID already present are kept. ErrNotOffloadable: leave it to the
// raw-socket path.
func (l *Loader) SetVRID(k VRIDKey, c VRIDConfig) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.setVRID(k, c)
}

func (l *Loader) setVRID(k VRIDKey, c VRIDConfig) error {
	v, err := c.toBPF(k)
	if err != nil {
		return err
	}
	slot, ok := l.slots[k]
	if !ok {
		if slot, err = l.newSlot(); err != nil {
			return fmt.Errorf("vrid %s: %w", k, err)
		}
	}
	v.Slot = slot
	if err := l.objs.VrrpVrids.Put(k.bpf(), v); err != nil {
		return fmt.Errorf("vrid %s: %w", k, err)
	}
	l.slots[k] = slot
	if err := l.ensureIfStats(k.Ifindex); err != nil {
		return fmt.Errorf("vrid %s: %w", k, err)
	}
	c.VIPs = append([]netip.Addr(nil), c.VIPs...)
	l.vrids[k] = c
	if _, ok := l.names[k.Ifindex]; !ok {
		l.inNS(func() error {
			if ifi, err := net.InterfaceByIndex(k.Ifindex); err == nil {
				l.names[k.Ifindex] = ifi.Name
			}
			return nil
		})
	}
	return nil
}

// newSlot finds a slot no VRID uses and zeroes its counters and master.
func (l *Loader) newSlot() (uint32, error) {
	used := make(map[uint32]bool, len(l.slots))
	for _, s := range l.slots {
		used[s] = true
	}
	max := l.objs.VrrpMaster.MaxEntries()
	for s := uint32(0); s < max; s++ {
		if used[s] {
			continue
		}
		if err := l.objs.VrrpStats.Put(s, make([]bpfVrrpVridStats, l.ncpu)); err != nil {
			return 0, fmt.Errorf("zero counters: %w", err)
		}
		if err := l.objs.VrrpMaster.Put(s, bpfVrrpMaster{}); err != nil {
			return 0, fmt.Errorf("zero master: %w", err)
		}
		return s, nil
	}
	return 0, fmt.Errorf("all %d VRID slots in use", max)
}

// DeleteVRID takes a VRID away from the program (its adverts pass to the
// kernel again) and forgets its counters and master.
func (l *Loader) DeleteVRID(k VRIDKey) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deleteVRID(k.bpf())
}

func (l *Loader) deleteVRID(bk bpfVrrpKey) error {
	k := keyFromBPF(bk)
	if err := l.objs.VrrpVrids.Delete(bk); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete vrid %s: %w", k, err)
	}
	// The slot is zeroed when it is handed out again.
	delete(l.vrids, k)
	delete(l.slots, k)
	return nil
}

// ReplaceVRIDs makes the program's VRIDs exactly want: each is set (see
// SetVRID), and every other VRID in the map, including those a previous lbd
// left, is deleted. Nothing is changed when a config is invalid.
func (l *Loader) ReplaceVRIDs(want map[VRIDKey]VRIDConfig) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, c := range want {
		if _, err := c.toBPF(k); err != nil {
			return err
		}
	}
	for k, c := range want {
		if err := l.setVRID(k, c); err != nil {
			return err
		}
	}
	var stale []bpfVrrpKey
	var bk bpfVrrpKey
	var v bpfVrrpCfg
	it := l.objs.VrrpVrids.Iterate()
	for it.Next(&bk, &v) {
		if _, ok := want[keyFromBPF(bk)]; !ok {
			stale = append(stale, bk)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("replace vrids: %w", err)
	}
	var errs []error
	for _, k := range stale {
		errs = append(errs, l.deleteVRID(k))
	}
	return errors.Join(errs...)
}

// SetMaster tells the program whether this node is master for the VRID:
// while it is, every accepted advert is an event (the master compares
// priorities), and skip_check_adv_addr does not apply.
func (l *Loader) SetMaster(k VRIDKey, master bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.vrids[k]
	if !ok {
		return fmt.Errorf("set master of vrid %s: not configured", k)
	}
	if c.Master == master {
		return nil
	}
	c.Master = master
	return l.setVRID(k, c)
}

// MasterInfo returns the master the program last accepted an advert from,
// false when it has seen none (or the VRID is unknown). The backup's
// master-down timer consults it on expiry: a LastSeen within the master
// down interval means the master is alive (its adverts were absorbed in
// the datapath); Priority 0 means it resigned.
func (l *Loader) MasterInfo(k VRIDKey) (MasterInfo, bool) {
	l.mu.Lock()
	slot, ok := l.slots[k]
	l.mu.Unlock()
	if !ok {
		return MasterInfo{}, false
	}
	return l.masterInfo(slot)
}

func (l *Loader) masterInfo(slot uint32) (MasterInfo, bool) {
	var v bpfVrrpMaster
	if err := l.objs.VrrpMaster.LookupWithFlags(slot, &v, ebpf.LookupLock); err != nil || v.Family == 0 {
		return MasterInfo{}, false
	}
	mi := MasterInfo{
		Priority:       v.Priority,
		Interval:       time.Duration(v.AdverIntCs) * centisecond,
		LegacyChecksum: v.Flags&uint8(bpfVrrpMasterFlagVRRP_MF_LEGACY_CSUM) != 0,
	}
	mi.Addr = addrFromBPF(Family(v.Family), v.Addr)
	now := time.Now()
	mi.LastSeen = monoToTime(now, v.LastSeenNs)
	mi.Changed = monoToTime(now, v.ChangedNs)
	return mi, true
}

// ForgetMaster clears the master recorded for a VRID, so that the next
// advert accepted for it is an event (EventNewSender). A daemon that
// adopts the maps of a previous run calls it for each VRID before its
// instances start: they know no master yet, and the program would
// otherwise absorb the current master's adverts silently. Counters are
// kept.
func (l *Loader) ForgetMaster(k VRIDKey) error {
	l.mu.Lock()
	slot, ok := l.slots[k]
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("forget master of vrid %s: not configured", k)
	}
	if err := l.objs.VrrpMaster.Update(slot, bpfVrrpMaster{}, ebpf.UpdateLock); err != nil {
		return fmt.Errorf("forget master of vrid %s: %w", k, err)
	}
	return nil
}

// LastSeen is the master-down timer's question (pkg/vrrp Options.LastSeen):
// when the program last accepted an advert from the VRID's current master,
// false if none, or if that master resigned (priority 0).
func (l *Loader) LastSeen(k VRIDKey) (time.Time, bool) {
	mi, ok := l.MasterInfo(k)
	if !ok || mi.Priority == 0 {
		return time.Time{}, false
	}
	return mi.LastSeen, true
}

func addrFromBPF(f Family, b [16]byte) netip.Addr {
	if f == IPv4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// The program stamps times with bpf_ktime_get_ns: CLOCK_MONOTONIC, the
// clock behind Go's monotonic readings. monoBase pairs one reading of it
// with a time.Time, once, so that converting needs no system call
// afterwards (x/sys/unix's ClockGettime is one; Go reads the clock through
// the vDSO): the master-down timer of every instance converts on each
// expiry.
var monoBase = sync.OnceValues(func() (time.Time, uint64) {
	var ts unix.Timespec
	before := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Time{}, 0 // not on Linux; monoToTime then says "now"
	}
	after := time.Now()
	return before.Add(after.Sub(before) / 2), uint64(ts.Nano())
})

// monoToTime converts a bpf_ktime_get_ns value to a time.Time carrying
// Go's monotonic reading; now is time.Now(). Zero stays zero (never set).
func monoToTime(now time.Time, ns uint64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	base, baseNs := monoBase()
	mono := baseNs + uint64(now.Sub(base)) // CLOCK_MONOTONIC at now
	if baseNs == 0 || ns >= mono {
		return now
	}
	return now.Add(-time.Duration(mono - ns))
}

func decodeEvent(b []byte) (Event, bool) {
	var e bpfVrrpEvent
	if _, err := binary.Decode(b, binary.NativeEndian, &e); err != nil {
		return Event{}, false
	}
	key := keyFromBPF(e.Key)
	return Event{
		Key:            key,
		Kind:           EventKind(e.Kind),
		Addr:           addrFromBPF(key.Family, e.Addr),
		Priority:       e.Priority,
		PrevPriority:   e.PrevPriority,
		Interval:       time.Duration(e.AdverIntCs) * centisecond,
		LegacyChecksum: e.Flags&uint8(bpfVrrpMasterFlagVRRP_MF_LEGACY_CSUM) != 0,
		Time:           monoToTime(time.Now(), e.TsNs),
	}, true
}

// AllowEntry is one allowed VRRP sender (a unicast peer, or a prefix) and
// the TTL / hop limit its adverts may arrive with. MinTTL = MaxTTL = 0
// means any (keepalived's defaults 0..255).
type AllowEntry struct {
	Prefix         netip.Prefix
	MinTTL, MaxTTL uint8
}

func allowKey(ifindex int, p netip.Prefix) bpfVrrpAllowKey {
	k := bpfVrrpAllowKey{Ifindex: uint32(ifindex)}
	a := p.Addr()
	bits := p.Bits()
	if a.Is4() {
		a = netip.AddrFrom16(a.As16()) // IPv4-mapped
		bits += 96
	}
	k.Addr = a.As16()
	k.Prefixlen = uint32(32 + bits)
	return k
}

// SetAllowList replaces the allowed VRRP senders of an interface, enforced
// for its VRIDs with EnforceAllow.
func (l *Loader) SetAllowList(ifindex int, entries []AllowEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := map[bpfVrrpAllowKey]bpfVrrpAllowVal{}
	for _, e := range entries {
		if !e.Prefix.IsValid() {
			return fmt.Errorf("allow list of if%d: invalid prefix %v", ifindex, e.Prefix)
		}
		v := bpfVrrpAllowVal{TtlMin: e.MinTTL, TtlMax: e.MaxTTL}
		if v.TtlMin == 0 && v.TtlMax == 0 {
			v.TtlMax = 255
		}
		if v.TtlMin > v.TtlMax {
			return fmt.Errorf("allow list of if%d: %v: min ttl %d > max ttl %d", ifindex, e.Prefix, e.MinTTL, e.MaxTTL)
		}
		want[allowKey(ifindex, e.Prefix.Masked())] = v
	}
	var stale []bpfVrrpAllowKey
	var k bpfVrrpAllowKey
	var v bpfVrrpAllowVal
	it := l.objs.VrrpAllow.Iterate()
	for it.Next(&k, &v) {
		if _, ok := want[k]; !ok && k.Ifindex == uint32(ifindex) {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("allow list of if%d: %w", ifindex, err)
	}
	for k, v := range want {
		if err := l.objs.VrrpAllow.Put(k, v); err != nil {
			return fmt.Errorf("allow list of if%d: %w", ifindex, err)
		}
	}
	for _, k := range stale {
		if err := l.objs.VrrpAllow.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("allow list of if%d: %w", ifindex, err)
		}
	}
	return nil
}

// ensureIfStats creates the interface's counters (the program only
// increments existing ones).
func (l *Loader) ensureIfStats(ifindex int) error {
	zero := make([]bpfVrrpIfStats, l.ncpu)
	err := l.objs.VrrpIfStats.Update(uint32(ifindex), zero, ebpf.UpdateNoExist)
	if err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("interface counters: %w", err)
	}
	return nil
}

// VRIDStats reads one VRID's counters, summing the per-CPU values; false
// when the VRID is not configured.
func (l *Loader) VRIDStats(k VRIDKey) (VRIDStats, bool) {
	l.mu.Lock()
	slot, ok := l.slots[k]
	closed := l.closed
	l.mu.Unlock()
	if !ok || closed {
		return VRIDStats{}, false
	}
	var vs []bpfVrrpVridStats
	if err := l.objs.VrrpStats.Lookup(slot, &vs); err != nil {
		return VRIDStats{}, false
	}
	return sumVRIDStats(vs), true
}

func sumVRIDStats(vs []bpfVrrpVridStats) VRIDStats {
	var sum VRIDStats
	for _, c := range vs {
		sum.Accepted += c.Rx
		sum.PriorityZero += c.PriZero
		for r := range sum.Rejected {
			sum.Rejected[r] += c.Drops[r]
		}
	}
	return sum
}

// Stats reads every counter, summing the per-CPU values.
func (l *Loader) Stats() (Stats, error) {
	s := Stats{VRIDs: map[VRIDKey]VRIDStats{}, Interfaces: map[int]IfaceStats{}}
	l.mu.Lock()
	slots := make(map[VRIDKey]uint32, len(l.slots))
	for k, v := range l.slots {
		slots[k] = v
	}
	l.mu.Unlock()
	var vs []bpfVrrpVridStats
	for k, slot := range slots {
		if err := l.objs.VrrpStats.Lookup(slot, &vs); err != nil {
			return s, fmt.Errorf("read counters of vrid %s: %w", k, err)
		}
		s.VRIDs[k] = sumVRIDStats(vs)
	}
	var idx uint32
	var is []bpfVrrpIfStats
	it := l.objs.VrrpIfStats.Iterate()
	for it.Next(&idx, &is) {
		var sum IfaceStats
		for _, c := range is {
			sum.EventsLost += c.EventsLost
			for r := range sum.Passed {
				sum.Passed[r] += c.Passed[r]
			}
		}
		s.Interfaces[int(idx)] = sum
	}
	if err := it.Err(); err != nil {
		return s, fmt.Errorf("read interface counters: %w", err)
	}
	return s, nil
}
