#!/bin/bash
# One timed trial, run INSIDE a freshly booted namespaced systemd (run.sh starts it there with
# `nsystemd.sh exec`). Prints one line of `key=value` results on stdout; details go to OUT.
#
#   trial.sh agent N OUT SYSTEMK STAGE MANIFESTS STATE POLL_SECONDS
#       The agent (`SYSTEMK --manifests MANIFESTS`) is started as a transient unit and left idle;
#       then the N manifests in STAGE are moved into MANIFESTS with one `mv`, and
#       `systemctl list-units --state=active` is polled every POLL_SECONDS until N units are active.
#   trial.sh floor N OUT RENDER
#       The unit files RENDER/systemk.*.service (their directories already made) are copied into
#       /run/systemd/system, then one `systemctl daemon-reload` and one blocking `systemctl start`
#       of all of them.
#
# With TRACE=1 in the environment the agent runs under `strace --seccomp-bpf` (only the system calls
# that mark its phases stop it), writing OUT/strace.txt for phases.sh; its times are then not clean.
#
# Times are wall-clock microseconds from bash's $EPOCHREALTIME (no process per reading).
set -euo pipefail

mode=$1 n=$2 out=$3
mkdir -p "$out"
now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
pattern='systemk.*.service'
active_count() { systemctl list-units --state=active --no-legend "$pattern" | wc -l; }
# CPU time (user+system, clock ticks) of a process of this namespace.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
journald_pid() { systemctl show -p MainPID --value systemd-journald.service; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# systemd's own record: the earliest InactiveExitTimestamp (first unit leaves inactive) and the
# latest ActiveEnterTimestamp (last unit active) of the pod units, in µs since the epoch.
unit_timestamps() {
  local units
  mapfile -t units < <(systemctl list-units --all --no-legend --plain "$pattern" | awk '{print $1}')
  systemctl show --timestamp=us+utc -p Id -p InactiveExitTimestamp -p ActiveEnterTimestamp "${units[@]}" \
    > "$out/unit-timestamps.txt"
  local first last
  first=$(sed -n 's/^InactiveExitTimestamp=[A-Za-z]* //p' "$out/unit-timestamps.txt" | grep . | date -u -f - +%s%6N | sort -n | head -1)
  last=$(sed -n 's/^ActiveEnterTimestamp=[A-Za-z]* //p' "$out/unit-timestamps.txt" | grep . | date -u -f - +%s%6N | sort -n | tail -1)
  echo "$first $last"
}

# A sleep without a process: wait on a pipe nobody writes to.
exec {nap_fd}<> <(:)
nap() { read -rt "$1" -u "$nap_fd" || true; }

case "$mode" in
  agent)
    systemk=$4 stage=$5 manifests=$6 state=$7 poll=$8
    wrapper=()
    if [ "${TRACE:-0}" = 1 ]; then
      wrapper=(strace -f --seccomp-bpf -ttt -s 300 -o "$out/strace.txt"
        -e trace=getdents64,sendmsg,mkdirat,symlinkat,rename,fsync)
    fi
    systemd-run --quiet --unit=systemk-agent.service -p Restart=no "${wrapper[@]}" "$systemk" \
      --manifests "$manifests" --state-dir "$state" --node-ip 10.0.0.10 --node-external-ip 10.0.0.11 \
      --nodename node-1
    for _ in $(seq 1 300); do
      journalctl -q -u systemk-agent.service --no-pager | grep -q "node node-1" && break
      nap 0.05
    done
    journalctl -q -u systemk-agent.service --no-pager | grep -q "node node-1" || { echo "agent did not start" >&2; exit 1; }
    pid=$(systemctl show -p MainPID --value systemk-agent.service)
    [ "${TRACE:-0}" = 1 ] && pid=$(awk '{print $1}' "/proc/$pid/task/$pid/children")
    # Idle: its first pass over the empty directory is long done.
    nap 2
    rss_idle=$(rss_kib "$pid")
    jpid=$(journald_pid)
    cpu0_systemd=$(ticks 1) cpu0_agent=$(ticks "$pid") cpu0_journald=$(ticks "$jpid")
    polls=0 poll_us=0
    t0=$(now)
    mv "$stage"/*.yaml "$manifests"/
    while :; do
      a=$(now)
      count=$(active_count)
      b=$(now)
      polls=$((polls + 1)) poll_us=$((poll_us + b - a))
      [ "$count" -ge "$n" ] && break
      if [ $((b - t0)) -gt 300000000 ]; then echo "timeout: $count of $n active" >&2; exit 1; fi
      nap "$poll"
    done
    t1=$b
    cpu1_systemd=$(ticks 1) cpu1_agent=$(ticks "$pid") cpu1_journald=$(ticks "$jpid")
    read -r first last < <(unit_timestamps)
    nap 2
    rss_loaded=$(rss_kib "$pid")
    journalctl -u systemk-agent.service -o short-unix --no-pager > "$out/agent.log"
    reloads=$(grep -c "reloaded systemd" "$out/agent.log" || true)
    echo "mode=agent n=$n polled_us=$((t1 - t0)) exact_us=$((last - t0)) first_start_us=$((first - t0))" \
      "polls=$polls poll_mean_us=$((poll_us / polls)) reloads=$reloads rss_idle_kib=$rss_idle rss_loaded_kib=$rss_loaded" \
      "cpu_systemd_ticks=$((cpu1_systemd - cpu0_systemd)) cpu_agent_ticks=$((cpu1_agent - cpu0_agent))" \
      "cpu_journald_ticks=$((cpu1_journald - cpu0_journald)) t0_us=$t0"
    ;;

  floor)
    render=$4
    mapfile -t units < <(cd "$render" && ls systemk.*.service)
    [ "${#units[@]}" -eq "$n" ] || { echo "expected $n units in $render, found ${#units[@]}" >&2; exit 1; }
    jpid=$(journald_pid)
    cpu0_systemd=$(ticks 1) cpu0_journald=$(ticks "$jpid")
    t0=$(now)
    cp "$render"/systemk.*.service /run/systemd/system/
    t_copied=$(now)
    systemctl daemon-reload
    t_reloaded=$(now)
    systemctl start "${units[@]}"
    t1=$(now)
    cpu1_systemd=$(ticks 1) cpu1_journald=$(ticks "$jpid")
    count=$(active_count)
    [ "$count" -eq "$n" ] || { echo "after start: $count of $n active" >&2; exit 1; }
    read -r first last < <(unit_timestamps)
    echo "mode=floor n=$n blocking_us=$((t1 - t0)) exact_us=$((last - t0)) first_start_us=$((first - t0))" \
      "copy_us=$((t_copied - t0)) reload_us=$((t_reloaded - t_copied)) start_us=$((t1 - t_reloaded))" \
      "cpu_systemd_ticks=$((cpu1_systemd - cpu0_systemd)) cpu_journald_ticks=$((cpu1_journald - cpu0_journald)) t0_us=$t0"
    ;;

  *)
    echo "usage: trial.sh agent|floor N OUT ..." >&2
    exit 2
    ;;
esac
