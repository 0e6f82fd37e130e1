#!/usr/bin/env bash
# The Herramienta Gratuita's documents per second from the Emitir POST to
# aceptado, through the whole tool, against the reception's own documents
# per second in the same run (issue 11, "Benchmark").
#
#   bash scripts/bench-herramienta.sh BUILD_DIR
#
# One throwaway data directory and one `llavero serve` on a free loopback
# port. First the reception as scripts/bench-reception.sh measures it
# (reception_documents and reception_send of bench-lib.sh: BENCH_DOCS
# facturas signed beforehand by the demo taxpayer, POSTed through the API
# from BENCH_THREADS connections, polled until aceptado). Then
# scripts/bench-herramienta.py as another taxpayer (3-101-522899, a portal
# password): logs in, generates a pruebas key with "Soy usuario del
# Facturador Gratuito de Hacienda" ticked and downloads it (not measured),
# and for BENCH_DURATION seconds emits facturas of three lines from
# BENCH_CLIENTS browsers exactly as the Emitir form does (GET for the csrf and
# the one-time solicitud, POST, the comprobante's page), reloading each
# comprobante's page until it is aceptado. Prints both figures and their
# ratio. Every document must be aceptado, the store must hold one emitidos
# row per comprobante emitted, and the server must stop on SIGTERM with
# status 0. Only 127.0.0.1; about two minutes.
#
# Knobs (environment): BENCH_DOCS (200), BENCH_THREADS (4), BENCH_DURATION
# (20), BENCH_CLIENTS (4), KEEP_BENCH_DIR=1 keeps the data directory and logs.
set -euo pipefail

if [[ $# -ne 1 || ! -x $1/llavero ]]; then
  echo "uso: bash $0 BUILD_DIR   (BUILD_DIR/llavero debe existir)" >&2
  exit 2
fi
LLAVERO=$(cd "$1" && pwd)/llavero
DOCS=${BENCH_DOCS:-200}
THREADS=${BENCH_THREADS:-4}
TOOL_ID=3-101-522899

BENCH_NAME=bench-herramienta
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
require_tools curl python3 xargs sqlite3

# --- the reception's documents, and the tool's taxpayer --------------------------------

new_data_dir
reception_documents "$DOCS"
PASSWORD="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PASSWORD" | "$LLAVERO" --data "$D" contribuyente crear --id "$TOOL_ID" \
  --nombre "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA" --correo facturacion@example.com \
  --contrasena-stdin >/dev/null || die "contribuyente crear falló ($TOOL_ID)"

# --- the measurement -------------------------------------------------------------------

start_server "$TMP/serve.log"
BENCH_RC=0
echo "== la recepción (API, comprobantes firmados de antemano) =="
reception_send 0 "$DOCS" "$THREADS" | tee "$TMP/reception.txt" || BENCH_RC=$?
echo
echo "== la Herramienta Gratuita (formulario Emitir, firma en custodia) =="
printf '%s\n' "$PASSWORD" | python3 "$BENCH_DIR/bench-herramienta.py" \
  --url "http://127.0.0.1:$PORT" --id "$TOOL_ID" --clients "${BENCH_CLIENTS:-4}" \
  --duration "${BENCH_DURATION:-20}" | tee "$TMP/tool.txt" || BENCH_RC=$?

SERVER_RC=0
stop_server || SERVER_RC=$?
echo "Servidor detenido con SIGTERM (estado $SERVER_RC)."

# One row of emitidos per comprobante the tool answered with its page: none
# lost, none emitted twice.
MADE=$(sed -n 's/^EMITTED_TOTAL=//p' "$TMP/tool.txt")
ROWS=$(sqlite3 -batch -cmd '.timeout 5000' "$D/llavero.db" 'select count(*) from emitidos')
echo "Comprobantes en emitidos: $ROWS (emitidos con su página: ${MADE:-?})."
RECEPTION=$(sed -n 's/^DOCS_PER_SECOND=//p' "$TMP/reception.txt")
TOOL=$(sed -n 's/^DOCS_PER_SECOND=//p' "$TMP/tool.txt")
echo
python3 - "${RECEPTION:-0}" "${TOOL:-0}" <<'EOF'
import sys
reception, tool = (float(x) for x in sys.argv[1:])
print(f"Recepción (POST de la API → aceptado):          {reception:7.1f} comprobantes/s")
print(f"Herramienta Gratuita (POST Emitir → aceptado): {tool:7.1f} comprobantes/s")
print(f"Herramienta / recepción: {tool / reception:.2f}" if reception else "Herramienta / recepción: -")
EOF

[[ $SERVER_RC == 0 ]] || die "el servidor no salió con estado 0 tras SIGTERM"
[[ $BENCH_RC == 0 ]] || die "no todos los comprobantes fueron aceptados (estado $BENCH_RC)"
[[ -n $MADE && $ROWS == "$MADE" ]] || die "emitidos tiene $ROWS filas y la herramienta emitió $MADE"
