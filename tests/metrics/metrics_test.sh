#!/usr/bin/env bash
# Metrics and structured logs (issue 15 part 3), as an operator sees them:
# `llavero serve --metricas ADDRESS:PORT --registro-json` on loopback.
#   metricas : /metrics on its own listener parsed with Prometheus' parser
#              (python3-prometheus-client), the counters a user's actions
#              move (metrics_check.py), and /metrics absent from the public
#              listener.
#   sin_metricas : without --metricas, nothing serves /metrics.
#   registro_json : every line the server writes (standard output and
#              error: the log, the access log, the banner) is a JSON object,
#              and none carries the portal password or the PIN typed in the
#              portal.
#
#   bash tests/metrics/metrics_test.sh build/llavero [--section NAME]
# shellcheck disable=SC2317
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"
# shellcheck source=tests/lib/serve_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/serve_lib.sh"

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

SECTIONS=(metricas sin_metricas registro_json)

require_tools openssl curl python3
# Debian's python3-prometheus-client is in the system's python3, which a
# python3 earlier on PATH (pyenv, a virtualenv) may not see.
PROM_PY=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import prometheus_client.parser' 2>/dev/null; then PROM_PY=$py && break; fi
done

# serve_with ARGS... : the server on $PORT over $DATA with ARGS, its standard
# error in $TMP/server.err; waits for /healthz (an assertion).
serve_with() {
  "$LLAVERO" --data "$DATA" serve --listen "127.0.0.1:$PORT" "$@" \
    >"$TMP/server.out" 2>"$TMP/server.err" </dev/null &
  SERVER_PID=$!
  local code=000
  for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$BASE/healthz" 2>/dev/null)
    [[ $code == 200 ]] && break
    mine "$SERVER_PID" || break
    sleep 0.2
  done
  assert_eq "el servidor arranca y /healthz responde 200" 200 "$code"
  [[ $code == 200 ]] || { _show "$(cat "$TMP/server.err")" 30; finish; }
}

# setup : data directory, a taxpayer with a portal password ($PASSWORD) and
# an active pruebas key whose certificate is $TMP/c1.pem.
setup() {
  serve_data_dir "$TMP/data"
  PASSWORD="metricas-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  run_input "$PASSWORD\n" llv "$DATA" contribuyente crear --id "$FISICA_ID" \
    --nombre CONTRIBUYENTE --apellidos "PEÑA DE PRUEBA" --contrasena-stdin
  assert_rc "contribuyente crear con contraseña del portal" 0
  generate "$DATA" "$FISICA_ID" pruebas "$TMP/p12"
  assert_rc "llave generar (la llave activa que se revocará)" 0
  cert_of "$P12" >"$TMP/c1.pem"
}

test_metricas() {
  if [[ -z $PROM_PY ]]; then
    skip_check "/metrics con el analizador de Prometheus" "falta python3-prometheus-client (make deps lo instala)"
    return
  fi
  setup
  local mport
  mport=$(free_port)
  serve_with --metricas "127.0.0.1:$mport"
  # The OCSP request of the certificate, without nonce (so cacheable).
  run openssl ocsp -issuer "$S_PF" -cert "$TMP/c1.pem" -no_nonce -reqout "$TMP/req.der"
  assert_rc "openssl ocsp arma la consulta" 0
  run_input "$PASSWORD\n" "$PROM_PY" "$HERE/metrics_check.py" --public "$BASE" \
    --metrics "http://127.0.0.1:$mport" --id "$FISICA_ID" \
    --ocsp-url "$(openssl x509 -in "$TMP/c1.pem" -noout -ocsp_uri)" \
    --ocsp-request "$TMP/req.der" --pool 4
  printf '%s\n' "$OUT"
  assert_rc "metrics_check.py: cada contador se mueve como debe" 0
  [[ $RC == 0 ]] || _show "$ERR" 20
  stop_server TERM
  assert_eq "el servidor se detiene con SIGTERM (estado 0)" 0 "$STOP_RC"
}

test_sin_metricas() {
  setup
  serve_with
  local code
  code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$BASE/metrics")
  assert_eq "sin --metricas, /metrics no existe en el puerto público" 404 "$code"
  assert_not_contains "el aviso de arranque no anuncia métricas" "$(cat "$TMP/server.out")" "métricas"
  stop_server TERM
}

test_registro_json() {
  setup
  serve_with --registro-json
  # A failed and a good log-in, a Generar with its PIN: what a log could leak.
  cat >"$TMP/portal.py" <<'PY'
import re, sys, urllib.parse, http.client
base, ident = sys.argv[1], sys.argv[2]
password = sys.stdin.readline().rstrip("\n")
u = urllib.parse.urlparse(base)
cookies = {}
def req(method, path, form=None):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        h["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse(); data = r.read().decode()
    for line in r.msg.get_all("Set-Cookie") or []:
        n, _, rest = line.partition("="); cookies[n.strip()] = rest.split(";", 1)[0]
    return r.status, data
def hidden(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, html); return m.group(1) if m else ""
for pw in (password + "x", password):
    _, html = req("GET", "/ingresar")
    status, _ = req("POST", "/ingresar", {"csrf": hidden(html, "csrf"), "identificacion": ident,
                                         "contrasena": pw})
_, html = req("GET", "/llaves/pruebas/generar")
status, _ = req("POST", "/llaves/pruebas/generar", {"csrf": hidden(html, "csrf"),
    "solicitud": hidden(html, "solicitud"), "pin": "8642", "pin2": "8642"})
req("GET", "/no/existe?contrasena=" + urllib.parse.quote(password))
print(status)
PY
  run_input "$PASSWORD\n" python3 "$TMP/portal.py" "$BASE" "$FISICA_ID"
  assert_eq "Generar en el portal responde 303" 303 "$(printf '%s' "$OUT" | tail -n 1)"
  stop_server TERM
  cat >"$TMP/lines.py" <<'PY'
import json, sys
path, password = sys.argv[1], sys.argv[2]
lines = [l for l in open(path, "rb").read().decode("utf-8").split("\n") if l.strip()]
bad = []
for l in lines:
    try:
        v = json.loads(l)
        assert isinstance(v, dict) and {"hora", "nivel", "mensaje"} <= v.keys(), l
    except Exception as e:
        bad.append(l)
print(len(lines), len(bad))
for l in bad[:5]: print("no es JSON:", l)
leaks = [l for l in lines if password in l or "pin=8642" in l or "pin2=" in l]
print("fugas:", len(leaks))
for l in leaks[:5]: print(l)
PY
  cat "$TMP/server.out" "$TMP/server.err" >"$TMP/server.all"
  run python3 "$TMP/lines.py" "$TMP/server.all" "$PASSWORD"
  printf '%s\n' "$OUT"
  local counts
  counts=$(printf '%s\n' "$OUT" | head -n 1)
  assert_match "el servidor escribió líneas de registro (accesos incluidos)" "$counts" '^[1-9][0-9]* '
  assert_match "cada línea del registro es un objeto JSON con hora, nivel y mensaje" "$counts" ' 0$'
  assert_contains "ninguna línea lleva la contraseña ni el PIN" "$OUT" "fugas: 0"
}

run_sections
