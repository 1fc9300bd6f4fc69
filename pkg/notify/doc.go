// Package notify tells the outside world about VRRP transitions the way
// keepalived does: notify scripts (ScriptNotifier), notify FIFOs (FIFO)
// and smtp_alert mails (Mailer). It knows no VRRP: the runtime builds one
// ScriptNotifier per instance and per sync group that has scripts, opens
// the global FIFOs, and hands every transition to each as an Event.
// Nothing here blocks the caller; failures are logged and counted
// (Metrics), never returned to the state machine.
//
// What the runtime sends, per keepalived (vrrp_notify.c 2.2.7):
//
//   - on each instance transition, Event{ScopeInstance, name, state,
//     effective priority} to the instance's ScriptNotifier, to both FIFOs
//     (notify_fifo and vrrp_notify_fifo get the same line) and, with
//     smtp_alert, to the Mailer;
//   - on each sync group transition, Event{ScopeGroup, ...} likewise
//     (priority is always written as 0 for a group);
//   - a member whose new state its group already announced sends no
//     instance notifies (keepalived's notifies_sent check);
//   - MASTER_RX_LOWER_PRI runs notify_master_rx_lower_pri and writes a
//     FIFO line; MASTER_PRIORITY / BACKUP_PRIORITY (with
//     notify_priority_changes) only write FIFO lines;
//   - an instance removed by a reload reports DELETED if notify_deleted is
//     set, else FAULT; at shutdown every instance and group reports STOP.
//
// Lines and arguments: the "notify" script gets INSTANCE|GROUP, the name,
// the state and the priority appended to its own arguments; a FIFO line is
// `INSTANCE "VI_1" MASTER 100`. Mails have keepalived's subject ("[router_id]
// VRRP Instance VI_1 - Entering MASTER state") and body ("=> VRRP Instance
// is now owning VRRP VIPs <=").
package notify
