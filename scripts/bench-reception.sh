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
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXAMPLE=$HERE/../examples/factura-electronica.xml
ID=1-0647-0958
DOCS=${BENCH_DOCS:-200}
THREADS=${BENCH_THREADS:-4}

BENCH_NAME=bench-reception
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
require_tools curl python3 xargs

# --- a data directory, a key, an API password, the signed documents -----------------

new_data_dir
# One API user sends every document and polls: the reception's limit per
# token subject (recepcion_limite_solicitudes) would measure itself.
sed -i 's/^recepcion_limite_solicitudes = .*/recepcion_limite_solicitudes = 1000000/' "$D/llavero.conf"
grep -q '^recepcion_limite_solicitudes = 1000000$' "$D/llavero.conf" ||
  die "recepcion_limite_solicitudes no quedó en $D/llavero.conf"
"$LLAVERO" --data "$D" contribuyente crear --id "$ID" --nombre CONTRIBUYENTE \
  --apellidos "PEÑA DE PRUEBA" >/dev/null
P12=$(echo 1234 | "$LLAVERO" --data "$D" llave generar --id "$ID" --ambiente pruebas \
  --pin-stdin --salida "$D/out" 2>/dev/null | tail -n 1)
[[ -f $P12 ]] || die "llave generar no dejó el .p12"
"$LLAVERO" --data "$D" contrasena generar --id "$ID" --ambiente pruebas >"$TMP/api.txt" ||
  die "contrasena generar falló"
API_USER=$(sed -n 's/^Usuario: //p' "$TMP/api.txt")
API_PASSWORD=$(sed -n 's/^Contraseña: //p' "$TMP/api.txt")
[[ -n $API_USER && -n $API_PASSWORD ]] || die "no se leyó el usuario o la contraseña de la API"

DOCDIR=$TMP/docs
python3 "$HERE/bench-reception.py" preparar --ejemplo "$EXAMPLE" --n $((2 * DOCS)) --dir "$DOCDIR"
echo "Firmando $((2 * DOCS)) comprobantes con llavero firmar (no se mide)..."
SIGN_START=$(date +%s.%N)
# shellcheck disable=SC2016
find "$DOCDIR" -name '[0-9][0-9][0-9].xml' -print0 |
  xargs -0 -P 2 -n 1 sh -c 'out=$(echo 1234 | "$0" firmar --p12 "$1" --pin-stdin --entrada "$2" \
    --salida "${2%.xml}-firmada.xml" 2>&1) || { echo "$2: $out" >&2; exit 255; }' "$LLAVERO" "$P12" ||
  die "llavero firmar falló"
SIGNED=$(find "$DOCDIR" -name '*-firmada.xml' | wc -l)
[[ $SIGNED == $((2 * DOCS)) ]] || die "solo $SIGNED de $((2 * DOCS)) quedaron firmados"
echo "Firmados en $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
  "$SIGN_START" "$(date +%s.%N)") s (2 procesos a la vez; cada uno abre el .p12)."

# --- the measurement -------------------------------------------------------------------

start_server "$TMP/serve.log"
BENCH_RC=0
echo "== sin callbacks =="
printf '%s\n' "$API_PASSWORD" | python3 "$HERE/bench-reception.py" enviar \
  --url "http://127.0.0.1:$PORT" --usuario "$API_USER" --dir "$DOCDIR" --threads "$THREADS" \
  --desde 0 --cuantos "$DOCS" || BENCH_RC=$?
echo
echo "== con callbacks (callbackUrl en cada envío) =="
printf '%s\n' "$API_PASSWORD" | python3 "$HERE/bench-reception.py" enviar \
  --url "http://127.0.0.1:$PORT" --usuario "$API_USER" --dir "$DOCDIR" --threads "$THREADS" \
  --desde "$DOCS" --cuantos "$DOCS" --callbacks || BENCH_RC=$?

SERVER_RC=0
stop_server || SERVER_RC=$?
echo "Servidor detenido con SIGTERM (estado $SERVER_RC)."
[[ $SERVER_RC == 0 ]] || die "el servidor no salió con estado 0 tras SIGTERM"
[[ $BENCH_RC == 0 ]] || die "no todos los comprobantes fueron aceptados (estado $BENCH_RC)"
