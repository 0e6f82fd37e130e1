#!/usr/bin/env bash
# CA keys in a PKCS#11 token (issue 13; docs/hsm.md), on a SoftHSM2 token of
# this test's own (its SOFTHSM2_CONF and token directory under $TMP):
#  - `llavero init --pkcs11 URI` (PIN from LLAVERO_PKCS11_PIN or pin-source,
#    never from the command line) makes the CA keys inside the token: the
#    token lists them as private keys that are never extractable, and no
#    private key exists in the data directory or its database (the store
#    keeps pkcs11: references), nor a ca-passphrase file;
#  - the lifecycle with those keys: taxpayer, `llave generar` (the .p12's
#    certificate verifies up to the token's root), `llave revocar`, then the
#    CRL (`llavero crl`, openssl crl -verify) and OCSP (`llavero serve`,
#    openssl ocsp: revoked; the responder's key is in the token too);
#  - a factura signed with the taxpayer's key, received, accepted, and its
#    MensajeHacienda sealed by a key in the token, verified with xmlsec1;
#  - a wrong PIN, a URI with the PIN in it, or no PIN at all: init refuses
#    and leaves nothing behind.
# Without SoftHSM2 (softhsm2-util) the test exits 77 (skipped).
#
#   bash tests/hsm/hsm_test.sh build/llavero
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"
# shellcheck source=tests/lib/serve_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/serve_lib.sh"

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=$REPO/tests/api/reception.py
MODULE=/usr/lib/softhsm/libsofthsm2.so

if ! command -v softhsm2-util >/dev/null || [[ ! -f $MODULE ]]; then
  echo "OMITIDA: falta SoftHSM2 (bash scripts/install-deps.sh instala softhsm2)"
  exit "$SKIP_RC"
fi
require_tools openssl curl python3 xmlsec1 xmllint sqlite3 pkcs11-tool

# --- the token ---------------------------------------------------------------------------
PIN=4711
mkdir -p "$TMP/softhsm/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$TMP/softhsm/tokens" >"$TMP/softhsm/softhsm2.conf"
export SOFTHSM2_CONF=$TMP/softhsm/softhsm2.conf
run softhsm2-util --init-token --free --label llavero --pin "$PIN" --so-pin 12345678
assert_rc "softhsm2-util crea el token «llavero»" 0
URI="pkcs11:token=llavero?module-path=$MODULE"

# private_keys : the labels of the token's private keys, with their access flags.
private_keys() {
  pkcs11-tool --module "$MODULE" --token-label llavero --login --pin "$PIN" \
    --list-objects --type privkey 2>/dev/null
}

# --- init, and what it refuses --------------------------------------------------------------
section "init --pkcs11: lo que se rechaza"
run "$LLAVERO" --data "$TMP/sin-pin" init --pkcs11 "$URI"
assert_rc "sin PIN (ni LLAVERO_PKCS11_PIN ni pin-source) init falla" 1
assert_contains "dice de dónde tomar el PIN" "$ERR" "LLAVERO_PKCS11_PIN"
assert_absent "y no deja directorio de datos" "$TMP/sin-pin/llavero.conf"
run "$LLAVERO" --data "$TMP/pin-en-uri" init --pkcs11 "pkcs11:token=llavero;pin-value=$PIN"
assert_rc "un URI con pin-value se rechaza" 1
assert_contains "porque el PIN no va en el URI" "$ERR" "el PIN no va en el URI"
LLAVERO_PKCS11_PIN=9999 run "$LLAVERO" --data "$TMP/pin-malo" init --pkcs11 "$URI"
assert_rc "con un PIN equivocado init falla" 1
assert_contains "diciendo que el token rechazó el PIN" "$ERR" "PIN del token"
assert_not_contains "sin mostrar el PIN" "$ERR$OUT" "9999"
run "$LLAVERO" --data "$TMP/otro-token" init --pkcs11 "pkcs11:token=otro?module-path=$MODULE"
assert_rc "un token que no existe: init falla" 1
assert_eq "el token sigue sin llaves tras los intentos fallidos" "" "$(private_keys | grep -c 'Private Key Object' | grep -v '^0$')"

section "init --pkcs11 con el PIN en un archivo (pin-source)"
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
DATA=$TMP/data
printf '%s\n' "$PIN" >"$TMP/pin"
chmod 600 "$TMP/pin"
run "$LLAVERO" --data "$DATA" init --url-base "$BASE" --pkcs11 "$URI&pin-source=file:$TMP/pin"
assert_rc "llavero init --pkcs11 crea el directorio de datos" 0
assert_contains "init dice que las llaves están en el token" "$OUT" "en el token PKCS#11 «llavero»"
assert_match "llavero.conf guarda el URI del token" "$(grep '^pkcs11 = ' "$DATA/llavero.conf")" \
  "^pkcs11 = pkcs11:token=llavero\?module-path="
