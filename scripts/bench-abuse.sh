#!/usr/bin/env bash
# The legitimate client under each attack of issue 12 (docs/operacion.md):
# its share of successful requests and p99 latency, with and without the
# attack, in one run. The attacks and the measurement are those of the test
# tests/abuse/abuse_test.sh (with the server's default limits), whose lines
# "ATAQUE ..." are the figures.
#   bash scripts/bench-abuse.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for attack in sockets tokens; do
  bash "$HERE/../tests/abuse/abuse_test.sh" "$BUILD/llavero" --section "$attack" | grep -E 'ATAQUE|passed'
done
