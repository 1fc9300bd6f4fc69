package daemon

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteStatus prints s as "lbd status" shows it: a header, the datapath
// per interface, one table row per instance, then refused instances and
// faults. now is the time the "ago" columns count from.
func WriteStatus(w io.Writer, s *Status, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "lbd %s, pid %d, up %s, config %s\n", s.Version, s.PID, ago(now, s.Started), s.ConfigFile)
	var tiers []string
	for _, t := range s.Datapath.Interfaces {
		e := t.Interface + " " + t.Tier
		var notes []string
		if t.Hook != "" {
			notes = append(notes, t.Hook)
		}
		if t.Adopted {
			notes = append(notes, "adopted")
		}
		if t.Reason != "" {
			notes = append(notes, t.Reason)
		} else if len(t.Skipped) > 0 {
			notes = append(notes, "not "+strings.Join(t.Skipped, ", not "))
		}
		if len(notes) > 0 {
			e += " (" + strings.Join(notes, "; ") + ")"
		}
		tiers = append(tiers, e)
	}
	if len(tiers) == 0 {
		tiers = []string{"no interface"}
	}
	fmt.Fprintf(&b, "datapath %s: %s\n\n", s.Datapath.Requested, strings.Join(tiers, "; "))

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tVRID\tINTERFACE\tPATH\tVRRP\tSTATE\tPRIO\tMASTER\tVIPS\tLAST TRANSITION\tSENT\tRECV\tDROPS")
	for _, in := range s.Instances {
		vrrp := fmt.Sprintf("v%d %s", in.Version, in.Family)
		if in.Unicast {
			vrrp += " unicast"
		}
		master := in.MasterAddress
		if master == "" {
			master = "-"
		}
		vips := strings.Join(in.VIPs, ",")
		if len(in.ExcludedVIPs) > 0 {
			vips += " +" + fmt.Sprint(len(in.ExcludedVIPs)) + " excluded"
		}
		if vips == "" {
			vips = "-"
		}
		last := "-"
		if in.LastTransition != nil {
			last = ago(now, *in.LastTransition) + " ago, " + in.LastReason
		}
		path := in.Datapath
		if path == "" {
			path = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%d\t%d\t%d\n",
			in.Name, in.VRID, in.Interface, path, vrrp, in.State, in.Priority, in.ConfiguredPriority,
			master, vips, last, in.Counters.AdvertsSent, in.Counters.AdvertsReceived, in.Counters.Dropped)
	}
	tw.Flush()
	if len(s.SyncGroups) > 0 {
		b.WriteString("\n")
		for _, g := range s.SyncGroups {
			fmt.Fprintf(&b, "sync group %s: %s, members %s", g.Name, g.State, strings.Join(g.Members, ","))
			if len(g.Missing) > 0 {
				fmt.Fprintf(&b, " (not running: %s)", strings.Join(g.Missing, ","))
			}
			if g.FaultyMembers > 0 {
				fmt.Fprintf(&b, ", %d in fault", g.FaultyMembers)
			}
			b.WriteString("\n")
		}
	}
	for _, in := range s.Instances {
		if len(in.Trackers) == 0 {
			continue
		}
		var ts []string
		for _, t := range in.Trackers {
			e := t.Kind + " " + t.Name + " " + t.State
			if t.Effect != "" {
				e += " (" + t.Effect + ")"
			}
			ts = append(ts, e)
		}
		fmt.Fprintf(&b, "\n%s tracks: %s", in.Name, strings.Join(ts, "; "))
	}
	for _, in := range s.Instances {
		if in.InitReason != "" {
			fmt.Fprintf(&b, "\n%s is in INIT: %s", in.Name, in.InitReason)
		}
	}
	for _, in := range s.Instances {
		if in.Fault && in.FaultDetail != "" {
			fmt.Fprintf(&b, "\n%s is in FAULT: %s", in.Name, in.FaultDetail)
		}
	}
	for _, in := range s.Instances {
		if in.DatapathNote != "" && !in.Fault {
			fmt.Fprintf(&b, "\n%s receives on its raw socket only: %s", in.Name, in.DatapathNote)
		}
	}
	if r := s.LastReload; r != nil {
		verdict := fmt.Sprintf("applied %d changes", len(r.Changes))
		if !r.OK {
			verdict = "refused: " + strings.Join(r.Errors, "; ")
		}
		fmt.Fprintf(&b, "\nlast reload %s ago: %s", ago(now, r.At), verdict)
	}
	for _, r := range s.Refused {
		fmt.Fprintf(&b, "\nvrrp_instance %s (%s) refused:\n  %s", r.Name, r.Pos, strings.Join(r.Errors, "\n  "))
	}
	if strings.HasSuffix(b.String(), "\n") {
		_, err := io.WriteString(w, b.String())
		return err
	}
	_, err := io.WriteString(w, b.String()+"\n")
	return err
}

// ago prints the time since t, to the second (to the millisecond under
// ten seconds).
func ago(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	if d < 10*time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// WriteReload prints a reload's result as "lbd reload" shows it.
func WriteReload(w io.Writer, r *ReloadResult) error {
	var b strings.Builder
	if !r.OK {
		b.WriteString("configuration refused; the running configuration stays:\n")
		for _, e := range r.Errors {
			b.WriteString("  " + e + "\n")
		}
	} else {
		fmt.Fprintf(&b, "configuration reloaded in %s: ", time.Duration(r.Duration*float64(time.Second)).Round(time.Microsecond))
		if len(r.Changes) == 0 {
			b.WriteString("nothing changed\n")
		} else {
			fmt.Fprintf(&b, "%d changes\n", len(r.Changes))
			for _, c := range r.Changes {
				b.WriteString("  " + c + "\n")
			}
		}
	}
	for _, wr := range r.Warnings {
		b.WriteString(wr + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