S_ROOT=$DATA/ca/pruebas/root.pem
S_PF=$DATA/ca/pruebas/pf.pem
S_PJ=$DATA/ca/pruebas/pj.pem

section "ninguna llave privada fuera del token"
assert_absent "no hay archivo de frase de paso" "$DATA/ca-passphrase"
assert_absent "ni llave de custodia en archivo" "$DATA/llave-custodia.key"
assert_eq "ningún archivo del directorio de datos tiene una llave privada" "" \
  "$(grep -rlE 'PRIVATE KEY' "$DATA" 2>/dev/null)"
assert_eq "las seis CA guardan una referencia pkcs11: y nada más" 6 \
  "$(sql "$DATA" "SELECT count(*) FROM authorities WHERE key_pem LIKE 'pkcs11:object=%;id=%' AND key_pem NOT LIKE '%PRIVATE KEY%'")"
KEYS=$(private_keys)
for label in produccion-root produccion-pf produccion-pj pruebas-root pruebas-pf pruebas-pj llavero-custodia; do
  assert_contains "el token tiene la llave privada $label" "$KEYS" "label:      $label"
done
assert_eq "todas las llaves privadas del token: nunca extraíbles" \
  "$(grep -c 'Private Key Object' <<<"$KEYS")" "$(grep -c 'never extractable' <<<"$KEYS")"
assert_eq "y sensibles" "$(grep -c 'Private Key Object' <<<"$KEYS")" "$(grep -c 'Access:.*sensitive' <<<"$KEYS")"
run openssl verify -CAfile "$S_ROOT" "$S_PF"
assert_rc "la CA PF de pruebas verifica con la raíz (firmada en el token)" 0

# --- the lifecycle -------------------------------------------------------------------------------
section "ciclo de vida con las llaves en el token"
export LLAVERO_PKCS11_PIN=$PIN  # besides pin-source (the variable wins)
create_demo_taxpayers "$DATA"
generate "$DATA" "$FISICA_ID" pruebas "$TMP/k1"
assert_rc "llave generar (pruebas) firma con la CA del token" 0
K1=$P12
cert_of "$K1" >"$TMP/k1.pem"
run openssl verify -CAfile "$S_ROOT" -untrusted "$S_PF" "$TMP/k1.pem"
assert_rc "el certificado del .p12 verifica hasta la raíz del token" 0
generate "$DATA" "$FISICA_ID" pruebas "$TMP/k2"
assert_rc "una segunda llave (la primera queda reemplazada)" 0
K2=$P12
cert_of "$K2" >"$TMP/k2.pem"
SERIAL2=$(serial_of "$K2")
run llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente pruebas --motivo keyCompromise
assert_rc "llave revocar" 0

section "CRL firmada en el token"
run llv "$DATA" crl --ambiente pruebas --ca pf --salida "$TMP/pf.crl"
assert_rc "llavero crl (pruebas, pf)" 0
run openssl crl -inform DER -in "$TMP/pf.crl" -CAfile "$S_PF" -verify -noout -text
assert_rc "openssl crl -verify acepta la CRL" 0
assert_contains "la firma de la CRL verifica" "$ERR$OUT" "verify OK"
assert_contains "la CRL lista la llave revocada" "$OUT" "Serial Number: $SERIAL2"
run openssl crl -inform DER -in "$TMP/pf.crl" -CAfile "$S_PJ" -verify -noout
assert_ne "con la CA PJ la CRL no verifica" 0 "$RC"

section "OCSP firmado por un respondedor con la llave en el token"
start_server
OCSP_URL=$(openssl x509 -in "$TMP/k2.pem" -noout -ocsp_uri)
run timeout 60 openssl ocsp -timeout 20 -issuer "$S_PF" -CAfile "$S_ROOT" -url "$OCSP_URL" \
  -cert "$TMP/k2.pem" -resp_text
assert_rc "openssl ocsp responde" 0
assert_contains "la respuesta OCSP verifica" "$ERR" "Response verify OK"
assert_contains "la llave revocada figura revocada" "$OUT" "revoked"
assert_contains "el respondedor es el delegado de la CA PF" "$OUT" "OCSP"
assert_contains "el token tiene la llave del respondedor OCSP" "$(private_keys)" "label:      ocsp-pruebas-pf"

