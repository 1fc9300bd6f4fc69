// Package track implements keepalived's trackers for VRRP instances and
// sync groups: track_interface, vrrp_script/track_script, track_file and
// vrrp_track_process, and the arithmetic that turns their states into an
// instance's effective priority or FAULT. It imports nothing of VRRP: the
// runtime owns instances, builds the trackers from configuration, and
// calls Priority whenever an Update arrives.
//
// Each tracker watches objects once, whatever number of instances track
// them, and calls OnUpdate when one changes:
//
//   - InterfaceTracker: netlink link events (pkg/netutil), up means
//     IFF_UP and IFF_RUNNING.
//   - ScriptTracker: one vrrp_script, run every interval with a timeout
//     (pkg/script), never two runs at once, rise/fall as RiseFall.
//   - FileTracker: inotify on the files' directories; the number in the
//     file, 0 when it is missing.
//   - ProcessTracker: the kernel's process connector after a /proc scan,
//     with quorum, quorum_max, fork_delay and terminate_delay; it polls
//     /proc where the connector is unavailable.
//
// The pure parts (RiseFall, Status.Effect, Priority, ApplySyncRules, the
// process quorum and matching) take no clock or system state and are
// tested against keepalived's rules directly.
//
// # keepalived semantics (acassen/keepalived 2.2.x; Debian ships 2.2.7)
//
// Weights (vrrp_track.c process_script_update_priority,
// initialise_track_script_state, track_process.c,
// process_update_track_process_status): weight 0 means FAULT while the
// object is down, or while it is up with reverse. A positive weight is
// added while the object is up, a negative one while it is down; reverse
// negates the weight. Scripts and interfaces take -253..253; files and
// processes -254..254. An unweighted script that has not run yet keeps the
// instance in INIT; a weighted one adds nothing until it has run.
//
// Files (track_file.c): the weight multiplies the number read; a result of
// -254 or less means FAULT, and more than 253 counts as 253. With weight 0
// any non-zero number means FAULT (reverse: zero means FAULT). A file
// deleted or moved away reads as 0. init_file writes its value at start if
// the file is missing, or always with overwrite (never on reload).
//
// Effective priority (vrrp_track.c vrrp_set_effective_priority): base
// plus all deltas, limited to [1, 254]; an address owner (255) never
// changes.
//
// Sync groups (vrrp.c vrrp_complete_instance, sync_group_tracking_init):
// see ApplySyncRules.
//
// Processes (track_process.c): matched by the kernel's process name
// (/proc/PID/comm) exactly, like pgrep "^name$" without -f; with
// parameters or full_command by argv[0] and the parameters; zombies and
// threads do not count. A forked child of a matching process counts
// without being reread.
package track
