#!/bin/bash
# Benchmark: how long `systemk --manifests DIR` takes from manifests landing in DIR to all their units
# active, against the floor of systemd doing the same work from ready-made unit files.
#
#   sudo Benchmarks/agent/run.sh [--sizes "1 50 200"] [--runs 3] [--poll 0.02] [--state-tmpfs]
#                                [--quiet PERCENT] [--trace] [--work /var/tmp/systemk-agentbench] [--no-build]
#
# Each trial boots a fresh systemd 252 in a private PID+mount namespace
# (Tests/SystemdTestSupport/nsystemd.sh; see shared/nsystemd.md for its safety rules), runs
# trial.sh inside it, and kills it by its recorded PID. Per size and run:
#
#   agent  systemk runs idle (as a transient unit) with an empty manifest directory; N manifests,
#          written beforehand to a staging directory on the same file system, are moved in with one
#          `mv`; the clock stops when `systemctl list-units --state=active 'systemk.*.service'`
#          (polled every --poll seconds) counts N. Also reported: the same end point from systemd's
#          own record (latest ActiveEnterTimestamp), free of the polling granularity, and the
#          agent's VmRSS idle and with N pods.
#   floor  the very same unit files (systemk-render --standalone --output), their directories and
#          files made beforehand (materialize.py, not timed), copied into /run/systemd/system, then
#          one `systemctl daemon-reload` and one blocking `systemctl start` of all units.
#
# The pods' state directory is WORK/state (on the disk, as /var/lib/systemk would be), or with
# --state-tmpfs a tmpfs mounted there inside the namespace only (to tell the disk's share apart).
# A trial's state is moved aside, not deleted, and everything is deleted at the end: on an ext4
# without a journal, creating inodes soon after deleting many is much slower (the allocator skips
# recently deleted inodes), and the benchmark's own clean-up must not slow the next trial.
#
# Before each trial, run.sh waits (at most 5 minutes) until the machine's CPUs were busy less than
# --quiet PERCENT (default 25) over 2 s, and records what it saw (busy=): others' load skews
# everything here. --trace runs the agent under strace for phases.sh (times then not clean).
#
# Pods: gen-manifests.sh (one `/bin/sleep infinity` container, an emptyDir and a ConfigMap volume).
# Results: WORK/results.txt (one line per trial), WORK/summary.md, WORK/trials/* (agent log, unit
# timestamps). Must run as root; WORK must not be under /tmp (the namespace has its own /tmp).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
nsystemd=$repo/Tests/SystemdTestSupport/nsystemd.sh
sizes="1 50 200"
runs=3
poll=0.02
work=/var/tmp/systemk-agentbench
scratch=${SCRATCH_PATH:-$repo/.build-agentbench}
build=1
state_tmpfs=0
quiet=25
trace=0

while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2;;
    --runs) runs=$2; shift 2;;
    --poll) poll=$2; shift 2;;
    --work) work=$2; shift 2;;
    --no-build) build=0; shift;;
    --state-tmpfs) state_tmpfs=1; shift;;
    --quiet) quiet=$2; shift 2;;
    --trace) trace=1; shift;;
    *) sed -n '2,9p' "$0" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root" >&2; exit 1; }
