#!/bin/bash
# systemk as it runs on nodes: one self-contained executable (the Swift runtime linked in, so a node needs
# no toolchain, only glibc, libstdc++ and libsystemd), at .build/release/systemk.
#
#   scripts/build-release.sh [swift build options, e.g. --scratch-path DIR or --product systemk-render]
#
# Every function gets a section of its own (-function-sections for Swift, -ffunction-sections for the C
# of the dependencies: BoringSSL, llhttp, libyaml), so that the linker can lay the functions systemk
# runs out together, in the order of Sources/systemk/systemk.order (Package.swift's linker settings):
# systemk's resident code is then a few MiB instead of most of its 30 MiB. See BENCHMARKS.md, "Link order".
set -euo pipefail
cd "$(dirname "$0")/.."
product=(--product systemk)
for arg in "$@"; do [ "$arg" = --product ] && product=(); done
flags=(-c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections)
# SwiftPM does not know that the link reads Sources/systemk/systemk.order and private-code.ld: without the
# old executable it links again, so a new order always takes effect (linking takes seconds).
if [ ${#product[@]} -gt 0 ]; then
  bin=$(swift build "${flags[@]}" "$@" --show-bin-path)
  rm -f "$bin/systemk"
fi
exec swift build "${flags[@]}" "${product[@]}" "$@"
