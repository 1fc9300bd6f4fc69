package loader

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	tc "github.com/florianl/go-tc"
	"github.com/florianl/go-tc/core"
	"golang.org/x/sys/unix"
)

// The clsact fallback of the TC tier (kernels without tcx, < 6.6): a
// clsact qdisc and one cls_bpf filter in direct-action mode on ingress,
// through go-tc. The filter is identified by a fixed priority and handle
// and named after the program, so a restarted lbd finds it and replaces
// its program in place (a filter replace is atomic). The qdisc is left on
// detach: other filters may share it.
const (
	clsactPrio   = 0x1bd
	clsactHandle = 0x1bd
	clsactName   = "lbd_tc_vrrp"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func clsactFilter(ifindex int, prog *ebpf.Program) *tc.Object {
	obj := &tc.Object{
		Msg: tc.Msg{
			Family:  unix.AF_UNSPEC,
			Ifindex: uint32(ifindex),
			Handle:  clsactHandle,
			Parent:  core.BuildHandle(tc.HandleRoot, tc.HandleMinIngress),
			Info:    core.BuildHandle(clsactPrio, uint32(htons(unix.ETH_P_ALL))),
		},
		Attribute: tc.Attribute{Kind: "bpf"},
	}
	if prog != nil {
		fd := uint32(prog.FD())
		name := clsactName
		flags := uint32(tc.BpfActDirect)
		obj.Attribute.BPF = &tc.Bpf{FD: &fd, Name: &name, Flags: &flags}
	}
	return obj
}

func withTC(fn func(*tc.Tc) error) error {
	nl, err := tc.Open(&tc.Config{})
	if err != nil {
		return fmt.Errorf("rtnetlink: %w", err)
	}
	defer nl.Close()
	return fn(nl)
}

// clsactReplace adds (or atomically replaces) lbd's ingress filter with
// prog, creating the clsact qdisc if needed.
func clsactReplace(ifindex int, prog *ebpf.Program) error {
	return withTC(func(nl *tc.Tc) error {
		qdisc := tc.Object{
			Msg: tc.Msg{
				Family:  unix.AF_UNSPEC,
				Ifindex: uint32(ifindex),
				Handle:  core.BuildHandle(tc.HandleRoot, 0),
				Parent:  tc.HandleIngress,
			},
			Attribute: tc.Attribute{Kind: "clsact"},
		}
		if err := nl.Qdisc().Add(&qdisc); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add clsact qdisc: %w", err)
		}
		if err := nl.Filter().Replace(clsactFilter(ifindex, prog)); err != nil {
			return fmt.Errorf("replace cls_bpf filter: %w", err)
		}
		return nil
	})
}

// clsactHasFilter reports whether lbd's filter is on ifindex's ingress
// running the program with id progID (0: any program).
func clsactHasFilter(ifindex int, progID uint32) (bool, error) {
	found := false
	err := withTC(func(nl *tc.Tc) error {
		objs, err := nl.Filter().Get(&tc.Msg{
			Family:  unix.AF_UNSPEC,
			Ifindex: uint32(ifindex),
			Parent:  core.BuildHandle(tc.HandleRoot, tc.HandleMinIngress),
		})
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.Kind != "bpf" || o.Handle != clsactHandle || o.BPF == nil {
				continue
			}
			if prio, _ := core.SplitHandle(o.Info); prio != clsactPrio {
				continue
			}
			if progID == 0 || (o.BPF.ID != nil && *o.BPF.ID == progID) {
				found = true
			}
		}
		return nil
	})
	return found, err
}

// clsactDelete removes lbd's ingress filter; a missing one is not an error.
func clsactDelete(ifindex int) error {
	return withTC(func(nl *tc.Tc) error {
		err := nl.Filter().Delete(clsactFilter(ifindex, nil))
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("delete cls_bpf filter: %w", err)
		}
		return nil
	})
}
