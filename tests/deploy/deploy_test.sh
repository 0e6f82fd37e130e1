#!/usr/bin/env bash
# Three `llavero serve` on one PostgreSQL behind HAProxy behave as one
# service (issue 13; docs/deploy.md), all on loopback:
#  - a throwaway PostgreSQL (tests/lib/postgres.sh), `llavero init --db`,
#    one data directory copied to three instances, HAProxy round-robin over
#    them with health checks on /readyz;
#  - through HAProxy, under load: the portal (login, Generar, the one-time
#    download, each request on a new connection, so on any instance), the
#    reception (facturas with a callbackUrl to a loopback receiver that
#    counts) and the CRL, fetched all along; one instance is killed with
#    `kill -9` in the middle;
#  - afterwards: every 202 of the reception reaches a final state, none is
#    decided twice (each instance logs each decision), each callback is
#    delivered once, the key the portal acknowledged exists and is active, a
#    revocation made through one instance is `revoked` at once in the OCSP
#    of every instance (each asked directly), the CRL number never went
#    down, one responder per CA was issued (the leader's), and the audit
#    chain verifies.
#
#   bash tests/deploy/deploy_test.sh build/llavero
# Exit 77 (skipped) when PostgreSQL or HAProxy is not installed.
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"
# shellcheck source=tests/lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/postgres.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=$HERE/cluster.py
RPY=$REPO/tests/api/reception.py
N_DOCS=${DEPLOY_DOCS:-24}

require_tools curl python3 openssl psql
if ! command -v haproxy >/dev/null || [[ ! -x $PG_BIN/initdb ]]; then
  skip_check "tres instancias detrás de HAProxy sobre PostgreSQL" \
    "falta haproxy o PostgreSQL 15 (bash scripts/install-deps.sh)"
  finish
fi

PIDS=()
HAPROXY_PID=""
# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
  local p
  for p in "${PIDS[@]}" $HAPROXY_PID; do kill -9 "$p" 2>/dev/null; done
  pg_stop "$TMP/pg" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
