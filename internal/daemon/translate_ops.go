package daemon

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/notify"
	"github.com/lbdproject/lbd/pkg/script"
	"github.com/lbdproject/lbd/pkg/track"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// The translation of what runs around the instances: trackers, sync
// groups, notifications, routes and rules. Like the rest of Translate it
// reads the system (users, script files, iproute2 name files) but
// changes nothing.

// Tracking is what an instance (or sync group) tracks.
type Tracking struct {
	// Refs are the tracked objects with the weight that applies, after
	// keepalived's sync group and address owner rules.
	Refs []track.Ref
	// Primary is the instance's own interface, tracked unless
	// dont_track_primary: down means FAULT (fault source "interface").
	Primary string
	// Src is track_src_ip: FAULT while the configured source address is
	// not on its interface (fault source "track_src_ip"); zero Addr
	// without (keepalived ignores track_src_ip without a configured
	// source).
	Src srcKey
}

// ScriptDef is one vrrp_script that can run (its command checked).
type ScriptDef struct {
	Name       string
	Cmd        script.Command
	Interval   time.Duration
	Timeout    time.Duration
	Rise, Fall int
	InitFail   bool
}

// FileDef is one track_file with its init_file settings.
type FileDef struct {
	Spec      track.FileSpec
	InitFile  bool
	InitValue int
	Overwrite bool
}

// NotifyPlan is the notification setup of an instance or sync group.
type NotifyPlan struct {
	Scripts notify.Scripts
	// SMTPAlert mails its transitions (smtp_alert, or the global default).
	SMTPAlert bool
	// SendDeleted reports a removal by a reload as DELETED rather than
	// FAULT (notify_deleted).
	SendDeleted bool
	// PriorityChanges writes MASTER_PRIORITY / BACKUP_PRIORITY FIFO
	// lines (notify_priority_changes).
	PriorityChanges bool
}

func (n NotifyPlan) hasScripts() bool {
	s := n.Scripts
	return s.Master != nil || s.Backup != nil || s.Fault != nil || s.Stop != nil || s.Deleted != nil ||
		s.MasterRxLowerPri != nil || s.Any != nil
}

// GroupPlan is one vrrp_sync_group.
type GroupPlan struct {
	Name    string
	Pos     config.Pos
	Members []string
	Notify  NotifyPlan
}

// FIFOPlan is notify_fifo or vrrp_notify_fifo.
type FIFOPlan struct {
	Kind   string // "notify_fifo", "vrrp_notify_fifo"
	Path   string
	Owner  *script.User
	Script *script.Command
}

// GlobalNotify is global_defs' notification setup.
type GlobalNotify struct {
	FIFOs []FIFOPlan
	// StatesOnReload writes every instance's and group's state to the
	// FIFOs after a reload (fifo_write_vrrp_states_on_reload).
	StatesOnReload bool
	// Mail is set when smtp_server and notification_email are.
	Mail *notify.MailOptions
	// Startup and Shutdown are startup_script and shutdown_script.
	Startup, Shutdown *TimedScript
}

// TimedScript is a script run once, waited for up to its timeout.
type TimedScript struct {
	Cmd     script.Command
	Timeout time.Duration
}

// checkScript turns a configured script into a runnable, checked
// Command: relative program paths resolve against the configuration
// file's directory, the user is keepalived's choice (the script's own,
// script_user, keepalived_script, lbd's), and script.Check applies
// enable_script_security. An error disables the script.
func checkScript(cfg *config.Config, s *config.Script, user, group string) (*script.Command, error) {
	if s == nil || len(s.Args) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	cmd := script.Command{Args: slices.Clone(s.Args)}
	if a0 := cmd.Args[0]; strings.Contains(a0, "/") && !filepath.IsAbs(a0) && !strings.HasPrefix(a0, "<") && len(cfg.Files) > 0 {
		cmd.Args[0] = filepath.Join(filepath.Dir(cfg.Files[0]), a0)
	}
	g := &cfg.Global
	u, err := script.ResolveUser(script.UserOptions{User: user, Group: group, GlobalUser: g.ScriptUser,
		GlobalGroup: g.ScriptGroup, ScriptSecurity: g.EnableScriptSecurity})
	if err != nil {
		return nil, err
	}
	cmd.User = &u
	if _, err := script.Check(&cmd, script.CheckOptions{ScriptSecurity: g.EnableScriptSecurity}); err != nil {
		return nil, err
	}
	return &cmd, nil
}

