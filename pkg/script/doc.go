// Package script runs keepalived-style scripts: vrrp_script checks, notify
// scripts, notify FIFO readers. It knows nothing of VRRP; pkg/track and
// pkg/notify use it, and the daemon turns configuration into Commands.
//
// A script line is split into argv with keepalived's own rules (Split:
// quotes, backslash escapes) and executed directly, without a shell, in a
// process group of its own, as its configured user, with a timeout after
// which the whole group gets SIGTERM and, 2 seconds later, SIGKILL. The
// result (exit status, signal, timeout, exec error) comes back as a
// Result; the first few KiB of stdout and stderr are kept for the log.
// Runner.Go never blocks its caller.
//
// # keepalived facts behind it (acassen/keepalived 2.2.x, checked against
// Debian's 2.2.7 binary)
//
//   - lib/parser.c alloc_strvec_quoted_escaped: the splitting rules (see
//     Split). The configuration parser first takes the one word after the
//     keyword (so `script "/bin/chk a b"` needs the quotes), and notify
//     keywords take "[username [groupname]]" after it.
//   - lib/notify.c system_call_script: fork, set group, setgroups to that
//     one group, set user, setpgid(0,0), PR_SET_PDEATHSIG SIGTERM, then
//     execve(argv[0], argv, environ). No shell, except for the form
//     "</path/file" (optionally with blanks after '<'), a file-open test
//     keepalived hands to system() with every word single-quoted (cmd_str);
//     lbd does the same with /bin/sh -c. A script without a "#!" line
//     fails to exec (keepalived 2.2.7 on Debian is built without libmagic,
//     which is what would make it fall back to the shell).
//   - keepalived makes a child whose execve failed exit 0 ("script errors
//     aren't server errors"), so a vrrp_script that cannot run counts as a
//     success there. lbd reports OutcomeExecError, which trackers count as
//     a failure.
//   - vrrp_scheduler.c vrrp_script_child_thread: at the timeout, SIGTERM
//     to the process group, SIGKILL 2 s later, and SIGKILL to the group
//     again once the leader died; a timed-out run is a failure. lbd
//     reports OutcomeTimeout whenever the timeout fired first, even if the
//     script then exited 0 on SIGTERM (keepalived would count that exit).
//   - lib/notify.c check_script_secure, check_security, is_executable,
//     find_path: see Check. get_default_script_user and
//     notify_script_init: see ResolveUser.
//
// # What the daemon must know
//
// Check resolves a bare name on PATH and symbolic links once, at
// configuration time, as keepalived does; run it on every Command at load
// and reload and refuse (log and disable) those it rejects. A Command that
// was not checked still runs: Run looks a bare name up on PATH each time.
// Scripts inherit lbd's environment and run in "/" (keepalived resolves
// relative script paths against the configuration file's directory; the
// configuration layer should do the same).
package script
