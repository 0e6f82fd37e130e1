#!/usr/bin/env bash
# The project stands alone (issue 16): the repository's files, copied into an
# empty folder with nothing beside it, configure and build; the binary names
# no path of the original checkout nor anything outside its own tree; then
# `llavero init`, `serve`, and a signed factura sent to the reception of
# pruebas, which must end `aceptado` (the official schemas come from the
# copy's own schemas/).
#
#   bash tests/standalone/standalone_test.sh REPO
#
# It builds only the `llavero` target, with its own build directory, so it
# reuses nothing of the caller's build.
set -u
REPO=$(cd "${1:?uso: standalone_test.sh REPO}" && pwd)
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FALLO - $1"; [[ -n ${2:-} ]] && echo "    $2"; }
finish() {
  echo "$PASSED passed, $FAILED failed"
  [[ $FAILED == 0 ]]
  exit
}

for tool in git cmake curl python3; do
  command -v "$tool" >/dev/null || { echo "falta la herramienta $tool"; FAILED=1; finish; }
done

WORK=$(mktemp -d /tmp/llavero-standalone.XXXXXX)
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the copy: what git would give a user, in an empty folder ----------------------------
# Tracked files plus new files not ignored (the working tree as it would be
# committed); build output and node_modules are ignored, so they stay behind.
SRC=$WORK/llavero
mkdir -p "$SRC"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$REPO" && while IFS= read -r -d '' f; do
    [[ -e $f ]] && printf '%s\0' "$f"
  done) | (cd "$REPO" && xargs -0 cp --parents -t "$SRC")
if [[ -f $SRC/CMakeLists.txt && -f $SRC/schemas/hacienda/v4.4/FacturaElectronica_V4.4.xsd ]]; then
  pass "el árbol copiado tiene CMakeLists.txt y schemas/"
else
  fail "el árbol copiado tiene CMakeLists.txt y schemas/"
  finish
fi
if [[ $(ls -A "$WORK") == llavero ]]; then pass "nada junto a la copia"; else
  fail "nada junto a la copia" "$(ls -A "$WORK")"; fi

# --- build --------------------------------------------------------------------------
# Unoptimised and without debug information: what is checked here is that
# the copy builds and runs, and such a build takes about half the time of
# the project's RelWithDebInfo one (make test runs this beside the rest).
if cmake -S "$SRC" -B "$SRC/build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 \
  -DCMAKE_C_FLAGS_DEBUG=-O0 >"$WORK/configure.log" 2>&1; then
  pass "cmake configura la copia"
else
  fail "cmake configura la copia" "$(tail -5 "$WORK/configure.log")"
  finish
fi
if cmake --build "$SRC/build" -j "${JOBS:-2}" --target llavero >"$WORK/build.log" 2>&1; then
  pass "la copia compila llavero"
else
  fail "la copia compila llavero" "$(grep -m5 -E 'error|Error' "$WORK/build.log")"
  finish
fi
L=$SRC/build/llavero
if grep -aqF -- "$REPO" "$L"; then fail "el binario no nombra el repositorio original ($REPO)"; else
  pass "el binario no nombra el repositorio original"; fi
if grep -aqE -- "share[d]/hacienda" "$L"; then fail "el binario no nombra share[d]/hacienda"; else
  pass "el binario no nombra share[d]/hacienda"; fi

# --- init, a taxpayer, a key, an API password ----------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
DATA=$WORK/data
export LLAVERO_CA_PASSPHRASE=standalone-frase-de-prueba
unset LLAVERO_XSD_DIR
step() { # step NAME COMMAND... : runs it, records pass/fail, keeps stdout in $OUT
  local name=$1
  shift
  if OUT=$("$@" 2>"$WORK/step.err"); then pass "$name"; else
    fail "$name" "$(cat "$WORK/step.err")"
    finish
  fi
}
step "llavero init" "$L" --data "$DATA" init --url-base "$BASE"
step "contribuyente crear" "$L" --data "$DATA" contribuyente crear --id 1-0647-0958 \
  --nombre "MARIA" --apellidos "PEREZ SOTO"
mkdir -p "$WORK/llaves"
step "llave generar (pruebas)" bash -c "printf '1234\n1234\n' | '$L' --data '$DATA' llave generar \
  --id 1-0647-0958 --ambiente pruebas --pin-stdin --salida '$WORK/llaves'"
P12=$OUT
step "contrasena generar (pruebas)" "$L" --data "$DATA" contrasena generar --id 1-0647-0958 \
  --ambiente pruebas
API_USER=$(sed -n 's/^Usuario: //p' <<<"$OUT")
API_PASSWORD=$(sed -n 's/^Contraseña: //p' <<<"$OUT")

# --- serve --------------------------------------------------------------------------
"$L" --data "$DATA" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
up=no
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && { up=yes; break; }
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ $up == yes ]]; then pass "llavero serve responde /healthz"; else
  fail "llavero serve responde /healthz" "$(tail -5 "$WORK/serve.log")"
  finish
fi

# --- a signed factura, sent and decided ----------------------------------------------
step "firmar el ejemplo de factura" bash -c "printf '1234\n' | '$L' firmar --p12 '$P12' --pin-stdin \
  --entrada '$SRC/examples/factura-electronica.xml' --salida '$WORK/factura-firmada.xml'"
CLAVE=$(python3 -c 'import re,sys; print(re.search(rb"<Clave>(\d+)</Clave>", open(sys.argv[1],"rb").read()).group(1).decode())' "$WORK/factura-firmada.xml")
python3 "$SRC/tests/api/reception.py" envelope "$WORK/factura-firmada.xml" "$CLAVE" \
  2026-11-26T10:00:00-06:00 01 106470958 02 3101522899 >"$WORK/envio.json"
TOKEN=$(curl -sS "$BASE/auth/realms/rut-stag/protocol/openid-connect/token" \
  -d grant_type=password -d client_id=api-stag --data-urlencode "username=$API_USER" \
  --data-urlencode "password=$API_PASSWORD" |
  python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))')
if [[ -n $TOKEN ]]; then pass "token de pruebas"; else fail "token de pruebas"; finish; fi
CODE=$(curl -sS -o "$WORK/post.out" -w '%{http_code}' -X POST "$BASE/recepcion-sandbox/v1/recepcion" \
  -H "Authorization: bearer $TOKEN" -H 'Content-Type: application/json' \
  --data-binary "@$WORK/envio.json")
if [[ $CODE == 202 ]]; then pass "POST de la factura: 202"; else
  fail "POST de la factura: 202" "$CODE $(cat "$WORK/post.out")"
  finish
fi
STATE=""
for _ in $(seq 1 300); do
  STATE=$(curl -sS "$BASE/recepcion-sandbox/v1/recepcion/$CLAVE" -H "Authorization: bearer $TOKEN" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("ind-estado",""))' 2>/dev/null)
  [[ $STATE == aceptado || $STATE == rechazado ]] && break
  sleep 0.2
done
if [[ $STATE == aceptado ]]; then pass "la factura es aceptada"; else
  fail "la factura es aceptada" "estado: ${STATE:-ninguno}; $(tail -5 "$WORK/serve.log")"
fi
finish
