#!/usr/bin/env bash
# Several servers on one PostgreSQL (issue 13, docs/deploy.md): throughput of
# OCSP, the reception and a portal page
#   - on PostgreSQL against SQLite (one instance each), and
#   - three instances behind HAProxy against one instance behind the same
#     HAProxy (PostgreSQL),
# each a ratio against its baseline measured in the same run.
#
#   bash scripts/bench-cluster.sh BUILD_DIR
#
# Two throwaway data directories (SQLite; PostgreSQL in a throwaway cluster,
# tests/lib/postgres.sh), the per-address limits lifted (bench-lib.sh), each
# with one key, API password and portal password. For each configuration:
# wrk on a cached OCSP GET and on GET /llaves with a session cookie
# (WRK_DURATION each), then BENCH_DOCS signed facturas POSTed and polled until
# decided (bench-reception.py, BENCH_THREADS connections). Only 127.0.0.1;
# about 4 minutes. On a machine with few cores the three instances share
# them: the ratio says what a second and third process add here, not on
# three machines.
#
# Knobs: WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION (8s), BENCH_DOCS
# (40), BENCH_THREADS (8), KEEP_BENCH_DIR=1.
set -euo pipefail

if [[ $# -ne 1 || ! -x $1/llavero ]]; then
  echo "uso: bash $0 BUILD_DIR   (BUILD_DIR/llavero debe existir)" >&2
  exit 2
fi
LLAVERO=$(cd "$1" && pwd)/llavero
THREADS=${WRK_THREADS:-2}
CONNECTIONS=${WRK_CONNECTIONS:-32}
DURATION=${WRK_DURATION:-8s}
DOCS=${BENCH_DOCS:-40}
SENDERS=${BENCH_THREADS:-8}
PAGE_ID=3-101-522899  # logs in to the portal for the page

BENCH_NAME=bench-cluster
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
# shellcheck source=../tests/lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/postgres.sh"
require_tools wrk openssl curl python3 haproxy psql

PIDS=()
HAPROXY_PID=""
cluster_cleanup() {
  local p
  for p in "${PIDS[@]}" $HAPROXY_PID; do kill -TERM "$p" 2>/dev/null || true; done
  pg_stop "$TMP/pg" 2>/dev/null || true
  cleanup
}
trap cluster_cleanup EXIT

# --- two data directories: SQLite ($D) and PostgreSQL ($DP) --------------------

pg_start "$TMP/pg" || die "PostgreSQL no arrancó (paquete postgresql-15)"
pg_createdb "$TMP/pg" llavero
LB_PORT=$(free_port)

# prepare DIR : a key of $ID, its API password, a portal password, DOCS
# signed facturas in DIR.docs; the OCSP request path in DIR.ocsp.
prepare() {
  local dir=$1 pw
  D=$dir
  reception_documents "$((DOCS * ${2:-1}))"
  mv "$DOCDIR" "$dir.docs"
  echo "$API_USER $API_PASSWORD" >"$dir.api"
  pw="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$pw" | "$LLAVERO" --data "$dir" contribuyente crear --id "$PAGE_ID" \
    --nombre "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA" --contrasena-stdin >/dev/null ||
    die "contribuyente crear $PAGE_ID falló"
  echo "$pw" >"$dir.pw"
  openssl pkcs12 -in "$(find "$dir/out" -name "*.p12" | head -1)" -passin pass:1234 -nokeys -clcerts \
    2>/dev/null | openssl x509 -out "$dir.pem" 2>/dev/null
  openssl ocsp -issuer "$dir/ca/pruebas/pf.pem" -cert "$dir.pem" -no_nonce \
    -reqout "$dir.req" >/dev/null 2>&1 || die "openssl ocsp no escribió la solicitud"
  python3 -c 'import base64, sys, urllib.parse
print("/stag/ocsp/pf/" + urllib.parse.quote(base64.b64encode(open(sys.argv[1], "rb").read()).decode(), safe=""))' \
    "$dir.req" >"$dir.ocsp"
}

new_data_dir
SQLITE_DIR=$D
SQLITE_PORT=$PORT
PORT=$(free_port)
PG_DIR=$TMP/pgdata
"$LLAVERO" --data "$PG_DIR" init --db "$(pg_url "$TMP/pg" llavero)" \
  --url-base "http://127.0.0.1:$LB_PORT" >"$TMP/init-pg.log" 2>&1 ||
  { cat "$TMP/init-pg.log" >&2; die "llavero init --db falló"; }
for key in solicitudes_por_segundo_publicas solicitudes_por_segundo_generales \
  solicitudes_por_segundo_contrasenas registro_lineas_por_segundo; do
  sed -i "s/^$key = .*/$key = 0/" "$PG_DIR/llavero.conf"
done
prepare "$SQLITE_DIR"
# Three runs on the one database (each needs fresh claves): PG alone, one
# behind HAProxy, three behind HAProxy.
prepare "$PG_DIR" 3

# session_cookie URL DIR : a portal session of $PAGE_ID ("llavero_sesion=…").
session_cookie() {
  python3 - "$1" "$PAGE_ID" "$2.pw" <<'PY'
import sys, urllib.parse, http.client, re
u = urllib.parse.urlparse(sys.argv[1]); pw = open(sys.argv[3]).readline().strip()
def req(method, path, body=None, cookie=""):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Cookie": cookie} if cookie else {}
    if body: h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h); r = c.getresponse(); d = r.read()
    return r, d.decode("utf-8", "replace")
r, html = req("GET", "/ingresar")
ck = "; ".join(v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie")
csrf = re.search(r'name="csrf" value="([^"]*)"', html).group(1)
r, _ = req("POST", "/ingresar", urllib.parse.urlencode(
    {"csrf": csrf, "identificacion": sys.argv[2], "contrasena": pw}), ck)
print("; ".join(v.split(";")[0] for k, v in r.getheaders()
                if k.lower() == "set-cookie" and v.startswith("llavero_sesion=")))
PY
}

# --- the instances ---------------------------------------------------------------------

# serve DIR PORT LOG : one instance in the background (PIDS); waits for /readyz.
serve() {
  "$LLAVERO" --data "$1" serve --listen "127.0.0.1:$2" >"$3" 2>&1 </dev/null &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$2/readyz" && return 0
    sleep 0.1
  done
  die "la instancia en $2 no respondió /readyz"
}
stop_all() {
  local p
  for p in "${PIDS[@]}" $HAPROXY_PID; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}" $HAPROXY_PID; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  HAPROXY_PID=""
}
haproxy_over() { # PORT... : HAProxy on LB_PORT over those instances
  {
    printf 'global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 2s\n'
    printf '  timeout client 30s\n  timeout server 30s\nlisten llavero\n'
    printf '  bind 127.0.0.1:%s\n  balance roundrobin\n  option httpchk GET /readyz\n' "$LB_PORT"
    local p
    for p in "$@"; do printf '  server i%s 127.0.0.1:%s check\n' "$p" "$p"; done
  } >"$TMP/haproxy.cfg"
  haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$LB_PORT/readyz" && return 0
    sleep 0.1
  done
  die "HAProxy no respondió"
}

wrk_rps() { # URL [wrk args] : requests per second
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s "${@:2}" "$1" >"$TMP/wrk.txt" 2>&1 ||
    { cat "$TMP/wrk.txt" >&2; die "wrk falló"; }
  if grep -qE "Non-2xx|Socket errors" "$TMP/wrk.txt"; then
    echo "  aviso: $(grep -E "Non-2xx|Socket errors" "$TMP/wrk.txt" | tr -s ' ' | paste -sd';')" >&2
  fi
  awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.txt"
}

# measure NAME URL DIR BATCH : OCSP, portal page and reception through URL;
# appends "NAME ocsp portal reception" to $TMP/results.
measure() {
  local name=$1 url=$2 dir=$3 batch=$4 ocsp page docs cookie
  echo "== $name ($url)"
  ocsp=$(wrk_rps "$url$(cat "$dir.ocsp")")
  cookie=$(session_cookie "$url" "$dir")
  [[ -n $cookie ]] || die "no se pudo ingresar al portal ($name)"
  page=$(wrk_rps "$url/llaves" -H "Cookie: $cookie")
  read -r API_USER API_PASSWORD <"$dir.api"
  DOCDIR=$dir.docs
  PORT=${url##*:}
  reception_send "$((batch * DOCS))" "$DOCS" "$SENDERS" >"$TMP/rec-$name.txt" ||
    { cat "$TMP/rec-$name.txt" >&2; die "la recepción falló ($name)"; }
  docs=$(sed -n 's/^DOCS_PER_SECOND=//p' "$TMP/rec-$name.txt")
  printf '   OCSP %s req/s, /llaves %s req/s, recepción %s comprobantes/s\n' "$ocsp" "$page" "$docs"
  echo "$name $ocsp $page $docs" >>"$TMP/results"
}

: >"$TMP/results"
P1=$(free_port) P2=$(free_port) P3=$(free_port)
serve "$SQLITE_DIR" "$SQLITE_PORT" "$TMP/sqlite.log"
measure sqlite "http://127.0.0.1:$SQLITE_PORT" "$SQLITE_DIR" 0
stop_all
serve "$PG_DIR" "$P1" "$TMP/pg1.log"
measure postgres "http://127.0.0.1:$P1" "$PG_DIR" 0
haproxy_over "$P1"
measure haproxy-1 "http://127.0.0.1:$LB_PORT" "$PG_DIR" 1
stop_all
cp -a "$PG_DIR" "$PG_DIR-2"
cp -a "$PG_DIR" "$PG_DIR-3"
serve "$PG_DIR" "$P1" "$TMP/pg1b.log"
serve "$PG_DIR-2" "$P2" "$TMP/pg2.log"
serve "$PG_DIR-3" "$P3" "$TMP/pg3.log"
haproxy_over "$P1" "$P2" "$P3"
measure haproxy-3 "http://127.0.0.1:$LB_PORT" "$PG_DIR" 2
stop_all

python3 - "$TMP/results" "$(nproc)" <<'PY'
import sys
r = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
names = ["OCSP (req/s)", "/llaves (req/s)", "recepción (comprobantes/s)"]
print()
print(f"{'':<28}{'SQLite':>10}{'PostgreSQL':>12}{'ratio':>8}   {'HAProxy+1':>10}{'HAProxy+3':>10}{'ratio':>8}")
for i, n in enumerate(names):
    s, p, h1, h3 = r["sqlite"][i], r["postgres"][i], r["haproxy-1"][i], r["haproxy-3"][i]
    print(f"{n:<28}{s:>10.1f}{p:>12.1f}{p / s:>8.2f}   {h1:>10.1f}{h3:>10.1f}{h3 / h1:>8.2f}")
print(f"\nratio PostgreSQL / SQLite: una instancia cada uno; ratio HAProxy+3 / HAProxy+1: tres "
      f"instancias contra una detrás del mismo HAProxy, en esta máquina de {sys.argv[2]} núcleos.")
PY