case "$work" in /tmp|/tmp/*) echo "run.sh: --work must not be under /tmp" >&2; exit 1;; esac

if [ "$build" = 1 ]; then
  (cd "$repo" && swift build -c release --scratch-path "$scratch" --product systemk \
    && swift build -c release --scratch-path "$scratch" --product systemk-render) >&2
fi
bin=$scratch/release
[ -x "$bin/systemk" ] && [ -x "$bin/systemk-render" ] || { echo "run.sh: no release build in $scratch" >&2; exit 1; }

mkdir -p "$work"
work=$(cd "$work" && pwd)
ns=$work/ns
state=$work/state
results=$work/results.txt
: > "$results"
rm -rf "$work/trials"

down() { "$nsystemd" down "$ns" 2>/dev/null || true; }
old=$work/old
trap 'down; rm -rf "$old"' EXIT

# Moves the last trial's files aside (deleted at the end). Private /var/tmp directories of the pods'
# units (PrivateTmp=yes) outlive a namespace killed with SIGKILL; only this benchmark's pods are in
# the namespace `agentbench`.
clean() {
  down
  local aside=$old/$(date +%s%N)
  mkdir -p "$aside"
  for d in "$state" "$work/manifests" "$work/stage" /var/tmp/systemd-private-*-systemk.agentbench.*.service-*; do
    [ -e "$d" ] && mv "$d" "$aside/" 2>/dev/null || true
  done
}

# Manifests and the floor's unit files, once per size (the pods' directories live in $state).
for n in $sizes; do
  rm -rf "$work/manifests-$n" "$work/render-$n"
  "$here/gen-manifests.sh" "$n" "$work/manifests-$n"
  "$bin/systemk-render" --standalone --nodename node-1 --node-ip 10.0.0.10 --node-external-ip 10.0.0.11 \
    --state-dir "$state" --output "$work/render-$n" "$work/manifests-$n"/*.yaml
done

# Percentage of CPU time the whole machine was busy over 2 s (from /proc/stat).
busy() {
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
  sleep 2
  b=$(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
  echo "$a $b" | awk '{ busy = $3 - $1; idle = $4 - $2; printf "%d", 100 * busy / (busy + idle) }'
}

wait_quiet() {
  local b deadline=$((SECONDS + 300))
  while b=$(busy); [ "$b" -ge "$quiet" ] && [ $SECONDS -lt $deadline ]; do :; done
  echo "$b"
}

trial() { # MODE N RUN
  local mode=$1 n=$2 run=$3 out=$work/trials/$2-$1-$3 line
  clean
  mkdir -p "$out" "$state"
  if [ "$mode" = agent ]; then
    mkdir -p "$work/manifests"
    cp -r "$work/manifests-$n" "$work/stage"
  fi
  sync
  "$nsystemd" up "$ns" $$ >/dev/null
  [ "$state_tmpfs" = 1 ] && "$nsystemd" exec "$ns" mount -t tmpfs -o mode=0755 tmpfs "$state"
  [ "$mode" = floor ] && "$nsystemd" exec "$ns" /usr/bin/python3 "$here/materialize.py" "$work/render-$n/plan.json"
  sync
  sleep 1
  local quiet_seen
  quiet_seen=$(wait_quiet)
  if [ "$mode" = agent ]; then
    line=$(TRACE=$trace "$nsystemd" exec "$ns" "$here/trial.sh" agent "$n" "$out" "$bin/systemk" "$work/stage" \
      "$work/manifests" "$state" "$poll")
    # The agent must have installed exactly the units the floor uses.
    "$nsystemd" exec "$ns" bash -c 'cd "$1" && for f in systemk.*.service; do cmp -s "$f" "/run/systemd/system/$f" || echo "$f"; done' \
      _ "$work/render-$n" > "$out/differing-units.txt"
    [ -s "$out/differing-units.txt" ] && { echo "run.sh: the agent's units differ from the render's:" >&2; cat "$out/differing-units.txt" >&2; exit 1; }
  else
    line=$("$nsystemd" exec "$ns" "$here/trial.sh" floor "$n" "$out" "$work/render-$n")
  fi
  line="$line run=$run busy=$quiet_seen state=$([ "$state_tmpfs" = 1 ] && echo tmpfs || echo disk) load1=$(cut -d' ' -f1 /proc/loadavg)"
  echo "$line" | tee -a "$results" >&2
  clean
}

for run in $(seq 1 "$runs"); do
  for n in $sizes; do
    # Alternate which goes first, so that a drift in the machine's load favours neither.
    if [ $((run % 2)) = 1 ]; then trial floor "$n" "$run"; trial agent "$n" "$run"
    else trial agent "$n" "$run"; trial floor "$n" "$run"; fi
  done
done

"$here/summarize.sh" "$results" > "$work/summary.md"
cat "$work/summary.md"