# --- MensajeHacienda --------------------------------------------------------------------------
section "MensajeHacienda sellado en el token"
read -r _DDMMAA FECHA < <(python3 "$PY" fechar "$REPO/examples" "$TMP/ejemplos")
generate "$DATA" "$FISICA_ID" pruebas "$TMP/k3"
assert_rc "una llave activa para firmar la factura" 0
run_input '1234\n' "$LLAVERO" firmar --p12 "$P12" --pin-stdin \
  --entrada "$TMP/ejemplos/factura-electronica.xml" --salida "$TMP/factura.xml"
assert_rc "llavero firmar la factura de ejemplo" 0
CLAVE=$(python3 - "$TMP/factura.xml" <<'EOF'
import re, sys
print(re.search(rb"<Clave>(\d+)</Clave>", open(sys.argv[1], "rb").read()).group(1).decode())
EOF
)
python3 "$PY" envelope "$TMP/factura.xml" "$CLAVE" "$FECHA" 01 106470958 02 3101522899 >"$TMP/envio.json"
run llv "$DATA" contrasena generar --id "$FISICA_ID" --ambiente pruebas
assert_rc "contrasena generar (pruebas)" 0
USER_API=$(sed -n 's/^Usuario: //p' <<<"$OUT")
PASSWORD_API=$(sed -n 's/^Contraseña: //p' <<<"$OUT")
TOKEN=$(curl -s --max-time 30 "$BASE/auth/realms/rut-stag/protocol/openid-connect/token" \
  -d grant_type=password -d client_id=api-stag --data-urlencode "username=$USER_API" \
  --data-urlencode "password=$PASSWORD_API" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))' 2>/dev/null)
assert_ne "un token del realm de pruebas (firmado con la llave del token)" "" "$TOKEN"
assert_contains "la llave RS256 del realm está en el token" "$(private_keys)" "label:      jwt:rut-stag"
CODE=$(curl -s -o /dev/null --max-time 30 -w '%{http_code}' -X POST \
  -H "Authorization: bearer $TOKEN" -H 'Content-Type: application/json' \
  --data-binary "@$TMP/envio.json" "$BASE/recepcion-sandbox/v1/recepcion")
assert_eq "POST de la factura: 202" 202 "$CODE"
# Polled without parsing (no python3 per poll); at most 60 s.
for _ in $(seq 1 300); do
  [[ $CODE == 202 ]] || break
  curl -s --max-time 30 -o "$TMP/get.json" -H "Authorization: bearer $TOKEN" \
    "$BASE/recepcion-sandbox/v1/recepcion/$CLAVE"
  grep -Eq '"ind-estado" *: *"(aceptado|rechazado|error)"' "$TMP/get.json" 2>/dev/null && break
  sleep 0.2
done
STATE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("ind-estado",""))' "$TMP/get.json" 2>/dev/null)
assert_eq "la factura es aceptada" aceptado "$STATE"
python3 "$PY" respuesta "$TMP/get.json" "$TMP/mh.xml" 2>/dev/null
assert_exists "hay MensajeHacienda" "$TMP/mh.xml"
run xmlsec1 --verify --id-attr:Id 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties' \
  --trusted-pem "$S_ROOT" --untrusted-pem "$S_PJ" "$TMP/mh.xml"
assert_rc "xmlsec1 verifica el sello del MensajeHacienda (raíz + PJ de pruebas)" 0
assert_contains "el token tiene la llave del sello de MensajeHacienda" "$(private_keys)" "label:      hacienda:pruebas"
run xmlsec1 --verify --id-attr:Id 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties' \
  --trusted-pem "$DATA/ca/produccion/root.pem" --untrusted-pem "$DATA/ca/produccion/pj.pem" "$TMP/mh.xml"
assert_ne "con las CA de producción el sello no verifica" 0 "$RC"
stop_server TERM

section "después de todo, aún ninguna llave privada fuera del token"
assert_eq "ningún archivo del directorio de datos tiene una llave privada de CA" "" \
  "$(grep -rlE 'PRIVATE KEY' "$DATA" 2>/dev/null)"
assert_eq "las llaves de servicio (JWT, OCSP, MensajeHacienda) son referencias pkcs11:" 0 \
  "$(sql "$DATA" "SELECT (SELECT count(*) FROM service_keys WHERE key_pem NOT LIKE 'pkcs11:%') + (SELECT count(*) FROM ocsp_responders WHERE key_pem NOT LIKE 'pkcs11:%')")"

unset LLAVERO_PKCS11_PIN
rm -f "$TMP/pin"
run llv "$DATA" crl --ambiente pruebas --ca pf --salida "$TMP/otra.crl"
assert_rc "sin el PIN (ni la variable ni el archivo de pin-source) no se firma nada" 1
assert_contains "y se dice por qué" "$ERR" "No se pudo leer el PIN del token"
assert_absent "ni se escribe la CRL" "$TMP/otra.crl"

finish