wait_http() { # URL : 200 within 60 s
  for _ in $(seq 1 300); do
    [[ $(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$1") == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}

T0=$(date +%s)
stamp() { echo "    (${1}: $(($(date +%s) - T0)) s)"; }
section "PostgreSQL, llavero init --db, tres instancias y HAProxy"
pg_start "$TMP/pg"
RC=$?
if ((RC != 0)); then
  fail "PostgreSQL arranca" 0 "$RC"
  finish
fi
pg_createdb "$TMP/pg" llavero
DB=$(pg_url "$TMP/pg" llavero)
LB_PORT=$(free_port)
LB=http://127.0.0.1:$LB_PORT
D1=$TMP/i1
# Six RSA-4096 keys: 6 to 40 s, more on a busy machine (not `run`'s 120 s).
timeout 400 "$LLAVERO" --data "$D1" init --db "$DB" --url-base "$LB" >"$TMP/init.log" 2>&1 </dev/null
RC=$? OUT=$(cat "$TMP/init.log") ERR=""
assert_rc "llavero init --db postgresql://… --url-base (HAProxy)" 0
((RC == 0)) || finish
printf 'callback_espera_segundos = 1\ncallback_timeout_segundos = 2\n' >>"$D1/llavero.conf"

PORTS=()
start_instance() { # N : instance N on PORTS[N-1], logging to $TMP/iN.log
  local n=$1
  "$LLAVERO" --data "$TMP/i$n" serve --listen "127.0.0.1:${PORTS[n - 1]}" \
    >>"$TMP/i$n.log" 2>&1 </dev/null &
  PIDS[n - 1]=$!
}
for n in 1 2 3; do PORTS+=("$(free_port)"); done
# The first instance alone: it makes portal.key and the custody key, which
# every instance must share, and the OCSP responders (it is the leader).
start_instance 1
wait_http "http://127.0.0.1:${PORTS[0]}/readyz"
assert_eq "la instancia 1 responde /readyz" 200 \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORTS[0]}/readyz")"
for n in 2 3; do
  cp -a "$D1" "$TMP/i$n"
  start_instance "$n"
done
for n in 2 3; do
  wait_http "http://127.0.0.1:${PORTS[n - 1]}/readyz"
  assert_eq "la instancia $n responde /readyz" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORTS[n - 1]}/readyz")"
done

cat >"$TMP/haproxy.cfg" <<EOF
global
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
  retry-on conn-failure
listen llavero
  bind 127.0.0.1:$LB_PORT
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 500ms fall 2 rise 2
  server i1 127.0.0.1:${PORTS[0]} check
  server i2 127.0.0.1:${PORTS[1]} check
  server i3 127.0.0.1:${PORTS[2]} check
EOF
haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
HAPROXY_PID=$!
wait_http "$LB/readyz"
assert_eq "HAProxy responde /readyz" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$LB/readyz")"

stamp "hasta aquí"
section "contribuyentes, llave y contraseña de la API, facturas firmadas"
PORTAL_ID=1-1111-1111
PORTAL_PASSWORD=deploy-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PORTAL_PASSWORD" | llv "$D1" contribuyente crear --id "$PORTAL_ID" --nombre ANA \
  --apellidos "MORA SOLIS" --contrasena-stdin >/dev/null 2>&1
assert_eq "contribuyente del portal creado" 0 $?
create_demo_taxpayers "$D1"
generate "$D1" "$FISICA_ID" pruebas "$TMP/k1"
assert_rc "llave de pruebas para firmar las facturas" 0
K1=$P12
run llv "$D1" contrasena generar --id "$FISICA_ID" --ambiente pruebas
assert_rc "contraseña de la API de pruebas" 0
API_USER=$(sed -n 's/^Usuario: //p' <<<"$OUT")
API_PASSWORD=$(sed -n 's/^Contraseña: //p' <<<"$OUT")
TOKEN=$(curl -s --max-time 20 "$LB/auth/realms/rut-stag/protocol/openid-connect/token" \
  -d grant_type=password -d client_id=api-stag --data-urlencode "username=$API_USER" \
  --data-urlencode "password=$API_PASSWORD" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))' 2>/dev/null)
assert_ne "un token de la API por HAProxy" "" "$TOKEN"

RECEIVER_LOG=$TMP/callbacks.log
: >"$RECEIVER_LOG"
python3 "$REPO/tests/api/callback_receiver.py" "$TMP/receiver.port" "$RECEIVER_LOG" 200 \
  >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do [[ -s $TMP/receiver.port ]] && break; sleep 0.1; done
RECEIVER_URL=http://127.0.0.1:$(cat "$TMP/receiver.port")/callback

read -r _ FECHA < <(python3 "$RPY" fechar "$REPO/examples" "$TMP/ejemplos")
ENVELOPES=()
declare -A CLAVE_OF=()
for i in $(seq 1 "$N_DOCS"); do
  CLAVE_OF[$i]=$(python3 "$RPY" doc "$TMP/ejemplos/factura-electronica.xml" "$TMP/f$i.xml" "$((5000 + i))")
done
# Two signers at a time; each opens the .p12.
# shellcheck disable=SC2016
seq 1 "$N_DOCS" | xargs -P 2 -I{} sh -c 'printf "1234\n" | "$0" firmar --p12 "$1" --pin-stdin \
  --entrada "$2/f{}.xml" --salida "$2/f{}-firmada.xml" >/dev/null 2>&1' "$LLAVERO" "$K1" "$TMP"
for i in $(seq 1 "$N_DOCS"); do
  [[ -s $TMP/f$i-firmada.xml ]] || fail "firmar la factura $i" "f$i-firmada.xml" "no existe"
  python3 "$RPY" envelope "$TMP/f$i-firmada.xml" "${CLAVE_OF[$i]}" "$FECHA" 01 106470958 02 3101522899 \
    callbackUrl="$RECEIVER_URL" >"$TMP/envio$i.json"
  ENVELOPES+=("$TMP/envio$i.json")
done
assert_eq "$N_DOCS sobres listos" "$N_DOCS" "${#ENVELOPES[@]}"

stamp "hasta aquí"
section "carga por HAProxy; la instancia 2 muere con kill -9 en medio"
CRL_URL=$(openssl x509 -in <(cert_of "$K1") -noout -ext crlDistributionPoints 2>/dev/null |
  sed -n 's/.*URI://p' | head -1)
assert_match "la CRL se publica en la dirección de HAProxy" "$CRL_URL" "^$LB/"
python3 "$PY" crls "$CRL_URL" 400 "$TMP/crl-numbers" &
CRL_PID=$!
PIDS+=("$CRL_PID")
python3 "$PY" post "$LB" "$TOKEN" "$TMP/posted" "${ENVELOPES[@]}" &
POST_PID=$!
PIDS+=("$POST_PID")
printf '%s\n' "$PORTAL_PASSWORD" | python3 "$PY" portal "$LB" "$PORTAL_ID" "$TMP/portal.p12" \
  >"$TMP/portal1.txt" 2>&1 &
PORTAL_PID=$!
sleep 1
kill -9 "${PIDS[1]}"
wait "${PIDS[1]}" 2>/dev/null
echo "    instancia 2 (pid ${PIDS[1]}) muerta con kill -9"
wait "$POST_PID"
wait "$PORTAL_PID"
PORTAL_OUT=$(cat "$TMP/portal1.txt")
echo "    portal: $PORTAL_OUT"
ACKED=$(awk '$2 == 202' "$TMP/posted" | wc -l)
echo "    recepción: $ACKED de $N_DOCS respondidas 202 (otras: $(awk '$2 != 202 {print $2}' "$TMP/posted" | sort | uniq -c | tr '\n' ' '))"
assert_ge "la mayoría de los POST por HAProxy se aceptan pese a la caída" $((N_DOCS / 2)) "$ACKED"

stamp "hasta aquí"
section "lo reconocido no se pierde"
awk '$2 == 202 {print $1}' "$TMP/posted" >"$TMP/acked"
python3 "$PY" states "$LB" "$TOKEN" "$TMP/acked" 90 >"$TMP/states"
assert_eq "cada 202 llega a un estado final (aceptado)" "$ACKED aceptado" \
  "$(awk '{print $2}' "$TMP/states" | sort | uniq -c | awk '{print $1, $2}' | paste -sd ' ')"
DECIDED=$(cat "$TMP"/i[123].log | sed -n 's/.*recepción: \([0-9]*\) decidido: .*/\1/p' | sort | uniq -c)
assert_eq "ningún comprobante se decidió dos veces (registros de las tres instancias)" "" \
  "$(awk '$1 > 1' <<<"$DECIDED")"
for _ in $(seq 1 300); do
  (($(awk '{print $3}' "$RECEIVER_LOG" | sort -u | wc -l) >= ACKED)) && break
  sleep 0.2
done
assert_eq "un callback por comprobante aceptado" "$ACKED" "$(awk '{print $3}' "$RECEIVER_LOG" | sort -u | wc -l)"
assert_eq "ningún callback se entregó dos veces" "" \
  "$(awk '{print $3}' "$RECEIVER_LOG" | sort | uniq -d)"

assert_match "portal por HAProxy: ingreso, Generar, una descarga, la segunda rechazada" "$PORTAL_OUT" \
  "^login=303 generar=303 descarga=200 segunda=410 serie=[0-9A-F]+$"
PORTAL_SERIAL=$(sed -n 's/.*serie=//p' <<<"$PORTAL_OUT")
run llv "$D1" llave estado --id "$PORTAL_ID" --ambiente pruebas --json
assert_eq "la llave que el portal reconoció existe y está activa" activa \
  "$(key_field "$OUT" "$PORTAL_SERIAL" estado)"
assert_same "el .p12 descargado es esa llave" "$(norm_serial "$PORTAL_SERIAL")" "$(serial_of "$TMP/portal.p12")"

stamp "hasta aquí"
section "una revocación por una instancia: revoked en el OCSP de cada una, al instante"
cert_of "$TMP/portal.p12" >"$TMP/portal.pem"
OCSP_PATH=$(openssl x509 -in "$TMP/portal.pem" -noout -ocsp_uri | sed "s|^$LB||")
ocsp_of() { # PORT : the status of the portal's certificate at that instance
  openssl ocsp -issuer "$D1/ca/pruebas/pf.pem" -CAfile "$D1/ca/pruebas/root.pem" \
    -cert "$TMP/portal.pem" -no_nonce -url "http://127.0.0.1:$1$OCSP_PATH" -timeout 10 2>&1 |
    sed -n "s|^$TMP/portal.pem: ||p"
}
for n in 1 3; do
  assert_eq "OCSP de la instancia $n: good antes" good "$(ocsp_of "${PORTS[n - 1]}")"
done
REVOKED=$(printf '%s\n' "$PORTAL_PASSWORD" | python3 "$PY" revoke "http://127.0.0.1:${PORTS[0]}" "$PORTAL_ID")
assert_eq "revocada en el portal de la instancia 1" "revocar=303 serie=$PORTAL_SERIAL" "$REVOKED"
for n in 3 1; do
  assert_eq "OCSP de la instancia $n: revoked en seguida" revoked "$(ocsp_of "${PORTS[n - 1]}")"
done
start_instance 2  # back, after the revocation: it must not answer an old state
wait_http "http://127.0.0.1:${PORTS[1]}/readyz"
assert_eq "OCSP de la instancia 2 (reiniciada): revoked" revoked "$(ocsp_of "${PORTS[1]}")"
for n in 1 2 3; do
  curl -s --max-time 10 -o "$TMP/crl$n.der" "http://127.0.0.1:${PORTS[n - 1]}${CRL_URL#"$LB"}"
  assert_contains "la CRL de la instancia $n lista la serie revocada" \
    "$(openssl crl -inform DER -in "$TMP/crl$n.der" -noout -text 2>&1)" \
    "Serial Number: $(norm_serial "$PORTAL_SERIAL")"
done
sleep 1
kill "$CRL_PID" 2>/dev/null
wait "$CRL_PID" 2>/dev/null
NUMBERS=$(grep -v '^-$' "$TMP/crl-numbers")
assert_ge "la CRL se leyó muchas veces por HAProxy" 20 "$(wc -l <<<"$NUMBERS")"
assert_eq "el número de CRL nunca bajó de una lectura a la siguiente" "" \
  "$(awk 'NR > 1 && $1 < prev {print prev " -> " $1} {prev = $1}' <<<"$NUMBERS")"
assert_ge "y subió con la revocación" 2 "$(sort -un <<<"$NUMBERS" | wc -l)"

stamp "hasta aquí"
section "un líder: respondedores OCSP y bitácora"
assert_eq "un respondedor OCSP por CA emisora (4), no uno por instancia" 4 \
  "$(pg_sql "$TMP/pg" llavero 'SELECT count(*) FROM ocsp_responders')"
run llv "$D1" auditoria verificar
assert_rc "auditoria verificar: la cadena de la bitácora está íntegra" 0

finish