// translateScripts checks every vrrp_script; a script that cannot run is
// disabled with a warning, and so are the references to it.
func translateScripts(cfg *config.Config, tr *Translation) {
	tr.Scripts = map[string]ScriptDef{}
	for i := range cfg.Scripts {
		s := &cfg.Scripts[i]
		cmd, err := checkScript(cfg, s.Script, s.User, s.Group)
		if err != nil {
			tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: vrrp_script %s: disabled: %v", s.Pos, s.Name, err))
			continue
		}
		tr.Scripts[s.Name] = ScriptDef{Name: s.Name, Cmd: *cmd, Interval: s.Interval, Timeout: s.Timeout,
			Rise: s.Rise, Fall: s.Fall, InitFail: s.InitFail}
	}
	tr.Files = map[string]FileDef{}
	for _, f := range cfg.TrackFiles {
		tr.Files[f.Name] = FileDef{Spec: track.FileSpec{Name: f.Name, Path: f.File}, InitFile: f.InitFile,
			InitValue: f.InitValue, Overwrite: f.Overwrite}
	}
	tr.Processes = map[string]track.ProcessSpec{}
	for _, p := range cfg.TrackProcesses {
		ps := track.ProcessSpec{Name: p.Name, Process: p.Process, Params: slices.Clone(p.Params),
			FullCommand: p.FullCommand, Quorum: p.Quorum, QuorumMax: p.QuorumMax,
			ForkDelay: p.ForkDelay, TerminateDelay: p.TerminateDelay}
		switch {
		case p.ParamMatch == "initial":
			ps.ParamMatch = track.ParamMatchInitial
		case p.ParamMatch == "partial":
			ps.ParamMatch = track.ParamMatchPartial
		case len(p.Params) > 0:
			ps.ParamMatch = track.ParamMatchExact // keepalived's default with parameters
		}
		tr.Processes[p.Name] = ps
	}
}

// trackRefs lists an instance's or group's tracked objects; references to
// disabled scripts are dropped with a warning.
func trackRefs(tr *Translation, owner string, ifs []config.TrackInterface, scripts, files, procs []config.TrackRef) []track.Ref {
	var out []track.Ref
	for _, i := range ifs {
		out = append(out, track.Ref{Kind: track.KindInterface, Name: i.Name, Weight: i.Weight, Reverse: i.Reverse})
	}
	for _, s := range scripts {
		if _, ok := tr.Scripts[s.Name]; !ok {
			tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: %s: track_script %s: the script is disabled, not tracked", s.Pos, owner, s.Name))
			continue
		}
		out = append(out, track.Ref{Kind: track.KindScript, Name: s.Name, Weight: s.Weight, Reverse: s.Reverse})
	}
	for _, f := range files {
		out = append(out, track.Ref{Kind: track.KindFile, Name: f.Name, Weight: f.Weight, Reverse: f.Reverse})
	}
	for _, p := range procs {
		out = append(out, track.Ref{Kind: track.KindProcess, Name: p.Name, Weight: p.Weight, Reverse: p.Reverse})
	}
	return out
}

