#!/usr/bin/env bash
# Run a command (the test suite, the benchmarks) where it can reach loopback alone.
#
# As root, the command runs in a new network namespace whose only interface is `lo`
# (127.0.0.1, ::1), so no test or benchmark can send traffic to this machine's other
# addresses or to any other host, whatever a library picks by itself (Ray binds to the
# host's own address when it finds one: ray-project/ray#26293). Set-up steps that need
# the package registries run before this, outside it. Without root, or where a
# namespace cannot be made, the command runs as it is and one line says so.
# Inside, CLINLAB_LOOPBACK_ONLY=1 tells the tests that the isolation is on.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

why_off=""
if [ "$(id -u)" != 0 ]; then
  why_off="not root"
elif ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
  why_off="unshare or ip is missing"
elif ! unshare --net true 2>/dev/null; then
  why_off="this machine refuses a new network namespace"
fi

if [ -z "$why_off" ]; then
  echo "network isolation: on (own network namespace, only loopback up)"
  # 127.0.0.2 is a second loopback address for WebRTC: aiortc's ICE leaves out 127.0.0.1
  # itself, so without it the live page's peers would have no candidate to meet on.
  exec unshare --net -- bash -c 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo &&
    CLINLAB_LOOPBACK_ONLY=1 exec "$@"' loopback-only "$@"
fi
echo "network isolation: off ($why_off): the command runs in this machine's network"
exec "$@"
