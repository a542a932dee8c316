#!/bin/bash
# A real systemd 252 for tests, booted as PID 1 of a private PID+mount namespace
# (see shared/nsystemd.md; its safety rules apply: private /run and /tmp, every boot unit that
# touches the host masked, a minimal target, stopped by SIGKILL to the recorded PID only).
#
#   nsystemd.sh up STATEDIR [WATCH_PID]   boot; wait until it is running; write STATEDIR/pid
#                                         (with WATCH_PID, a watchdog stops it when WATCH_PID exits)
#   nsystemd.sh exec STATEDIR CMD...      run CMD inside the namespace
#   nsystemd.sh down STATEDIR             SIGKILL the recorded namespace PID 1 (and the watchdog)
#
# Must run as root. STATEDIR must not be under /tmp (the namespace has its own /tmp).
set -euo pipefail

SYSTEMD=/lib/systemd/systemd
MASKED_UNITS=(
  systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer
  systemd-tmpfiles-clean.service systemd-sysusers.service systemd-sysctl.service systemd-binfmt.service
  proc-sys-fs-binfmt_misc.automount systemd-modules-load.service systemd-remount-fs.service
  systemd-journal-flush.service systemd-random-seed.service systemd-update-utmp.service
  systemd-firstboot.service systemd-machine-id-commit.service systemd-pstore.service systemd-timesyncd.service
  systemd-repart.service systemd-pcrphase.service systemd-pcrphase-sysinit.service kmod-static-nodes.service
  ldconfig.service systemd-hwdb-update.service systemd-update-done.service systemd-udevd.service
  systemd-udev-trigger.service timers.target getty.target
)

die() { echo "nsystemd: $*" >&2; exit 1; }

state_dir() {
  [ -n "${1:-}" ] || die "missing STATEDIR"
  case "$1" in /tmp|/tmp/*) die "STATEDIR must not be under /tmp (the namespace has its own)";; esac
  echo "$1"
}

# Background children must not keep the caller's descriptors open: a caller such as Foundation's
# Process on Linux sees the script end only when every copy of its descriptors is closed.
close_inherited_fds() {
  local fd n
  for fd in /proc/$$/fd/*; do
    n=${fd##*/}
    case "$n" in 0|1|2|255) ;; *) eval "exec $n>&-" 2>/dev/null || true;; esac
  done
}

# The namespace's PID 1, if the recorded one is still that very process (same PID namespace).
recorded_pid() {
  local dir=$1 pid ns
  [ -f "$dir/pid" ] && [ -f "$dir/pidns" ] || return 1
  pid=$(cat "$dir/pid"); ns=$(cat "$dir/pidns")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$ns" ] || return 1
  echo "$pid"
}

case "${1:-}" in
  __boot)
    # Runs inside the new namespaces, as their PID 1, before systemd replaces it.
    mount --make-rprivate /
    mount -t tmpfs tmpfs /run
    mount -t tmpfs tmpfs /tmp
    mkdir -p /run/systemd/system
    for unit in "${MASKED_UNITS[@]}"; do ln -sf /dev/null "/run/systemd/system/$unit"; done
    cat > /run/systemd/system/minimal.target <<'TARGET'
[Unit]
Description=minimal
Wants=dbus.socket systemd-journald.socket dbus.service
TARGET
    export container=systemk-test
    exec "$SYSTEMD" --system --unit=minimal.target --log-target=console --log-level=warning
    ;;

  up)
    dir=$(state_dir "${2:-}")
    watch=${3:-}
    [ "$(id -u)" = 0 ] || die "must run as root"
    command -v unshare >/dev/null && command -v nsenter >/dev/null || die "unshare and nsenter are needed"
    [ -x "$SYSTEMD" ] || die "$SYSTEMD not found"
    mkdir -p "$dir"
    close_inherited_fds
    recorded_pid "$dir" >/dev/null && die "already up in $dir"
    setsid unshare --pid --fork --mount --mount-proc "$0" __boot >"$dir/boot.log" 2>&1 </dev/null &
    up=$!
    pid=
    for _ in $(seq 1 200); do
      pid=$(cat "/proc/$up/task/$up/children" 2>/dev/null | awk '{print $1}') || true
      [ -n "$pid" ] && break
      kill -0 "$up" 2>/dev/null || die "unshare exited: $(cat "$dir/boot.log")"
      sleep 0.05
    done
    [ -n "$pid" ] || die "namespace PID 1 did not appear"
    readlink "/proc/$pid/ns/pid" > "$dir/pidns"
    echo "$pid" > "$dir/pid"
    if [ -n "$watch" ]; then
      # Stop the namespace when the test process dies without calling "down" (crash, kill).
      setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
        [ "$(readlink /proc/$2/ns/pid 2>/dev/null)" = "$3" ] && kill -KILL "$2"' \
        watchdog "$watch" "$pid" "$(cat "$dir/pidns")" </dev/null >/dev/null 2>&1 &
      echo $! > "$dir/watchdog.pid"
    fi
    for _ in $(seq 1 300); do
      status=$(nsenter -t "$pid" -m -p systemctl is-system-running 2>/dev/null || true)
      case "$status" in
        running|degraded) echo "$status"; exit 0;;
      esac
      kill -0 "$pid" 2>/dev/null || die "systemd exited: $(cat "$dir/boot.log")"
      sleep 0.05
    done
    die "systemd did not reach running (last: ${status:-none}); log in $dir/boot.log"
    ;;

  exec)
    dir=$(state_dir "${2:-}")
    shift 2
    pid=$(recorded_pid "$dir") || die "not up in $dir"
    exec nsenter -t "$pid" -m -p -- "$@"
    ;;

  down)
    dir=$(state_dir "${2:-}")
    if pid=$(recorded_pid "$dir"); then
      kill -KILL "$pid"
      for _ in $(seq 1 200); do
        [ -e "/proc/$pid" ] || break
        sleep 0.05
      done
    fi
    if [ -f "$dir/watchdog.pid" ]; then
      watchdog=$(cat "$dir/watchdog.pid")
      # Only our own watchdog: same PID and still running the watchdog loop.
      if [[ "$watchdog" =~ ^[0-9]+$ ]] && grep -qa watchdog "/proc/$watchdog/cmdline" 2>/dev/null; then
        kill "$watchdog" 2>/dev/null || true
      fi
      rm -f "$dir/watchdog.pid"
    fi
    rm -f "$dir/pid" "$dir/pidns"
    ;;

  *)
    echo "usage: $0 up STATEDIR [WATCH_PID] | exec STATEDIR CMD... | down STATEDIR" >&2
    exit 2
    ;;
esac
