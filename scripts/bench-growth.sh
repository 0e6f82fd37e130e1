#!/usr/bin/env bash
# How the service's costs grow with the store (issue 13): the same figures on
# a near-empty PostgreSQL store and on a full one, in the same run, on the
# same machine, one after the other.
#
#   bash scripts/bench-growth.sh BUILD_DIR        (make bench-growth)
#
# A throwaway PostgreSQL cluster (tests/lib/postgres.sh) and one data
# directory made by `llavero init --db` (the real migrations), with the
# benchmark's own taxpayers made by the CLI: the demo taxpayer with a pruebas
# key, an API password and BENCH_DOCS signed comprobantes (bench-lib.sh), and
# two portal accounts. That database is copied (CREATE DATABASE ... TEMPLATE)
# so both stores hold the same CAs and the same people; then
# bench/growth-fill.sql adds GROWTH_SMALL taxpayers (5 certificates each) to
# the near-empty one and GROWTH_TAXPAYERS (5 certificates each, a CRL line
# for each) to the full one. See that file for what is synthetic.
#
# Measured on each store:
#   - `llavero crl` of the pruebas pf CA (one line per taxpayer) and of the
#     producción pf CA (no live line, one expired revoked row per taxpayer),
#     best of 3; a GET of the CRL from memory;
#   - `llavero serve` until /healthz (it builds every CRL first);
#   - OCSP GET for GROWTH_COLD_SERIALS random serials of the store, each asked
#     once (cache cold: read and signed), wrk for GROWTH_COLD_DURATION; then
#     GROWTH_WARM_SERIALS of them again and again (cache warm), WRK_DURATION;
#   - Generar in the portal at BENCH_GENERAR_RATE/s for BENCH_DURATION s
#     (bench-portal.py): p50, p99; and the server's CPU time over that phase
#     and the CRLs it built (each Generar revokes the key before it, and
#     every revocation rebuilds the CRLs);
#   - the reception: the same BENCH_DOCS comprobantes POSTed and polled until
#     aceptado (bench-reception.py): documents per second.
# Then a table: each figure on both stores, the ratio, and a mark where a
# cost grew more than log2(certificates) did.
#
# Knobs (environment): GROWTH_TAXPAYERS (1000000), GROWTH_SMALL (2000),
# GROWTH_COLD_SERIALS (10000), GROWTH_COLD_DURATION (3s), GROWTH_WARM_SERIALS
# (1000), WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION (10s),
# BENCH_DOCS (100), BENCH_THREADS (4), BENCH_GENERAR_RATE (0.5), BENCH_DURATION
# (30), KEEP_BENCH_DIR=1, GROWTH_PG_OPTIONS (the cluster's memory, below;
# the tests' cluster keeps its 64 MB). The full size needs about 16 GB of
# disk in $TMPDIR (10 GB of table: each row holds a certificate's DER) and
# 6 to 8 min on two busy cores, 2.5 to 4 min of it filling the store (it
# was still filling after 13 min when the rows went into the indexes one
# by one); GROWTH_TAXPAYERS=100000 takes about 3 min. Only 127.0.0.1 and a
# unix socket.
set -euo pipefail