// translateTracking fills each plan's Tracking, applying keepalived's
// rules for sync group members and address owners (track.ApplySyncRules),
// whose adjustments become warnings at the instance.
func translateTracking(cfg *config.Config, tr *Translation) {
	groups := map[string]*config.SyncGroup{}
	for i := range cfg.SyncGroups {
		g := &cfg.SyncGroups[i]
		for _, m := range g.Members {
			if groups[m] == nil {
				groups[m] = g
			}
		}
	}
	prio := map[string]uint8{}
	for _, p := range tr.Plans {
		c := p.Config
		c.Normalize()
		prio[p.Name] = c.Priority
	}
	groupRefs := map[string][]track.Ref{}
	for i := range cfg.SyncGroups {
		g := &cfg.SyncGroups[i]
		groupRefs[g.Name] = trackRefs(tr, "vrrp_sync_group "+g.Name, g.TrackInterfaces, g.TrackScripts, g.TrackFiles, g.TrackProcesses)
	}
	byName := map[string]*config.VRRPInstance{}
	for i := range cfg.Instances {
		byName[cfg.Instances[i].Name] = &cfg.Instances[i]
	}
	for i := range tr.Plans {
		p := &tr.Plans[i]
		v := byName[p.Name]
		own := trackRefs(tr, "vrrp_instance "+p.Name, v.TrackInterfaces, v.TrackScripts, v.TrackFiles, v.TrackProcesses)
		rules := track.SyncRules{Priority: prio[p.Name]}
		var grefs []track.Ref
		if g := groups[p.Name]; g != nil {
			rules.InGroup = true
			rules.TrackingWeight = g.SyncGroupTrackingWeight || g.GlobalTracking
			for _, m := range g.Members {
				if prio[m] == vrrp.PriorityOwner {
					rules.GroupHasOwner = true
				}
			}
			grefs = groupRefs[g.Name]
		}
		refs, adjs := track.ApplySyncRules(rules, own, grefs)
		for _, a := range adjs {
			tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: vrrp_instance %s: %s", v.Pos, p.Name, a))
		}
		p.Tracking = Tracking{Refs: refs}
		if p.TrackPrimary {
			p.Tracking.Primary = p.Config.Interface
		}
		p.Tracking.Src = trackSrc(p, v.TrackSrcIP)
	}
}

// trackSrc is an instance's track_src_ip, as keepalived's
// keepalived_netlink.c checks it: the configured source on the
// configured interface (IPv4; with use_vmac, its base) or on the one the
// adverts go out of (IPv6: the VMAC, unless vmac_xmit_base).
func trackSrc(p *Plan, on bool) srcKey {
	src := p.Config.SourceAddr
	if !on || !src.IsValid() {
		return srcKey{}
	}
	k := srcKey{Iface: p.Config.Interface, Addr: src}
	if src.Is6() && p.VMAC != nil && !p.VMAC.XmitBase {
		k.Iface = p.VMAC.Name
	}
	return k
}

// notifyPlan checks the notify scripts of an instance or group; one that
// cannot run is disabled with a warning.
func notifyPlan(cfg *config.Config, tr *Translation, owner string, pos config.Pos, n config.Notify) NotifyPlan {
	var out NotifyPlan
	check := func(kw string, s *config.Script) *script.Command {
		if s == nil {
			return nil
		}
		cmd, err := checkScript(cfg, s, s.User, s.Group)
		if err != nil {
			tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: %s: %s disabled: %v", pos, owner, kw, err))
			return nil
		}
		return cmd
	}
	out.Scripts = notify.Scripts{
		Master:           check("notify_master", n.Master),
		Backup:           check("notify_backup", n.Backup),
		Fault:            check("notify_fault", n.Fault),
		Stop:             check("notify_stop", n.Stop),
		Deleted:          check("notify_deleted", n.Deleted),
		MasterRxLowerPri: check("notify_master_rx_lower_pri", n.MasterRxLowerPri),
		Any:              check("notify", n.Any),
	}
	out.SendDeleted = n.SendDeleted
	return out
}

