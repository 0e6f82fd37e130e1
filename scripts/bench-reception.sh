#!/usr/bin/env bash
# The reception's documents per second from POST to aceptado (issue 5,
# "Benchmark"), without and then with callbacks (issue 10).
#
#   bash scripts/bench-reception.sh BUILD_DIR
#
# A throwaway data directory (CAs, the demo taxpayer, a pruebas key and an
# API password), BENCH_DOCS copies of examples/factura-electronica.xml, each
# with its own Clave and NumeroConsecutivo (consistent with each other), each
# signed beforehand with `llavero firmar` (not measured); then `llavero serve`
# on a free loopback port and scripts/bench-reception.py: a token, every
# document POSTed from BENCH_THREADS keep-alive connections as fast as they
# go, and GET .../recepcion/{clave} until each one is decided. It reports
# documents per second from the first POST to the last aceptado; every one
# must be aceptado, and the server must stop on SIGTERM with status 0. It is
# run twice on the same server: BENCH_DOCS documents without callbackUrl,
# then BENCH_DOCS more each with a callbackUrl (a receiver in
# bench-reception.py answering 200), which also reports POST to callback.
# Only 127.0.0.1; a few minutes, most of it signing.
#
# Knobs (environment): BENCH_DOCS (200), BENCH_THREADS (4),
# KEEP_BENCH_DIR=1 keeps the data directory and logs.
set -euo pipefail

if [[ $# -ne 1 || ! -x $1/llavero ]]; then
  echo "uso: bash $0 BUILD_DIR   (BUILD_DIR/llavero debe existir)" >&2
  exit 2
fi
LLAVERO=$(cd "$1" && pwd)/llavero
DOCS=${BENCH_DOCS:-200}
THREADS=${BENCH_THREADS:-4}

BENCH_NAME=bench-reception
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
require_tools curl python3 xargs

# --- a data directory, a key, an API password, the signed documents -----------------

new_data_dir
reception_documents $((2 * DOCS))

# --- the measurement -------------------------------------------------------------------

start_server "$TMP/serve.log"
BENCH_RC=0
echo "== sin callbacks =="
reception_send 0 "$DOCS" "$THREADS" || BENCH_RC=$?
echo
echo "== con callbacks (callbackUrl en cada envío) =="
reception_send "$DOCS" "$DOCS" "$THREADS" --callbacks || BENCH_RC=$?

SERVER_RC=0
stop_server || SERVER_RC=$?
echo "Servidor detenido con SIGTERM (estado $SERVER_RC)."
[[ $SERVER_RC == 0 ]] || die "el servidor no salió con estado 0 tras SIGTERM"
[[ $BENCH_RC == 0 ]] || die "no todos los comprobantes fueron aceptados (estado $BENCH_RC)"
