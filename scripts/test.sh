#!/bin/bash
# Installs what the test suite needs (Debian packages) and runs the whole suite.
# Run as root: the real-systemd tests boot systemd in a private PID+mount namespace
# (see Tests/SystemdTestSupport/nsystemd.sh); as another user they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Another apt may hold the lock for a while (an unattended upgrade): wait for it.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    apt-get -o DPkg::Lock::Timeout=120 update -qq && break
    [ "$attempt" = 10 ] && exit 1
    sleep 15
  done
  # libsystemd-dev, pkg-config: the runtime links libsystemd (sd-bus, sd-journal);
  # systemd: systemd-analyze verify for golden units, and the systemd the integration tests boot;
  # dbus: its system bus; util-linux: unshare/nsenter; python3: the probe the test units run;
  # openssl, shellcheck: the k3s kit's scripts mint certificates and are linted (Tests/KitTests).
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends libsystemd-dev pkg-config systemd dbus util-linux python3 \
    openssl shellcheck \
    diffutils >/dev/null
else
  echo "note: not root, so no packages installed and the real-systemd tests will be skipped" >&2
fi

swift build --build-tests
swift test --skip-build
