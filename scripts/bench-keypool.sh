#!/usr/bin/env bash
# Generar with pre-generated key pairs against without them (issue 13 part 4):
# scripts/bench-portal.sh twice in one run, at the same rate and duration,
# first with llaves_pregeneradas = 0 (every key generated when Generar asks),
# then with the pool (BENCH_KEY_POOL_SIZE, default 4, the setting's default).
# Prints both p50 and p99 and the ratio with/without; the goal is a p99 with
# the pool at most 0.5× the one without. Only 127.0.0.1; about 2.5 min.
#
#   bash scripts/bench-keypool.sh BUILD_DIR
#
# Knobs (environment): BENCH_KEY_POOL_SIZE (4), and bench-portal.sh's own
# (BENCH_GENERAR_RATE, default here 2; BENCH_DURATION, default here 60).
set -euo pipefail

if [[ $# -ne 1 || ! -x $1/llavero ]]; then
  echo "uso: bash $0 BUILD_DIR   (BUILD_DIR/llavero debe existir)" >&2
  exit 2
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/llavero-bench-keypool.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
export BENCH_GENERAR_RATE=${BENCH_GENERAR_RATE:-2} BENCH_DURATION=${BENCH_DURATION:-60}
POOL=${BENCH_KEY_POOL_SIZE:-4}

for run in sin con; do
  size=0
  [[ $run == con ]] && size=$POOL
  echo "== Generar ${run} llaves pregeneradas (llaves_pregeneradas = $size)"
  BENCH_KEY_POOL=$size bash "$HERE/bench-portal.sh" "$1" | tee "$OUT/$run.txt"
done

value() { sed -n "s/^$2=//p" "$OUT/$1.txt"; }
python3 - "$(value sin GENERAR_P50_MS)" "$(value sin GENERAR_P99_MS)" \
  "$(value con GENERAR_P50_MS)" "$(value con GENERAR_P99_MS)" "$POOL" "$BENCH_GENERAR_RATE" <<'PY'
import sys
p50_without, p99_without, p50_with, p99_with = map(float, sys.argv[1:5])
pool, rate = sys.argv[5], sys.argv[6]
print()
print(f"Generar a {rate}/s: sin llaves pregeneradas p50 {p50_without:.1f} ms, p99 {p99_without:.1f} ms; "
      f"con {pool} pregeneradas p50 {p50_with:.1f} ms, p99 {p99_with:.1f} ms")
ratio = p99_with / p99_without
print(f"p99 con / sin = {ratio:.2f} (meta: <= 0.5); p50 con / sin = {p50_with / p50_without:.2f}")
PY
