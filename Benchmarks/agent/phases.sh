#!/bin/bash
# Where an agent trial's time went, from a trial run with `run.sh --trace`: the agent's system calls
# (strace.txt), its log and systemd's unit timestamps, as milliseconds after the manifests' `mv`.
#
#   phases.sh WORK/trials/N-agent-RUN [WORK/results.txt]
set -eu
dir=${1:?usage: phases.sh TRIAL_DIR [RESULTS]}
results=${2:-$dir/../../results.txt}
name=$(basename "$dir")              # N-agent-RUN
n=${name%%-*} run=${name##*-}
line=$(grep "mode=agent n=$n " "$results" | grep " run=$run ")
t0=$(grep -o 't0_us=[0-9]*' <<<"$line" | cut -d= -f2)
[ -f "$dir/strace.txt" ] || { echo "phases.sh: no strace.txt in $dir (run.sh --trace)" >&2; exit 1; }

# strace lines: PID SECONDS.MICROS CALL...; keep those after the mv, as "ms CALL...".
calls=$(awk -v t0="$t0" '{ t = $2; sub(/\./, "", t); if (t + 0 >= t0) printf "%.1f %s\n", (t - t0) / 1000, substr($0, index($0, $3)) }' "$dir/strace.txt")
after() { printf '%s\n' "$calls"; }
first() { after | grep -E "$1" | head -1 | awk '{print $1}'; }
last() { after | grep -E "$1" | tail -1 | awk '{print $1}'; }
listing="getdents64\(.*/\* $((n + 2)) entries"

noticed=$(first "$listing")
materialize=$(first 'mkdirat')
loaded=$(after | awk -v m="$materialize" '$1 < m' | grep -E "$listing" | tail -1 | awk '{print $1}')
units=$(first 'rename\("/run/systemd/system/')
units_done=$(last 'rename\("/run/systemd/system/')
reload=$(first 'sendmsg.*Reload')
start_first=$(first 'sendmsg.*StartUnit')
start_last=$(last 'sendmsg.*StartUnit')
# System calls of the materialization alone (before the first unit file).
window() { after | awk -v a="$materialize" -v b="$units" '$1 >= a && $1 < b' | grep -c "^[0-9.]* $1" || true; }
fsyncs=$(window fsync) mkdirs=$(window mkdirat) symlinks=$(window symlinkat)
ts() { sed -n "s/^$1=[A-Za-z]* //p" "$dir/unit-timestamps.txt" | grep . | date -u -f - +%s%6N | sort -n; }
unit_first=$(ts InactiveExitTimestamp | head -1) unit_last=$(ts ActiveEnterTimestamp | tail -1)

cat <<EOF
| phase (agent, $n pods, run $run) | from ms | to ms | took ms |
| --- | ---: | ---: | ---: |
| notice the change (inotify, then 30 ms of quiet) | 0 | $noticed | $noticed |
| fingerprint the directory, start the pass | $noticed | $loaded | $(bc <<<"$loaded - $noticed") |
| read and compile the manifests, list installed units | $loaded | $materialize | $(bc <<<"$materialize - $loaded") |
| make pod directories and files ($mkdirs mkdir, $symlinks symlink, $fsyncs fsync) | $materialize | $units | $(bc <<<"$units - $materialize") |
| write unit files | $units | $units_done | $(bc <<<"$units_done - $units") |
| daemon-reload, until the first StartUnit is sent | $reload | $start_first | $(bc <<<"$start_first - $reload") |
| first StartUnit → first unit leaves inactive | $start_first | $(( (unit_first - t0) / 1000 )) | $(bc <<<"$(( (unit_first - t0) / 1000 )) - $start_first") |
| starting: first unit leaves inactive → last unit active (last StartUnit sent at $start_last) | $(( (unit_first - t0) / 1000 )) | $(( (unit_last - t0) / 1000 )) | $(( (unit_last - unit_first) / 1000 )) |
EOF
