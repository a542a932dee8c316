#!/bin/bash
# Makes Sources/systemk/systemk.order: the functions systemk executes in a live run, for lld to lay out
# first and together (Package.swift, systemkLinkFlags; BENCHMARKS.md, "Link order").
#
#   sudo Benchmarks/link-order/run.sh [--work /var/tmp/systemk-link-order] [--pods 200] [--scratch-path DIR]
#
# Builds systemk as nodes run it (scripts/build-release.sh), then runs the live benchmark's trials
# (Benchmarks/live/run.sh: a real systemd in a private namespace, the test API server, N pods with a
# ConfigMap and an emptyDir, each reported Running) with systemk under valgrind's callgrind, and writes
# every function of the executable that ran at least once, sorted by name. Needs root and valgrind
# (apt-get install valgrind); takes a few minutes. Run it again when the code systemk runs has changed
# much: a function missing from the order still works, it is only laid out with the rest.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=/var/tmp/systemk-link-order
pods=200
scratch=
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2;;
    --pods) pods=$2; shift 2;;
    --scratch-path) scratch=$2; shift 2;;  # a build directory to reuse (default: WORK/build)
    *) sed -n '2,6p' "$0" >&2; exit 2;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "link-order: must run as root" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "link-order: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
case "$work" in /tmp|/tmp/*) echo "link-order: --work must not be under /tmp" >&2; exit 1;; esac

mkdir -p "$work"
work=$(cd "$work" && pwd)
scratch=${scratch:-$work/build}
# Both with build-release.sh's flags: other flags would rebuild every module in the same directory.
"$repo/scripts/build-release.sh" --scratch-path "$scratch" >&2
"$repo/scripts/build-release.sh" --scratch-path "$scratch" --product systemk-live-bench >&2

# The benchmark runs $bin/systemk: here a script that runs the real executable (without its debug
# information, which valgrind need not read) under callgrind, one profile per process.
rm -rf "${work:?}/bin" "${work:?}/profiles"
mkdir -p "$work/bin/release" "$work/profiles"
strip -g -o "$work/bin/systemk-real" "$scratch/release/systemk"
cp "$scratch/release/systemk-live-bench" "$work/bin/release/"
cat > "$work/bin/release/systemk" <<SCRIPT
#!/bin/bash
exec valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no --dump-instr=no \\
  --callgrind-out-file=$work/profiles/callgrind.%p --log-file=$work/profiles/valgrind.%p.log \\
  $work/bin/systemk-real "\$@"
SCRIPT
chmod +x "$work/bin/release/systemk"

# Under valgrind systemk is some 30 times slower: the trials' times mean nothing, so no quiet wait.
SCRATCH_PATH=$work/bin "$repo/Benchmarks/live/run.sh" --no-build --sizes "$pods" --runs 1 --quiet 100 \
  --work "$work/bench" >&2
"$here/order.py" "$work/bin/systemk-real" "$work"/profiles/callgrind.* > "$work/systemk.order"
mv "$work/systemk.order" "$repo/Sources/systemk/systemk.order"
echo "link-order: wrote Sources/systemk/systemk.order ($(grep -vc '^#' "$repo/Sources/systemk/systemk.order") functions)" >&2
