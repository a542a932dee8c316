#!/bin/bash
# Benchmark: what reading a unit's state costs systemd, by the way it is read.
#
#   sudo Benchmarks/status-reads/run.sh [--units 200] [--work /var/tmp/systemk-status-reads]
#
# Boots a real systemd (252 here) as PID 1 of a private PID+mount namespace (private /run and /tmp, boot
# units that touch the host masked; see ../shared/nsystemd.md), installs N services
# (`/bin/sleep infinity`), starts them, and then, each time right after a `daemon-reload` (as systemk's
# status reads come after its own reloads), reads every unit once in one of these ways, through the
# system bus with busctl:
#   - GetAll("")            all interfaces: what systemk read before (and `systemctl show` reads)
#   - GetAll(Unit)          the org.freedesktop.systemd1.Unit interface
#   - GetAll(Service)       the org.freedesktop.systemd1.Service interface
#   - Get x 12              one Get per property systemk's status needs (UnitStateCache.reads(for:))
#   - Get(UnitFileState)    the one Unit property that makes GetAll(Unit) dear
#   - Get(Version)          the manager's version, N times: the cost of a call by itself
# and prints systemd's CPU time (utime + stime of PID 1, in 10 ms ticks) for each. busctl's own start-up
# is not counted (it is another process); dbus-daemon's routing is not counted either.
set -euo pipefail
units=200
work=/var/tmp/systemk-status-reads
while [ $# -gt 0 ]; do
  case "$1" in
    --units) units=$2; shift 2;;
    --work) work=$2; shift 2;;
    *) sed -n '2,4p' "$0" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root" >&2; exit 1; }
case "$work" in /tmp|/tmp/*) echo "run.sh: --work must not be under /tmp" >&2; exit 1;; esac
mkdir -p "$work"

cat > "$work/boot.sh" <<'BOOT'
#!/bin/bash
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/systemd/system
for u in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer \
  systemd-tmpfiles-clean.service systemd-sysusers.service systemd-sysctl.service systemd-binfmt.service \
  proc-sys-fs-binfmt_misc.automount systemd-modules-load.service systemd-remount-fs.service \
  systemd-journal-flush.service systemd-random-seed.service systemd-update-utmp.service \
  systemd-firstboot.service systemd-machine-id-commit.service systemd-pstore.service systemd-timesyncd.service \
  systemd-repart.service systemd-pcrphase.service systemd-pcrphase-sysinit.service kmod-static-nodes.service \
  ldconfig.service systemd-hwdb-update.service systemd-update-done.service systemd-udevd.service \
  systemd-udev-trigger.service timers.target getty.target; do ln -sf /dev/null /run/systemd/system/$u; done
printf '[Unit]\nDescription=minimal\nWants=dbus.socket systemd-journald.socket dbus.service\n' > /run/systemd/system/minimal.target
export container=systemk-bench
exec /lib/systemd/systemd --system --unit=minimal.target --log-target=console --log-level=warning
BOOT

cat > "$work/measure.sh" <<'MEASURE'
#!/bin/bash
# Runs inside the namespace: $1 = number of units.
set -euo pipefail
n=$1
ticks() { awk '{print $14 + $15}' /proc/1/stat; }
names=()
for i in $(seq 0 $((n - 1))); do
  name="statusread.u$i.service"
  printf '[Service]\nExecStart=/bin/sleep infinity\n' > "/run/systemd/system/$name"
  names+=("$name")
done
systemctl daemon-reload
systemctl start "${names[@]}"
# The object path of a unit: every byte that is not a letter or digit as _xx.
path() { local s=$1 out="" c i; for ((i = 0; i < ${#s}; i++)); do c=${s:i:1}; if [[ $c =~ [A-Za-z0-9] ]]; then out+=$c; else out+=$(printf '_%02x' "'$c"); fi; done; echo "/org/freedesktop/systemd1/unit/$out"; }
paths=()
for name in "${names[@]}"; do paths+=("$(path "$name")"); done
P=org.freedesktop.DBus.Properties
U=org.freedesktop.systemd1.Unit
S=org.freedesktop.systemd1.Service
call() { busctl --system call org.freedesktop.systemd1 "$@" > /dev/null; }
measure() {
  local label=$1; shift
  systemctl daemon-reload
  local before after
  before=$(ticks)
  for p in "${paths[@]}"; do "$@" "$p"; done
  after=$(ticks)
  printf '| %s | %d | %.2f |\n' "$label" "$((after - before))" "$(awk -v t=$((after - before)) -v n="$n" 'BEGIN { print t * 10 / n }')"
}
getall_all() { call "$1" $P GetAll s ""; }
getall_unit() { call "$1" $P GetAll s $U; }
getall_service() { call "$1" $P GetAll s $S; }
gets() {
  for k in ActiveState SubState LoadState InvocationID FragmentPath; do call "$1" $P Get ss $U $k; done
  for k in Result NRestarts ExecMainPID ExecMainCode ExecMainStatus ExecMainStartTimestamp ExecMainExitTimestamp; do
    call "$1" $P Get ss $S $k
  done
}
unit_file_state() { call "$1" $P Get ss $U UnitFileState; }
version() { call /org/freedesktop/systemd1 $P Get ss org.freedesktop.systemd1.Manager Version; }
echo "| read, each unit once after a daemon-reload | systemd CPU, ticks of 10 ms | ms per unit |"
echo "| --- | ---: | ---: |"
measure 'GetAll("") (all interfaces)' getall_all
measure 'GetAll(Unit)' getall_unit
measure 'GetAll(Service)' getall_service
measure '12 × Get (what status needs)' gets
measure 'Get(UnitFileState)' unit_file_state
measure 'Get(Manager.Version) (a call by itself)' version
systemctl stop "${names[@]}"
MEASURE
chmod +x "$work/boot.sh" "$work/measure.sh"

setsid unshare --pid --fork --mount --mount-proc "$work/boot.sh" > "$work/boot.log" 2>&1 < /dev/null &
up=$!
pid=""
for _ in $(seq 1 100); do
  pid=$(pgrep -P "$up" || true)
  [ -n "$pid" ] && nsenter -t "$pid" -m -p systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded' && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "run.sh: the namespaced systemd did not start (see $work/boot.log)" >&2; exit 1; }
# Only the namespace's PID 1, by the PID recorded here: that ends every process in it.
trap 'kill -9 "$pid" 2>/dev/null || true' EXIT
echo "systemd $(nsenter -t "$pid" -m -p systemctl --version | head -1 | awk '{print $2}'), $units units, $(nproc) CPUs"
nsenter -t "$pid" -m -p "$work/measure.sh" "$units"
