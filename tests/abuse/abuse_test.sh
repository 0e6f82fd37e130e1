#!/usr/bin/env bash
# A single client with bad intent against `llavero serve` (issue 12;
# docs/operacion.md): strangers connect from 127.0.0.2–127.0.0.4, bound as
# their source address, while a legitimate client at 127.0.0.9 keeps asking
# for /healthz, the CRL, the portal's login page and API tokens. abuse.py
# measures the share of the legitimate requests that succeed and their p99
# latency with and without the attack, and prints them.
#
#   bash tests/abuse/abuse_test.sh build/llavero [--section NAME]
# shellcheck disable=SC2317
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"
# shellcheck source=tests/lib/serve_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/serve_lib.sh"

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ABUSE=$HERE/abuse.py

SECTIONS=(sockets tokens bloqueo contrabando temporales)
SERVE_CONF=()  # "clave = valor" lines set in llavero.conf before the server starts

require_tools curl python3 ps

# A server over a fresh data directory, with the demo física and an API
# password of pruebas (API_USER, API_PASSWORD) for the legitimate client.
setup() {
  serve_data_dir "$TMP/data"
  create_demo_taxpayers "$DATA"
  run llv "$DATA" contrasena generar --id "$FISICA_ID" --ambiente pruebas
  assert_rc "preparación: contrasena generar (pruebas)" 0
  API_USER=$(sed -n 's/^Usuario: //p' <<<"$OUT")
  API_PASSWORD=$(sed -n 's/^Contraseña: //p' <<<"$OUT")
  local line
  for line in "${SERVE_CONF[@]}"; do
    sed -i "s|^${line%% = *} = .*|$line|" "$DATA/llavero.conf"
    grep -qxF "$line" "$DATA/llavero.conf" || echo "    ¡$line no quedó en llavero.conf!"
  done
  start_server
}

# attack NAME : runs abuse.py NAME against the server; an assertion on its
# exit status, with its report shown.
attack() {
  run python3 "$ABUSE" "$PORT" "$1" --user "$API_USER" --password "$API_PASSWORD"
  echo "    $OUT"
  assert_rc "$2" 0
}

test_sockets() {
  setup
  attack sockets "con 2 100 sockets lentos de un extraño, el cliente legítimo recibe ≥ 99 % de respuestas"
  assert_match "el extraño no obtuvo más de 64 conexiones a la vez (las demás se rechazan)" \
    "$OUT" "refused': [1-9]"
  healthz_ok "después del ataque de sockets"
}

test_bloqueo() {
  serve_data_dir "$TMP/data"
  create_demo_taxpayers "$DATA"
  PORTAL_ID=2-0456-0790 PORTAL_PASSWORD=portal-segura-2026
  run_input "$PORTAL_PASSWORD\n" llv "$DATA" contribuyente crear --id "$PORTAL_ID" \
    --nombre DUEÑA --apellidos "DE LA CUENTA" --contrasena-stdin
  assert_rc "preparación: una contribuyente con contraseña del portal" 0
  run llv "$DATA" contrasena generar --id "$PORTAL_ID" --ambiente pruebas
  assert_rc "preparación: su contraseña de la API (pruebas)" 0
  API_USER=$(sed -n 's/^Usuario: //p' <<<"$OUT")
  API_PASSWORD=$(sed -n 's/^Contraseña: //p' <<<"$OUT")
  start_server
  run python3 "$ABUSE" "$PORT" bloqueo --user "$API_USER" --password "$API_PASSWORD" \
    --id "$PORTAL_ID" --portal-password "$PORTAL_PASSWORD"
  echo "    $OUT"
  assert_rc "diez contraseñas equivocadas de un extraño no le impiden a la dueña entrar (API y portal), y una cédula desconocida responde igual que una registrada" 0
}

test_tokens() {
  # The access log in a file of its own, rotating at 1 MB (docs/operacion.md).
  SERVE_CONF=("registro_archivo = registro/accesos.log" "registro_tamano_maximo_mb = 1"
    "registro_archivos = 2")
  setup
  attack tokens "con una avalancha de solicitudes de token, el cliente legítimo recibe ≥ 99 % de respuestas"
  assert_match "al extraño se le responde 429 (límite por dirección)" "$OUT" "429: [1-9]"
  assert_no_match "tras una pausa de un segundo cada una: no miles por segundo" "$OUT" "429: [0-9]{4,}"
  assert_no_match "el cliente legítimo no recibe 503 (la cola de contraseñas llena es solo del extraño)" \
    "$OUT" "fallas: [^;]*503"
  healthz_ok "después de la avalancha de tokens"
  run curl -s --max-time 5 "$BASE/readyz"
  assert_contains "/readyz dice listo y cuenta las colas" "$OUT" "contrasenas: 0/"
  assert_exists "el registro de accesos va a su archivo" "$DATA/registro/accesos.log"
  assert_contains "con las solicitudes del extraño" \
    "$(cat "$DATA"/registro/accesos*.log)" "127.0.0.3 POST /auth/realms/rut-stag"
  local bytes
  bytes=$(cat "$DATA"/registro/accesos*.log | wc -c)
  echo "    registro de accesos tras la avalancha: $bytes bytes"
  assert_eq "y nunca ocupa más de 3 × 1 MB" yes "$( ((bytes <= 3 * 1048576)) && echo yes || echo "no ($bytes)")"
}

test_contrabando() {
  setup
  run python3 "$ABUSE" "$PORT" contrabando
  echo "    $OUT"
  assert_rc "Transfer-Encoding: chunked, identity con Content-Length: 400, conexión cerrada, la segunda solicitud no se contesta" 0
  healthz_ok "después del intento de contrabando"
}

# A `llave generar` killed mid-way used to leave .<file>.p12.<pid>.tmp, and a
# later run that got the same process id failed with "File exists".
test_temporales() {
  setup
  mkdir -p "$TMP/llaves"
  touch "$TMP/llaves/.${FISICA_P12}.$$.tmp" "$TMP/llaves/.${FISICA_P12}.999999-0123456789abcdef.tmp"
  run bash -c "printf '1234\n1234\n' | '$LLAVERO' --data '$DATA' llave generar --id $FISICA_ID \
    --ambiente pruebas --pin-stdin --salida '$TMP/llaves'"
  assert_rc "llave generar con temporales viejos en la carpeta" 0
  assert_eq "el temporal de un proceso que ya no existe se borró; el .p12 está" \
    ".${FISICA_P12}.$$.tmp $FISICA_P12" "$(cd "$TMP/llaves" && ls -A | sort | tr '\n' ' ' | sed 's/ $//')"
}

run_sections
