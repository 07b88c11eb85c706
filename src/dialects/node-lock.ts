import { FirewallMode } from '../policy/firewall-mode';

/**
 * One apply or remove at a time on a node, in POSIX sh with only what the agent image has (dash,
 * ln, rm, sleep, cat): two runs at once (the agent's loop and an operator's manual run, or two pods
 * during a rollout) otherwise race on the same ipsets and jumps.
 *
 * The lock is a file made by `ln` (atomic: it fails when the file exists) holding the holder's
 * record: pid, the pid's start time, the start time of pid 1 (which tells whether a waiter shares
 * the holder's pid namespace) and the end of its lease in seconds since boot. A waiter breaks the
 * lock when the holder is gone (same pid namespace, and that pid no longer runs with that start
 * time) or its lease ran out (any namespace: a pod SIGKILLed mid-apply). Breaking takes a second
 * lock and re-reads the record first, so two waiters never both break and both enter. A holder
 * that outlived its lease does not commit.
 *
 * It costs two programs on the way through (`ln` to take, one `rm` of the lock and its record
 * file to release) and no subshell: on a busy node each fork is a few ms of every apply.
 */
export const LOCK_FUNCTIONS = `# One apply or remove at a time on this node (see README: concurrency). The lock directory is a
# host directory, so runs in other pods of this node see the same lock; it is shared by every
# NodeFirewall on the node (each touches only its own chains, table and sets, but one at a time).
lock_dir="\${HOSTNET_LOCK_DIR:-/run/hostnet}"
lock="$lock_dir/apply.lock"
lock_wait="\${HOSTNET_LOCK_WAIT_SECONDS:-90}"
lock_lease="\${HOSTNET_LOCK_LEASE_SECONDS:-60}"
locked=false
# (helpers set variables rather than print: each $(...) would fork a shell, a few ms on a busy node)
# lock_now: seconds since boot
uptime_s() { read -r lock_now _ < /proc/uptime; lock_now=\${lock_now%.*}; }
# proc_start: start time of process $1 in clock ticks since boot (field 22 of /proc/PID/stat), empty if none
start_of() {
  proc_start=
  stat=
  { read -r stat < "/proc/$1/stat"; } 2>/dev/null || true
  # shellcheck disable=SC2086 # split the fields after the command name on purpose
  set -- \${stat##*) }
  if [ "$#" -ge 20 ]; then proc_start=\${20}; fi
}
# a holder record: pid, its start time, pid 1's start time, end of lease
record() { uptime_s; echo "$$ $self_start $init_start $((lock_now + $1))"; }
# true when the record in $1 belongs to nobody any more
lock_stale() {
  # shellcheck disable=SC2086
  set -- $1
  if [ "$#" -ne 4 ]; then return 0; fi
  case "$1$2$3$4" in *[!0-9]*) return 0 ;; esac
  uptime_s
  if [ "$lock_now" -ge "$4" ]; then stale_why="its lease ran out"; return 0; fi
  if [ "$3" = "$init_start" ]; then
    start_of "$1"
    if [ "$proc_start" != "$2" ]; then stale_why="pid $1 is gone"; return 0; fi
  fi
  return 1
}
# takes $2 (the lock or the breaker) with a record valid for $1 seconds; false when it exists. The
# lock's record file stays (a second name of the lock) until lock_release removes both in one rm.
take() {
  record "$1" > "$rec"
  if ln "$rec" "$2" 2>/dev/null; then
    if [ "$2" != "$lock" ]; then rm -f "$rec"; fi
    return 0
  fi
  rm -f "$rec"
  return 1
}
lock_acquire() {
  # (the DaemonSet mounts it from the host; a shell on the host can make it)
  if [ ! -d "$lock_dir" ] && ! mkdir -p "$lock_dir" 2>/dev/null; then
    echo "hostnet: lock directory $lock_dir is missing and cannot be made (set HOSTNET_LOCK_DIR)" >&2
    return 1
  fi
  start_of $$
  self_start=$proc_start
  start_of 1
  init_start=$proc_start
  rec="$lock_dir/holder.$$.$self_start"
  uptime_s
  give_up=$((lock_now + lock_wait))
  while :; do
    if take "$lock_lease" "$lock"; then
      { read -r held < "$lock"; } 2>/dev/null || held=
      locked=true
      return 0
    fi
    holder=
    { read -r holder < "$lock"; } 2>/dev/null || true
    stale_why="its record is unreadable"
    if [ -n "$holder" ] && lock_stale "$holder"; then
      # a second, short-lived lock makes breaking exclusive; the record is checked again under it
      if take 10 "$lock.break"; then
        current=
        { read -r current < "$lock"; } 2>/dev/null || true
        if [ "$current" = "$holder" ]; then
          # with the holder's record file (named by its pid and start time) and its files, left by a kill
          # shellcheck disable=SC2086
          set -- $holder
          holder_rec=
          case "$#:\${1:-}\${2:-}" in 4:*[!0-9]*) ;; 4:*) holder_rec="$lock_dir/holder.$1.$2" ;; esac
          if [ -n "$holder_rec" ]; then rm -f "$lock" "$holder_rec" "$holder_rec".*; else rm -f "$lock"; fi
          echo "hostnet: took over the lock of an earlier run ($stale_why): $holder" >&2
        fi
        rm -f "$lock.break"
      else
        breaker=
        { read -r breaker < "$lock.break"; } 2>/dev/null || true
        if [ -n "$breaker" ] && lock_stale "$breaker"; then rm -f "$lock.break"; fi
      fi
      continue
    fi
    uptime_s
    if [ "$lock_now" -ge "$give_up" ]; then
      echo "hostnet: another apply or remove holds $lock (record: $holder); gave up after \${lock_wait}s, changing nothing" >&2
      return 1
    fi
    sleep 0.1
  done
}
# false once this run's lease is over: another run may have taken the lock, so commit nothing
lock_valid() {
  # shellcheck disable=SC2086
  set -- $held
  uptime_s
  [ "$locked" = true ] && [ "$lock_now" -lt "$4" ]
}
lock_release() {
  if [ "$locked" != true ]; then return 0; fi
  current=
  { read -r current < "$lock"; } 2>/dev/null || true
  # the record file (our lock's second name) and this run's files ("$rec".*) go in the same rm
  if [ "$current" = "$held" ]; then rm -f "$lock" "$rec" "$rec".*; else rm -f "$rec" "$rec".*; fi
  locked=false
}`;