if [[ $# -ne 1 || ! -x $1/llavero ]]; then
  echo "uso: bash $0 BUILD_DIR   (BUILD_DIR/llavero debe existir)" >&2
  exit 2
fi
LLAVERO=$(cd "$1" && pwd)/llavero
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIG=${GROWTH_TAXPAYERS:-1000000}
SMALL=${GROWTH_SMALL:-2000}
COLD_SERIALS=${GROWTH_COLD_SERIALS:-10000}
COLD_DURATION=${GROWTH_COLD_DURATION:-3s}
WARM_SERIALS=${GROWTH_WARM_SERIALS:-1000}
THREADS=${WRK_THREADS:-2}
CONNECTIONS=${WRK_CONNECTIONS:-32}
DURATION=${WRK_DURATION:-10s}
DOCS=${BENCH_DOCS:-100}
PORTAL_ID=2-0345-0678
PAGE_ID=3-101-522899
# A store of 10 GB on a server with a few GB: the cluster gets what a
# production one would (a quarter of its memory is the usual advice), not
# the tests' 64 MB; the server's CRL build at 1 000 000 lines takes longer
# than a test's start.
export LLAVERO_PG_OPTIONS=${GROWTH_PG_OPTIONS:-"-c shared_buffers=1GB -c max_wal_size=4GB"}
export BENCH_START_SECONDS=${BENCH_START_SECONDS:-300}

BENCH_NAME=bench-growth
# shellcheck source=bench-lib.sh
source "$HERE/bench-lib.sh"
# shellcheck source=../tests/lib/postgres.sh
source "$HERE/../tests/lib/postgres.sh"
require_tools wrk openssl curl python3 psql
RESULTS=$TMP/results.txt
: >"$RESULTS"
PG=$TMP/pg

stop_all() {
  stop_server || true
  pg_stop "$PG" || true
}
trap 'stop_all; cleanup' EXIT

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
# record FIGURE STORE VALUE
# The CPU time (user + system, in clock ticks) the server has used so far.
server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
record() { echo "$1 $2 $3" >>"$RESULTS"; }

# --- one database with the benchmark's own people ------------------------------------

pg_start "$PG" || die "no se pudo arrancar PostgreSQL"
echo "PostgreSQL: shared_buffers $(pg_sql "$PG" postgres "SHOW shared_buffers"), opciones: $LLAVERO_PG_OPTIONS"
pg_createdb "$PG" chico
new_data_dir --db "$(pg_url "$PG" chico)"
reception_documents "$DOCS"
PORTAL_PASSWORD="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
PAGE_PASSWORD="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$PORTAL_PASSWORD" | "$LLAVERO" --data "$D" contribuyente crear --id "$PORTAL_ID" \
  --nombre CONTRIBUYENTE --apellidos "DEL PORTAL" --contrasena-stdin >/dev/null ||
  die "contribuyente crear falló ($PORTAL_ID)"
printf '%s\n' "$PAGE_PASSWORD" | "$LLAVERO" --data "$D" contribuyente crear --id "$PAGE_ID" \
  --nombre "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA" --contrasena-stdin >/dev/null ||
  die "contribuyente crear falló ($PAGE_ID)"

# --- the two stores ---------------------------------------------------------------------

pg_createdb "$PG" grande chico
D_SMALL=$D
D_BIG=$TMP/data-grande
cp -a "$D_SMALL" "$D_BIG"
grep -v '^db = ' "$D_SMALL/llavero.conf" >"$D_BIG/llavero.conf"
echo "db = $(pg_url "$PG" grande)" >>"$D_BIG/llavero.conf"

fill() {
  local db=$1 n=$2 start
  start=$(now_ns)
  psql -X -q -v ON_ERROR_STOP=1 -v n="$n" -f "$HERE/../bench/growth-fill.sql" \
    "$(pg_url "$PG" "$db")" >"$TMP/fill-$db.log" 2>&1 || { cat "$TMP/fill-$db.log" >&2; die "growth-fill.sql falló ($db)"; }
  FILL_MS=$(ms_since "$start")
}
fill chico "$SMALL"
echo "Almacén casi vacío: $SMALL contribuyentes y $((5 * SMALL)) certificados en $FILL_MS ms."
echo "Llenando el almacén grande: $BIG contribuyentes y $((5 * BIG)) certificados..."
fill grande "$BIG"
echo "Lleno en $((FILL_MS / 1000)) s ($(pg_sql "$PG" grande \
  "SELECT pg_size_pretty(pg_database_size('grande'))") en disco)."
# The fill's 10 GB are still being written out by the kernel (fsync is off):
# wait for that here rather than measure it.
sync
ROWS_SMALL=$(pg_sql "$PG" chico "SELECT count(*) FROM certificates")
ROWS_BIG=$(pg_sql "$PG" grande "SELECT count(*) FROM certificates")

# OCSP request templates, one per persona física CA, with a serial to replace.
TEMPLATE_SERIAL=4A5A5A5A5A5A5A5A5A5A5A5A5A5A5A01
for env in pruebas produccion; do
  openssl ocsp -issuer "$D_SMALL/ca/$env/pf.pem" -serial "0x$TEMPLATE_SERIAL" -no_nonce \
    -reqout "$TMP/template-$env.der" >/dev/null 2>&1 || die "openssl ocsp no escribió la plantilla ($env)"
done

# --- the measurements ---------------------------------------------------------------

# run_wrk NAME SCRIPT DURATION : sets RPS, P99_MS and REQUESTS.
run_wrk() {
  local name=$1 out="$TMP/wrk-$1.txt" p99
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --timeout 10s --latency -s "$2" \
    "http://127.0.0.1:$PORT" >"$out" 2>&1 || { cat "$out" >&2; die "wrk falló ($name)"; }
  RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  REQUESTS=$(awk '/requests in/ { print $1 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  [[ -n $RPS && -n $p99 && -n $REQUESTS ]] || { cat "$out" >&2; die "no se pudo leer la salida de wrk ($name)"; }
  P99_MS=$(to_ms "$p99")
  if grep -qE "Non-2xx|Socket errors" "$out"; then
    die "$name: $(grep -E "Non-2xx|Socket errors" "$out" | tr -s ' ' | paste -sd';')"
  fi
}

# best_of_3 COMMAND... : the least wall time of three runs, in ms, in BEST.
best_of_3() {
  local start took
  BEST=""
  for _ in 1 2 3; do
    start=$(now_ns)
    "$@" >/dev/null || die "falló: $*"
    took=$(ms_since "$start")
    if [[ -z $BEST || $took -lt $BEST ]]; then BEST=$took; fi
  done
}

measure() {
  local store=$1 db=$2 crl entries start
  D=$3
  echo
  echo "== almacén $store ($(pg_sql "$PG" "$db" "SELECT count(*) FROM certificates") certificados) =="

  for env in pruebas produccion; do
    crl=$TMP/$store-$env.crl
    best_of_3 "$LLAVERO" --data "$D" crl --ambiente "$env" --ca pf --salida "$crl"
    entries=$(openssl crl -inform DER -in "$crl" -noout -text | grep -c 'Serial Number:' || true)
    echo "  llavero crl $env pf: $BEST ms, $entries líneas"
    record "crl_${env}_ms" "$store" "$BEST"
    if [[ $env == pruebas ]]; then
      record crl_pruebas_entries "$store" "$entries"
      record crl_pruebas_us_per_entry "$store" "$(python3 -c "print($BEST * 1000 / max($entries, 1))")"
    fi
  done

  start=$(now_ns)
  start_server "$TMP/serve-$store.log"
  record startup_ms "$store" "$(ms_since "$start")"
  best_of_3 curl -sf --max-time 60 -o "$TMP/$store-get.crl" "http://127.0.0.1:$PORT/stag/intermediate-pf.crl"
  record crl_get_ms "$store" "$BEST"
  cmp -s <(openssl crl -inform DER -in "$TMP/$store-get.crl" -noout -text | grep -c 'Serial Number:') \
    <(echo "$(openssl crl -inform DER -in "$TMP/$store-pruebas.crl" -noout -text | grep -c 'Serial Number:')") ||
    die "la CRL servida no tiene las líneas de la de llavero crl ($store)"

  # Random serials of both persona física CAs, each a certificate of the store.
  pg_sql "$PG" "$db" "SELECT a.environment, c.serial_hex FROM certificates c
    JOIN authorities a ON a.id = c.authority_id
    WHERE a.kind = 'pf' AND c.status <> 'reserved' ORDER BY random() LIMIT $COLD_SERIALS" |
    tr '|' ' ' >"$TMP/$store-serials.txt"
  head -n "$WARM_SERIALS" "$TMP/$store-serials.txt" >"$TMP/$store-warm.txt"
  for kind in serials warm; do
    python3 "$HERE/bench-growth.py" lua --plantilla "pruebas=$TMP/template-pruebas.der" \
      --plantilla "produccion=$TMP/template-produccion.der" --prefijo pruebas=stag/ocsp/pf \
      --prefijo produccion=prod/ocsp/pf --serie-plantilla "$TEMPLATE_SERIAL" \
      --series "$TMP/$store-$kind.txt" --threads "$THREADS" --salida "$TMP/$store-$kind.lua"
  done
  local cold_n
  cold_n=$(wc -l <"$TMP/$store-serials.txt")
  # Each serial once, as long as the list lasts.
  run_wrk "$store-cold" "$TMP/$store-serials.lua" "$COLD_DURATION"
  [[ $REQUESTS -le $cold_n ]] ||
    echo "  aviso: $REQUESTS solicitudes para $cold_n series: la lista dio la vuelta (parte caliente)"
  printf '  OCSP caché fría:    %10s req/s  p99 %8s ms  (%s solicitudes, %s series)\n' \
    "$RPS" "$P99_MS" "$REQUESTS" "$cold_n"
  record ocsp_cold_rps "$store" "$RPS"
  record ocsp_cold_p99 "$store" "$P99_MS"
  run_wrk "$store-warmup" "$TMP/$store-warm.lua" 2s
  run_wrk "$store-warm" "$TMP/$store-warm.lua" "$DURATION"
  printf '  OCSP caché caliente: %10s req/s  p99 %8s ms  (%s series)\n' "$RPS" "$P99_MS" "$WARM_SERIALS"
  record ocsp_warm_rps "$store" "$RPS"
  record ocsp_warm_p99 "$store" "$P99_MS"
  # One answer, checked: a certificate of the store is good or revoked, never unknown.
  curl -sf --max-time 10 -o "$TMP/$store-ocsp.der" "http://127.0.0.1:$PORT$(cat "$TMP/$store-serials.lua.first")" ||
    die "GET OCSP falló ($store)"
  read -r env serial <"$TMP/$store-serials.txt"
  openssl ocsp -respin "$TMP/$store-ocsp.der" -issuer "$D/ca/$env/pf.pem" -serial "0x$serial" -noverify \
    2>/dev/null | grep -qE "0x$serial: (good|revoked)" || die "la respuesta OCSP no dice good ni revoked ($store)"

  # Each Generar supersedes the key before it: a revocation, so the server
  # builds its CRLs again (SPEC: on every revocation); what that costs it
  # shows in its CPU time over the phase.
  local cpu_before crl_before
  cpu_before=$(server_cpu_ticks)
  crl_before=$(pg_sql "$PG" "$db" "SELECT last_value FROM crl_numbers")
  printf '%s\n%s\n' "$PORTAL_PASSWORD" "$PAGE_PASSWORD" | python3 "$HERE/bench-portal.py" \
    --url "http://127.0.0.1:$PORT" --id "$PORTAL_ID" --ambiente pruebas --page-id "$PAGE_ID" \
    --generar-rate "${BENCH_GENERAR_RATE:-0.5}" --page-rate 5 --page /llaves \
    --duration "${BENCH_DURATION:-30}" --warmup 3 --workers 6 >"$TMP/$store-portal.txt" ||
    { cat "$TMP/$store-portal.txt" >&2; die "bench-portal.py falló ($store)"; }
  local p50 p99
  read -r p50 p99 < <(awk '/^Generar \(/ { print $(NF-3), $(NF-1) }' "$TMP/$store-portal.txt")
  [[ -n $p99 ]] || die "no se leyó el p99 de Generar ($store)"
  local cpu_s crls
  cpu_s=$(python3 -c "print(($(server_cpu_ticks) - $cpu_before) / $(getconf CLK_TCK))")
  crls=$(($(pg_sql "$PG" "$db" "SELECT last_value FROM crl_numbers") - crl_before))
  echo "  Generar: p50 $p50 ms, p99 $p99 ms; el servidor, $cpu_s s de CPU y $crls CRL hechas"
  record generar_p50 "$store" "$p50"
  record generar_p99 "$store" "$p99"
  record generar_server_cpu_s "$store" "$cpu_s"
  record generar_crls "$store" "$crls"

  reception_send 0 "$DOCS" "${BENCH_THREADS:-4}" >"$TMP/$store-reception.txt" ||
    { cat "$TMP/$store-reception.txt" >&2; die "no todos los comprobantes fueron aceptados ($store)"; }
  local dps
  dps=$(sed -n 's/^DOCS_PER_SECOND=//p' "$TMP/$store-reception.txt")
  echo "  Recepción: $dps comprobantes/s"
  record reception_dps "$store" "$dps"

  stop_server || die "el servidor no salió con estado 0 tras SIGTERM ($store)"
}

measure chico chico "$D_SMALL"
measure grande grande "$D_BIG"

python3 "$HERE/bench-growth.py" report --resultados "$RESULTS" --filas-chico "$ROWS_SMALL" \
  --filas-grande "$ROWS_BIG"