// translateNotify fills each plan's and group's notification setup and
// the global FIFOs and mail.
func translateNotify(cfg *config.Config, tr *Translation) {
	byName := map[string]*config.VRRPInstance{}
	for i := range cfg.Instances {
		byName[cfg.Instances[i].Name] = &cfg.Instances[i]
	}
	for i := range tr.Plans {
		p := &tr.Plans[i]
		v := byName[p.Name]
		p.Notify = notifyPlan(cfg, tr, "vrrp_instance "+v.Name, v.Pos, v.Notify)
		p.Notify.SMTPAlert = v.SMTPAlert
		p.Notify.PriorityChanges = v.NotifyPriorityChanges
	}
	for i := range cfg.SyncGroups {
		g := &cfg.SyncGroups[i]
		gp := GroupPlan{Name: g.Name, Pos: g.Pos, Members: slices.Clone(g.Members)}
		gp.Notify = notifyPlan(cfg, tr, "vrrp_sync_group "+g.Name, g.Pos, g.Notify)
		gp.Notify.SMTPAlert = g.SMTPAlert
		gp.Notify.PriorityChanges = g.NotifyPriorityChanges
		tr.Groups = append(tr.Groups, gp)
	}

	gd := &cfg.Global
	fifo := func(kind string, f *config.FIFO, s *config.Script) {
		if f == nil || f.Name == "" {
			return
		}
		fp := FIFOPlan{Kind: kind, Path: f.Name}
		if f.User != "" {
			u, err := script.LookupUser(f.User, f.Group)
			if err != nil {
				tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: %s %s: owner: %v", gd.Pos, kind, f.Name, err))
			} else {
				fp.Owner = &u
			}
		}
		if s != nil {
			cmd, err := checkScript(cfg, s, s.User, s.Group)
			if err != nil {
				tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: %s_script disabled: %v", gd.Pos, kind, err))
			} else {
				fp.Script = cmd
			}
		}
		tr.Notify.FIFOs = append(tr.Notify.FIFOs, fp)
	}
	tr.Notify.StatesOnReload = gd.FIFOWriteVRRPStatesOnReload
	for _, sc := range []struct {
		kw      string
		s       *config.Script
		timeout time.Duration
		dst     **TimedScript
	}{{"startup_script", gd.StartupScript, gd.StartupScriptTimeout, &tr.Notify.Startup},
		{"shutdown_script", gd.ShutdownScript, gd.ShutdownScriptTimeout, &tr.Notify.Shutdown}} {
		if sc.s == nil {
			continue
		}
		cmd, err := checkScript(cfg, sc.s, sc.s.User, sc.s.Group)
		if err != nil {
			tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: %s disabled: %v", gd.Pos, sc.kw, err))
			continue
		}
		*sc.dst = &TimedScript{Cmd: *cmd, Timeout: sc.timeout}
	}
	fifo("notify_fifo", gd.NotifyFIFO, gd.NotifyFIFOScript)
	if f := gd.VRRPNotifyFIFO; f != nil && (gd.NotifyFIFO == nil || f.Name != gd.NotifyFIFO.Name) {
		fifo("vrrp_notify_fifo", f, gd.VRRPNotifyFIFOScript)
	}
	if gd.SMTPServer != "" && len(gd.NotificationEmail) > 0 {
		server := gd.SMTPServer
		if gd.SMTPServerPort != 0 {
			server = joinHostPort(server, gd.SMTPServerPort)
		}
		tr.Notify.Mail = &notify.MailOptions{
			Server:         server,
			HeloName:       gd.SMTPHeloName,
			From:           gd.NotificationEmailFrom,
			To:             slices.Clone(gd.NotificationEmail),
			RouterID:       gd.RouterID,
			ConnectTimeout: gd.SMTPConnectTimeout,
			NoFaults:       gd.NoEmailFaults,
		}
	}
}

func joinHostPort(host string, port uint16) string {
	host = strings.Trim(host, "[]")
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}