/** Shell: SIGTERM/SIGINT/SIGHUP exit through the EXIT trap (`on_exit`), so the lock is always released. */
export const SIGNAL_TRAPS = `trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP`;

/** Lines that take the lock, or exit 1 with the reason on stderr (after the helpers above). */
export const LOCK_OR_EXIT = 'lock_acquire || exit 1';

/** Refuses to commit when the lease is over; `what` names the step in the message. */
export function lockCheck(what: string): string {
  return `if ! lock_valid; then echo "hostnet: this run outlived its \${lock_lease}s lock lease before ${what}; committing nothing" >&2; exit 1; fi`;
}

/**
 * Shell: what a failed apply leaves, said loudly. `$1` is the tool that `have_rules` (true when our
 * rules are in force) needs: without that tool nobody can tell, and we say so.
 */
export const REPORT_FAILURE = `report_failure() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "hostnet: apply failed: $1 is not installed, so the rules in force (if any) are unchanged and cannot be listed" >&2
  elif have_rules; then
    echo "hostnet: apply failed; the previous hostnet rules stay in force" >&2
  else
    echo "hostnet: APPLY FAILED and this node has NO hostnet rules: its traffic is not filtered by this policy" >&2
  fi
}`;

/** The header line that says what a script's mode does with the rules that drop. */
export function modeComment(mode: FirewallMode): string {
  return mode === FirewallMode.AUDIT
    ? '# Mode: AUDIT. Nothing is dropped: each rule that would drop counts the packets (its counter) and\n# logs a few per minute to the kernel log for the drop log (droplog.sh).'
    : '# Mode: enforce. Each rule that drops logs a few packets per minute to the kernel log for the drop log (droplog.sh).';
}
