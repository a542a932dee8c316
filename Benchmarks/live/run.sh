#!/bin/bash
# Benchmark: systemk's live mode, from pods created in the API server to Running reported back in
# their status, beside systemd's own floor for the same units; and systemk's resident memory.
#
#   sudo Benchmarks/live/run.sh [--sizes "1 50 200"] [--runs 3] [--quiet PERCENT] [--quiet-timeout SECONDS]
#                               [--work /var/tmp/systemk-livebench] [--no-build] [--http 1|2] [--cold]
#
# Each trial is one run of `systemk-live-bench trial ...` (Benchmarks/live/*.swift): it boots a fresh
# systemd 252 in a private PID+mount namespace (SystemdTestSupport, see shared/nsystemd.md for its
# safety rules), and, for the agent, starts the test API server (KubeTestServer, TLS, node
# authorization) in its own process and systemk inside the namespace as a transient unit:
#
#   capture  once per size, first: an agent trial whose unit files (CAPTURE/units) and pods'
#            directories (CAPTURE/state) become the floor's. Not counted.
#   agent    systemk registered (node Ready) and idle; N pods (one `/bin/sleep infinity` container, an
#            emptyDir and a ConfigMap volume, no token; their ConfigMaps created beforehand) created
#            through the API at once, over connections opened beforehand; the clock stops when a watch
#            opened before the first create has seen every pod Running with its container ready. Also
#            recorded: systemd's own record (latest ActiveEnterTimestamp), systemk's VmRSS idle and with
#            N pods, CPU time. Its unit files must equal the capture's, UIDs aside (checked every trial).
#   floor    the capture's unit files copied into /run/systemd/system (their directories copied to the
#            same path beforehand, untimed), one `systemctl daemon-reload`, one blocking `systemctl start`.
#
# Before each trial's clock starts, the trial waits (at most --quiet-timeout s, default 300) until the
# machine's CPUs were busy less than --quiet % (default 25) over 2 s, and records what it saw.
# With --cold, each agent trial first evicts the systemk executable from the page cache, as on a node
# that has just booted (otherwise its pages are cached as the build or the previous trial left them, which
# changes how many of them the kernel maps into systemk: see BENCHMARKS.md).
# Results: WORK/results.txt (one line per trial), WORK/summary.md, WORK/source.txt (commit, changed
# files, build times), WORK/trials/* (agent log, unit timestamps, per-pod times). Must run as root;
# WORK must not be under /tmp.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
sizes="1 50 200"
runs=3
quiet=25
quiet_timeout=300
http=2
work=/var/tmp/systemk-livebench
scratch=${SCRATCH_PATH:-$repo/.build-livebench}
build=1
exe_cache=warm

while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2;;
    --runs) runs=$2; shift 2;;
    --quiet) quiet=$2; shift 2;;
    --quiet-timeout) quiet_timeout=$2; shift 2;;
    --http) http=$2; shift 2;;
    --work) work=$2; shift 2;;
    --no-build) build=0; shift;;
    --cold) exe_cache=cold; shift;;
    *) sed -n '2,7p' "$0" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root" >&2; exit 1; }
case "$work" in /tmp|/tmp/*) echo "run.sh: --work must not be under /tmp" >&2; exit 1;; esac

if [ "$build" = 1 ]; then
  # systemk as users build it (README): scripts/build-release.sh.
  # The benchmark with the same flags: other flags would rebuild every module in the same directory.
  ("$repo/scripts/build-release.sh" --scratch-path "$scratch" \
    && "$repo/scripts/build-release.sh" --scratch-path "$scratch" --product systemk-live-bench) >&2
fi
bin=$scratch/release
if [ ! -x "$bin/systemk" ] || [ ! -x "$bin/systemk-live-bench" ]; then
  echo "run.sh: no release build in $scratch" >&2
  exit 1
fi

mkdir -p "$work"
work=$(cd "$work" && pwd)
# What was measured: the commit, the files that differed from it, and when the binaries were built.
{ git -C "$repo" rev-parse HEAD 2>/dev/null || echo "no git"
  git -C "$repo" status --short 2>/dev/null || true
  ls -l --time-style=full-iso "$bin/systemk" "$bin/systemk-live-bench"; } > "$work/source.txt"
state=$work/state
results=$work/results.txt
old=$work/old
: > "$results"
rm -rf "$work/trials" "$work"/capture-*
trap 'rm -rf "$old"' EXIT

# Moves the last trial's files aside (deleted at the end: on ext4, creating inodes soon after deleting
# many is slower, and the benchmark's clean-up must not slow the next trial). Private /var/tmp
# directories of the pods' units (PrivateTmp=yes) outlive a namespace killed with SIGKILL; only this
# benchmark's pods are in the namespace `livebench`.
clean() {
  local aside
  aside=$old/$(date +%s%N)
  mkdir -p "$aside"
  for d in "$state" /var/tmp/systemd-private-*-systemk.livebench.*.service-*; do
    if [ -e "$d" ]; then mv "$d" "$aside/" 2>/dev/null || true; fi
  done
}

trial() { # MODE N RUN
  local mode=$1 n=$2 run=$3 out=$work/trials/$2-$1-$3 line
  clean
  mkdir -p "$out"
  [ "$mode" = floor ] && cp -a "$work/capture-$n/state" "$state"
  sync
  sleep 1
  # The test API server (Hummingbird's HTTP/2 server, in the benchmark's process) sometimes traps
  # ("Deinited NIOAsyncWriter without calling finish()", in swift-nio-http2's inbound stream
  # multiplexer): a trial whose process died before printing its result is run again (at most 4 times
  # in all, each from a fresh systemd), and the result says how many attempts it took. A result printed
  # before a trap in the teardown stands, marked with the exit status.
  local status attempt=0
  while true; do
    attempt=$((attempt + 1))
    status=0
    line=$("$bin/systemk-live-bench" trial "$mode" --pods "$n" --out "$out" --state "$state" \
      --capture "$work/capture-$n" --systemk "$bin/systemk" --quiet "$quiet" --quiet-timeout "$quiet_timeout" \
      --http "$http" --exe-cache "$exe_cache") || status=$?
    [[ "$line" == mode=* ]] && break
    echo "run.sh: trial $mode $n $run, attempt $attempt: the benchmark process died (exit $status)" >&2
    [ "$attempt" -lt 4 ] || exit 1
    clean
    mkdir -p "$out"
    [ "$mode" = floor ] && cp -a "$work/capture-$n/state" "$state"
    sync
    sleep 1
  done
  line="$line run=$run attempts=$attempt"
  [ "$status" = 0 ] || line="$line teardown_exit=$status"
  echo "$line" | tee -a "$results" >&2
  # The capture's pods' directories stay for the floor.
  if [ "$mode" = capture ]; then mv "$state" "$work/capture-$n/state"; else clean; fi
}

for n in $sizes; do trial capture "$n" 0; done
for run in $(seq 1 "$runs"); do
  for n in $sizes; do
    # Alternate which goes first, so that a drift in the machine's load favours neither.
    if [ $((run % 2)) = 1 ]; then trial floor "$n" "$run"; trial agent "$n" "$run"
    else trial agent "$n" "$run"; trial floor "$n" "$run"; fi
  done
done

"$bin/systemk-live-bench" summarize "$results" > "$work/summary.md"
cat "$work/summary.md"
