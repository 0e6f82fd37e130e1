#!/usr/bin/env bash
# Latency of the portal's Generar request (p50, p95, p99, max) at a steady
# open-loop rate, and of a plain portal page at the same time, in the same
# run (issue 4, "Benchmark").
#
#   bash scripts/bench-portal.sh BUILD_DIR
#
# A throwaway data directory (CAs, two taxpayers with portal passwords),
# `llavero serve` on a free loopback port, then scripts/bench-portal.py: log
# in through the form, pre-fetch one Generar form per Generar (for its
# one-time `solicitud`, not measured), then Generar at BENCH_GENERAR_RATE/s
# (as 1-0647-0958) and GET BENCH_PAGE at BENCH_PAGE_RATE/s (as
# 3-101-522899, whose key list stays the same; BENCH_PAGE_SAME_SESSION=1
# fetches it as 1-0647-0958, whose list grows by one row per Generar) for
# BENCH_DURATION seconds after BENCH_WARMUP seconds of the same load. Afterwards the store must hold one
# key per successful Generar, and the server must stop on SIGTERM with
# status 0. Only 127.0.0.1; about 45 s.
#
# Knobs (environment): BENCH_GENERAR_RATE (2), BENCH_PAGE_RATE (20),
# BENCH_PAGE (/llaves), BENCH_PAGE_SAME_SESSION (0), BENCH_DURATION (30), BENCH_WARMUP (3),
# BENCH_WORKERS (6 connections per stream), BENCH_KEY_POOL (the setting
# llaves_pregeneradas; unset: its default), KEEP_BENCH_DIR=1 keeps the data
# directory and logs.
set -euo pipefail

if [[ $# -ne 1 || ! -x $1/llavero ]]; then
  echo "uso: bash $0 BUILD_DIR   (BUILD_DIR/llavero debe existir)" >&2
  exit 2
fi
LLAVERO=$(cd "$1" && pwd)/llavero
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ID=1-0647-0958
PAGE_ID=3-101-522899

BENCH_NAME=bench-portal
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
require_tools curl python3

# --- a data directory with one taxpayer who can log in ---------------------------

new_data_dir
PASSWORD="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PASSWORD" | "$LLAVERO" --data "$D" contribuyente crear --id "$ID" \
  --nombre CONTRIBUYENTE --apellidos "PEÑA DE PRUEBA" --contrasena-stdin >/dev/null ||
  die "contribuyente crear falló"
PAGE_PASSWORD="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PAGE_PASSWORD" | "$LLAVERO" --data "$D" contribuyente crear --id "$PAGE_ID" \
  --nombre "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA" --contrasena-stdin >/dev/null ||
  die "contribuyente crear falló ($PAGE_ID)"
if [[ -n ${BENCH_KEY_POOL:-} ]]; then
  sed -i "s/^llaves_pregeneradas = .*/llaves_pregeneradas = $BENCH_KEY_POOL/" "$D/llavero.conf"
  grep -q "^llaves_pregeneradas = $BENCH_KEY_POOL\$" "$D/llavero.conf" ||
    die "llaves_pregeneradas no quedó en $D/llavero.conf"
fi
PAGE_ARGS=(--page-id "$PAGE_ID")
[[ ${BENCH_PAGE_SAME_SESSION:-0} == 1 ]] && PAGE_ARGS=()

# --- the measurement -------------------------------------------------------------------

start_server "$TMP/serve.log"
BENCH_RC=0
printf '%s\n%s\n' "$PASSWORD" "$PAGE_PASSWORD" | python3 "$HERE/bench-portal.py" \
  --url "http://127.0.0.1:$PORT" --id "$ID" --ambiente pruebas "${PAGE_ARGS[@]}" \
  --generar-rate "${BENCH_GENERAR_RATE:-2}" --page-rate "${BENCH_PAGE_RATE:-20}" \
  --page "${BENCH_PAGE:-/llaves}" --duration "${BENCH_DURATION:-30}" \
  --warmup "${BENCH_WARMUP:-3}" --workers "${BENCH_WORKERS:-6}" | tee "$TMP/bench.txt" ||
  BENCH_RC=$?

SERVER_RC=0
stop_server || SERVER_RC=$?
echo "Servidor detenido con SIGTERM (estado $SERVER_RC)."

# One key per successful Generar: the last one pending (the bench never
# downloads) and each earlier one annulled by the Generar after it.
MADE=$(sed -n 's/^GENERAR_OK_TOTAL=//p' "$TMP/bench.txt")
KEYS=$("$LLAVERO" --data "$D" llave estado --id "$ID" --ambiente pruebas --json |
  python3 -c 'import json, sys
v = json.load(sys.stdin)
keys = v if isinstance(v, list) else v.get("llaves", v.get("keys", []))
print(len(keys))')
echo "Llaves de pruebas en el almacén: $KEYS (Generar con éxito: ${MADE:-?})."

[[ $SERVER_RC == 0 ]] || die "el servidor no salió con estado 0 tras SIGTERM"
[[ $BENCH_RC == 0 ]] || die "hubo errores en la carga (estado $BENCH_RC)"
[[ -n $MADE && $KEYS == "$MADE" ]] || die "el almacén tiene $KEYS llaves y Generar respondió bien $MADE veces"
