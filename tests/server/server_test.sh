#!/usr/bin/env bash
# `llavero serve` as a relying party sees it (issue 3; docs/certificates.md and
# docs/product.md#key-lifecycle): the CA certificates named by AIA caIssuers,
# the CRL of every issuing CA, the OCSP responder (POST and GET, nonce, several
# IDs, good / revoked / unknown / unauthorized / malformedRequest), a
# revocation made by another process seen at once, bad HTTP input, slow
# clients, and a graceful stop under load.
# Everything is checked with independent tools: openssl, curl, python3.
#
# It is made of sections (SECTIONS below; ctest runs each as the entry
# server.NAME) that each run alone: each makes its own data directory (a copy
# of the template: tests/lib/lib.sh, init_template) whose certificates name
# its own server on a free port, and the keys and revocations it needs
# (setup_*, revoke), then makes its checks. The checks of the set-up that are
# not also checks of old are named "preparación: ...".
#
#   bash tests/server/server_test.sh build/llavero [--section NAME]
# Without --section, every section runs, one after the other.
# The test_ functions are called by run_sections (tests/lib/lib.sh).
# shellcheck disable=SC2317
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"
# shellcheck source=tests/lib/serve_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/serve_lib.sh"

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RAW=$HERE/rawhttp.py

# One ctest entry each, server.NAME (tests/CMakeLists.txt reads this line).
SECTIONS=(arranque aia ocsp crl revocacion series entradas_malas lentos_tls parada)

require_tools openssl curl python3 sqlite3 ps

# --- the server and its clean-up -------------------------------------------------

# SERVER_PID, BG_PIDS, mine, cleanup (EXIT trap), free_port, start_server,
# stop_server, healthz_ok: serve_lib.sh.

# http_code URL [CURL ARGS...] : the status of a request (000 when none); the
# body goes to $HC_OUT if set (HC_OUT=file http_code ...).
http_code() {
  local url=$1
  shift
  curl -s -o "${HC_OUT:-/dev/null}" --max-time 10 -w '%{http_code}' "$@" "$url" 2>/dev/null
}

# run_all CMD... : `run`, with ALL = stdout and stderr together (openssl ocsp
# prints "Response verify OK" on stderr and the statuses on stdout).
run_all() {
  run "$@"
  ALL="$OUT"$'\n'"$ERR"
}

# urlencode TEXT
urlencode() {
  python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$1"
}

# ocsp_status_of_der FILE : the responseStatus of a DER OCSPResponse (the
# ENUMERATED at its start), as a number; "no-der" if it is not one.
ocsp_status_of_der() {
  python3 - "$1" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
# SEQUENCE (short or long length) { ENUMERATED status ... }
try:
    assert d[0] == 0x30
    i = 2 if d[1] < 0x80 else 2 + (d[1] & 0x7F)
    assert d[i] == 0x0A and d[i + 1] == 1
    print(d[i + 2])
except Exception:
    print("no-der")
EOF
}

# crl_field CRLPEM FIELD : crlnumber (decimal) | lastupdate | nextupdate (epoch s)
crl_field() {
  local v
  case $2 in
    crlnumber)
      v=$(openssl crl -in "$1" -noout -crlnumber 2>/dev/null | sed 's/^crlNumber=//')
      [[ $v == 0x* ]] && v=$((v))
      echo "$v"
      ;;
    lastupdate | nextupdate)
      v=$(openssl crl -in "$1" -noout "-$2" 2>/dev/null | cut -d= -f2)
      date -d "$v" +%s 2>/dev/null
      ;;
  esac
}

# cert_digest FILE : digest of a certificate (PEM or DER) in DER form.
cert_digest() {
  openssl x509 -in "$1" -outform DER 2>/dev/null | digest sha256
}

# ocsp_ask ISSUER ROOT URL ARGS... : openssl ocsp as a relying party runs it.
ocsp_ask() {
  local issuer=$1 root=$2 url=$3
  shift 3
  run_all timeout 60 openssl ocsp -timeout 20 -issuer "$issuer" -CAfile "$root" -url "$url" "$@"
}
# ocsp_post REQ RESP : sets CODE and CTYPE.
ocsp_post() {
  local out
  out=$(curl -s --max-time 20 -o "$2" -w '%{http_code} %{content_type}' \
    -H 'Content-Type: application/ocsp-request' --data-binary "@$1" "$OCSP_URL")
  CODE=${out%% *} CTYPE=${out#* }
}
# ocsp_get REQ RESP [raw] : GET with the base64 request URL-encoded (or raw).
ocsp_get() {
  local b64 out path
  b64=$(base64 -w0 "$1")
  path=$(urlencode "$b64")
  [[ ${3:-} == raw ]] && path=$b64
  out=$(curl -s --max-time 20 -o "$2" -w '%{http_code} %{content_type}' "$OCSP_URL/$path")
  CODE=${out%% *} CTYPE=${out#* }
}
# read_resp RESP CERT|-serial HEX [-no_nonce] : openssl reads a saved response.
read_resp() {
  local resp=$1
  shift
  if [[ $1 == -serial ]]; then
    run_all openssl ocsp -respin "$resp" -issuer "$S_PF" -CAfile "$S_ROOT" -serial "$2" "${@:3}"
  else
    run_all openssl ocsp -respin "$resp" -issuer "$S_PF" -CAfile "$S_ROOT" -cert "$1" "${@:2}"
  fi
}
# fetch_crl NAME : downloads the CRL of the certificate's CRL DP into
# $TMP/NAME.der and .pem; sets HDRS.
fetch_crl() {
  local code
  code=$(curl -s --max-time 20 -D "$TMP/$1.hdr" -o "$TMP/$1.der" -w '%{http_code}' "$CRL_URL")
  assert_eq "GET de la CRL ($1): 200" 200 "$code"
  HDRS=$(tr -d '\r' <"$TMP/$1.hdr")
  openssl crl -inform DER -in "$TMP/$1.der" -out "$TMP/$1.pem" 2>/dev/null
  assert_match "la CRL ($1) es DER válido" "$(head -n 1 "$TMP/$1.pem" 2>/dev/null)" "BEGIN X509 CRL"
}
# dbw DESC SQL : a write to the store while the server runs (waiting for its
# lock), that must succeed.
dbw() {
  assert_ok "SQL: $1" sql_write "$DATA" "$2"
}
# raw_send TEXT : TEXT (printf %b) over a socket; the status line, or CLOSED.
raw_send() { timeout 20 python3 "$RAW" send "$PORT" "$(printf '%b' "$1" | od -An -v -tx1 | tr -d ' \n')"; }
raw_send_status() { raw_send "$1"; }

# crl_number_now : the number of the CRL served now, without a check (for a
# later comparison, which fails if this is not a number).
crl_number_now() {
  curl -s --max-time 20 -o "$TMP/crl-now.der" "$CRL_URL" 2>/dev/null
  openssl crl -inform DER -in "$TMP/crl-now.der" -out "$TMP/crl-now.pem" 2>/dev/null
  crl_field "$TMP/crl-now.pem" crlnumber
}

# --- set-up: what each section makes for itself ----------------------------------------------

# setup_data : a data directory whose certificates point at this test's
# server (before any certificate is issued, so that AIA/CRL DP/OCSP name it),
# the física and jurídica of the README and a second física (SECOND_ID).
setup_data() {
  section "directorio de datos y servidor"
  # Before any certificate is issued, so that AIA/CRL DP/OCSP name this server.
  serve_data_dir "$TMP/data"

  SECOND_ID=1-1111-1111
  create_demo_taxpayers "$DATA"
  run llv "$DATA" contribuyente crear --id "$SECOND_ID" --nombre "ANA" --apellidos "MORA SOLIS"
  assert_rc "contribuyente crear (segunda física)" 0
}

# setup_server : setup_data, and the server running.
setup_server() {
  setup_data
  start_server
}

issue() { # NAME ID ENV : issues a key and leaves its certificate in $TMP/NAME.pem
  generate "$DATA" "$2" "$3" "$TMP/p12-$1"
  assert_rc "llave generar $2 en $3" 0
  cert_of "$P12" >"$TMP/$1.pem"
  assert_match "certificado $1 extraído" "$(head -n 1 "$TMP/$1.pem")" "BEGIN CERTIFICATE"
}
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# setup_keys NAME... : keys issued while the server runs (only those named;
# call it again for more), their certificates in $TMP/NAME.pem: c1 (the física, pruebas), c2 (the second física, pruebas),
# c3 (the second física again, which supersedes c2), cj (the jurídica,
# pruebas), cp (the física, producción). Sets C1 C2 C3 CJ CP, the serials
# S1 S2 S3 SJ SP of those issued so far, and the URLs the certificates name (OCSP_URL, CRL_URL,
# AIA_URL from c1; OCSP_URL_J from cj; OCSP_URL_P from cp), which the section
# aia checks.
setup_keys() {
  local name
  section "llaves emitidas con el servidor en marcha"
  for name in "$@"; do
    case $name in
      c1) issue c1 "$FISICA_ID" pruebas ;;
      c2) issue c2 "$SECOND_ID" pruebas ;;
      c3) issue c3 "$SECOND_ID" pruebas ;;
      cj) issue cj "$JURIDICA_ID" pruebas ;;
      cp) issue cp "$FISICA_ID" produccion ;;
      *) fail "setup_keys: una llave conocida" "c1 c2 c3 cj cp" "$name" ;;
    esac
  done
  C1=$TMP/c1.pem C2=$TMP/c2.pem C3=$TMP/c3.pem CJ=$TMP/cj.pem CP=$TMP/cp.pem
  S1="" S2="" S3="" SJ="" SP=""
  OCSP_URL="" CRL_URL="" AIA_URL="" OCSP_URL_J="" OCSP_URL_P=""
  if [[ -s $C1 ]]; then
    S1=$(serial "$C1")
    OCSP_URL=$(openssl x509 -in "$C1" -noout -ocsp_uri)
    CRL_URL=$(openssl x509 -in "$C1" -noout -ext crlDistributionPoints | grep -o 'URI:.*' | sed 's/^URI://')
    AIA_URL=$(openssl x509 -in "$C1" -noout -text | grep -o 'CA Issuers - URI:.*' | sed 's/^CA Issuers - URI://')
  fi
  [[ -s $C2 ]] && S2=$(serial "$C2")
  [[ -s $C3 ]] && S3=$(serial "$C3")
  if [[ -s $CJ ]]; then
    SJ=$(serial "$CJ")
    OCSP_URL_J=$(openssl x509 -in "$CJ" -noout -ocsp_uri)
  fi
  if [[ -s $CP ]]; then
    SP=$(serial "$CP")
    OCSP_URL_P=$(openssl x509 -in "$CP" -noout -ocsp_uri)
  fi
  return 0
}

# make_requests : the OCSP requests several sections send again
# ($TMP/req-c1.der, req-c1-nonce.der: c1; req-c2.der: c2, when issued).
make_requests() {
  openssl ocsp -issuer "$S_PF" -cert "$C2" -no_nonce -reqout "$TMP/req-c2.der" 2>/dev/null
  openssl ocsp -issuer "$S_PF" -cert "$C1" -no_nonce -reqout "$TMP/req-c1.der" 2>/dev/null
  openssl ocsp -issuer "$S_PF" -cert "$C1" -reqout "$TMP/req-c1-nonce.der" 2>/dev/null
}

# revoke ID MOTIVO : `llave revocar` of the ID's key in pruebas.
revoke() {
  run llv "$DATA" llave revocar --id "$1" --ambiente pruebas --motivo "$2"
  assert_rc "preparación: llave revocar $1 ($2)" 0
}

# --- the sections -----------------------------------------------------------------------------

test_arranque() {
  setup_data

  # The command line of `serve` first.
  run llv "$DATA" serve --listen "no-es-una-direccion"
  assert_rc "serve --listen sin puerto sale con 1" 1
  assert_contains "serve --listen inválido lo explica" "$ERR" "--listen"

  start_server
  run curl -s -D - -o "$TMP/healthz.json" "$BASE/healthz"
  assert_match "/healthz es JSON" "$OUT" "^Content-Type: application/json"
  assert_contains "/healthz dice que el almacén está disponible" "$(cat "$TMP/healthz.json")" '"almacen":"disponible"'
  assert_contains "serve anuncia la URL pública de los certificados" "$(cat "$TMP/server.log")" "$BASE"

  run llv "$DATA" serve --listen "127.0.0.1:$PORT"
  assert_rc "un segundo serve en el mismo puerto sale con 1" 1
  assert_contains "y dice que no pudo escuchar" "$ERR" "No se pudo escuchar"
}

test_aia() {
  setup_server
  setup_keys c1 cj cp

  OCSP_URL=$(openssl x509 -in "$C1" -noout -ocsp_uri)
  assert_eq "URL OCSP del certificado (AIA)" "$BASE/stag/ocsp/pf" "$OCSP_URL"
  CRL_URL=$(openssl x509 -in "$C1" -noout -ext crlDistributionPoints | grep -o 'URI:.*' | sed 's/^URI://')
  assert_eq "punto de distribución de la CRL del certificado" "$BASE/stag/intermediate-pf.crl" "$CRL_URL"
  AIA_URL=$(openssl x509 -in "$C1" -noout -text | grep -o 'CA Issuers - URI:.*' | sed 's/^CA Issuers - URI://')
  assert_eq "AIA caIssuers del certificado" "$BASE/stag/intermediate-pf-pem.crt" "$AIA_URL"
  OCSP_URL_J=$(openssl x509 -in "$CJ" -noout -ocsp_uri)
  assert_eq "URL OCSP de la jurídica" "$BASE/stag/ocsp/pj" "$OCSP_URL_J"
  OCSP_URL_P=$(openssl x509 -in "$CP" -noout -ocsp_uri)
  assert_eq "URL OCSP de producción" "$BASE/prod/ocsp/pf" "$OCSP_URL_P"

  # --- AIA: the published CA certificates ----------------------------------------------
  section "AIA caIssuers: certificados de las CA"
  run curl -s -D "$TMP/aia.hdr" -o "$TMP/aia.pem" -w '%{http_code}' "$AIA_URL"
  assert_eq "GET de la URL caIssuers del certificado" 200 "$OUT"
  assert_same "es el certificado de la CA que lo firmó (ca/pruebas/pf.pem)" \
    "$(cert_digest "$S_PF")" "$(cert_digest "$TMP/aia.pem")"
  run openssl verify -CAfile "$S_ROOT" -untrusted "$TMP/aia.pem" "$C1"
  assert_eq "openssl verify con la CA descargada como intermedia" "$C1: OK" "$OUT"
  assert_eq "el emisor del certificado es el sujeto de la CA descargada" \
    "$(openssl x509 -in "$C1" -noout -issuer | sed 's/^issuer=//')" \
    "$(openssl x509 -in "$TMP/aia.pem" -noout -subject | sed 's/^subject=//')"
  assert_eq "la CA descargada firmó el certificado (AKI = SKI)" \
    "$(openssl x509 -in "$TMP/aia.pem" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' ')" \
    "$(openssl x509 -in "$C1" -noout -ext authorityKeyIdentifier | tail -n 1 | tr -d ' ' | sed 's/^keyid://')"
  AIA_J=$(openssl x509 -in "$CJ" -noout -text | grep -o 'CA Issuers - URI:.*' | sed 's/^CA Issuers - URI://')
  run curl -s -o "$TMP/aia-j.pem" -w '%{http_code}' "$AIA_J"
  assert_eq "caIssuers de la jurídica responde 200" 200 "$OUT"
  run openssl verify -CAfile "$S_ROOT" -untrusted "$TMP/aia-j.pem" "$CJ"
  assert_eq "la jurídica verifica con su caIssuers descargado" "$CJ: OK" "$OUT"
  AIA_P=$(openssl x509 -in "$CP" -noout -text | grep -o 'CA Issuers - URI:.*' | sed 's/^CA Issuers - URI://')
  assert_eq "caIssuers de producción" "$BASE/prod/intermediate-pf-pem.crt" "$AIA_P"
  run curl -s -o "$TMP/aia-p.pem" -w '%{http_code}' "$AIA_P"
  run openssl verify -CAfile "$P_ROOT" -untrusted "$TMP/aia-p.pem" "$CP"
  assert_eq "el certificado de producción verifica con su caIssuers descargado" "$CP: OK" "$OUT"
  for pair in "stag/root-pem.crt:$S_ROOT" "stag/intermediate-pf-pem.crt:$S_PF" \
    "stag/intermediate-pj-pem.crt:$S_PJ" "prod/root-pem.crt:$P_ROOT" \
    "prod/intermediate-pf-pem.crt:$P_PF" "prod/intermediate-pj-pem.crt:$P_PJ"; do
    path=${pair%%:*} file=${pair#*:}
    code=$(HC_OUT="$TMP/ca-dl.pem" http_code "$BASE/$path")
    assert_eq "GET /$path responde 200" 200 "$code"
    assert_same "/$path es $(basename "$(dirname "$file")")/$(basename "$file")" \
      "$(cert_digest "$file")" "$(cert_digest "$TMP/ca-dl.pem")"
  done
  run openssl verify -CAfile "$S_ROOT" "$TMP/aia.pem"
  assert_eq "la CA pf descargada verifica con la raíz descargada de /stag/" "$TMP/aia.pem: OK" "$OUT"
}

test_ocsp() {
  setup_server
  setup_keys c1 c2 cj cp

  # --- OCSP: good, nonce, GET and POST -------------------------------------------------
  section "OCSP: good, con y sin nonce"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -resp_text \
    -reqout "$TMP/nonce-req.der" -respout "$TMP/nonce-resp.der"
  assert_rc "openssl ocsp (con nonce) sale con 0" 0
  assert_contains "good para un certificado activo" "$ALL" "$C1: good"
  assert_contains "Response verify OK" "$ALL" "Response verify OK"
  assert_contains "la respuesta trae el nonce" "$ALL" "OCSP Nonce"
  assert_not_contains "sin 'Nonce Verify error'" "$ALL" "Nonce Verify error"
  assert_not_contains "sin advertencias de openssl" "$ALL" "WARNING"
  assert_contains "thisUpdate" "$ALL" "This Update:"
  assert_contains "nextUpdate" "$ALL" "Next Update:"
  this_u=$(date -d "$(grep -m1 -o 'This Update: .*' <<<"$ALL" | sed 's/^This Update: //')" +%s 2>/dev/null)
  next_u=$(date -d "$(grep -m1 -o 'Next Update: .*' <<<"$ALL" | sed 's/^Next Update: //')" +%s 2>/dev/null)
  now=$(date +%s)
  if [[ -n $this_u && -n $next_u ]] && ((this_u <= now + 5 && this_u >= now - 3600 && next_u > now)); then pass; else
    fail "thisUpdate ≤ ahora < nextUpdate" "thisUpdate ≤ $now < nextUpdate" "thisUpdate=$this_u nextUpdate=$next_u"
  fi
  req_nonce=$(openssl ocsp -reqin "$TMP/nonce-req.der" -req_text 2>/dev/null | grep -A1 'OCSP Nonce' | tail -n 1 | tr -d ' ')
  resp_nonce=$(openssl ocsp -respin "$TMP/nonce-resp.der" -resp_text -noverify 2>/dev/null | grep -A1 'OCSP Nonce' | tail -n 1 | tr -d ' ')
  assert_same "el nonce de la respuesta es el de la solicitud" "$req_nonce" "$resp_nonce"
  RESP_TEXT=$ALL

  section "OCSP: el certificado del respondedor delegado"
  assert_contains "la respuesta incluye el certificado del respondedor" "$RESP_TEXT" "BEGIN CERTIFICATE"
  assert_contains "respondedor con EKU OCSP Signing" "$RESP_TEXT" "OCSP Signing"
  assert_contains "respondedor con OCSP No Check" "$RESP_TEXT" "OCSP No Check"
  openssl ocsp -respin "$TMP/nonce-resp.der" -resp_text -noverify 2>/dev/null |
    sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' >"$TMP/responder.pem"
  run openssl verify -CAfile "$S_ROOT" -untrusted "$S_PF" -purpose ocsphelper "$TMP/responder.pem"
  assert_eq "el respondedor lo emitió la CA pf de pruebas (openssl verify -purpose ocsphelper)" \
    "$TMP/responder.pem: OK" "$OUT"
  resp_start=$(date -d "$(openssl x509 -in "$TMP/responder.pem" -noout -startdate | cut -d= -f2)" +%s)
  resp_end=$(date -d "$(openssl x509 -in "$TMP/responder.pem" -noout -enddate | cut -d= -f2)" +%s)
  resp_days=$(((resp_end - resp_start) / 86400))
  if ((resp_days >= 1 && resp_days <= 31)); then pass; else
    fail "validez corta del respondedor (1 a 31 días)" "1..31 días" "$resp_days días"
  fi

  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -no_nonce -resp_text
  assert_rc "openssl ocsp -no_nonce sale con 0" 0
  assert_contains "-no_nonce: good" "$ALL" "$C1: good"
  assert_contains "-no_nonce: Response verify OK" "$ALL" "Response verify OK"
  assert_not_contains "-no_nonce: la respuesta no trae nonce" "$ALL" "OCSP Nonce"
  # Again: now possibly from the server's cache.
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -no_nonce
  assert_contains "-no_nonce otra vez: good" "$ALL" "$C1: good"
  assert_contains "-no_nonce otra vez: Response verify OK" "$ALL" "Response verify OK"

  # The CertID hash is the client's choice (RFC 6960 §4.1.1: SHA-1 is what
  # most send, SHA-256 what newer clients send); the answer must carry the
  # client's CertID, also when the same serial was just asked with the other
  # hash. On the jurídica, so that the other checks do not depend on this.
  section "OCSP: CertID con SHA-256 y con SHA-1 (jurídica)"
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -sha256 -cert "$CJ" -no_nonce
  assert_contains "CertID SHA-256, primera pregunta: good" "$ALL" "$CJ: good"
  assert_contains "CertID SHA-256: Response verify OK" "$ALL" "Response verify OK"
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -cert "$CJ" -no_nonce
  assert_contains "CertID SHA-1 justo después de una SHA-256 del mismo certificado: good" "$ALL" "$CJ: good"
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -sha256 -cert "$CJ" -no_nonce
  assert_contains "CertID SHA-256 otra vez: good" "$ALL" "$CJ: good"
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -sha256 -cert "$CJ"
  assert_contains "CertID SHA-256 con nonce: good" "$ALL" "$CJ: good"

  section "OCSP por POST y por GET con curl"
  openssl ocsp -issuer "$S_PF" -cert "$C2" -no_nonce -reqout "$TMP/req-c2.der" 2>/dev/null
  openssl ocsp -issuer "$S_PF" -cert "$C1" -no_nonce -reqout "$TMP/req-c1.der" 2>/dev/null
  openssl ocsp -issuer "$S_PF" -cert "$C1" -reqout "$TMP/req-c1-nonce.der" 2>/dev/null
  ocsp_post "$TMP/req-c2.der" "$TMP/post-c2.der"
  assert_eq "POST application/ocsp-request: 200" 200 "$CODE"
  assert_eq "POST: Content-Type de la respuesta" "application/ocsp-response" "$CTYPE"
  read_resp "$TMP/post-c2.der" "$C2" -no_nonce
  assert_contains "POST: good" "$ALL" "$C2: good"
  assert_contains "POST: Response verify OK" "$ALL" "Response verify OK"
  ocsp_get "$TMP/req-c2.der" "$TMP/get-c2.der"
  assert_eq "GET base64 URL-codificado: 200" 200 "$CODE"
  assert_eq "GET: Content-Type de la respuesta" "application/ocsp-response" "$CTYPE"
  read_resp "$TMP/get-c2.der" "$C2" -no_nonce -resp_text
  assert_contains "GET: good" "$ALL" "$C2: good"
  assert_contains "GET: Response verify OK" "$ALL" "Response verify OK"
  ocsp_get "$TMP/req-c1.der" "$TMP/get-c1.der" raw
  assert_eq "GET con base64 sin codificar ('+', '/', '='): 200" 200 "$CODE"
  read_resp "$TMP/get-c1.der" "$C1" -no_nonce
  assert_contains "GET sin codificar: good" "$ALL" "$C1: good"
  assert_contains "GET sin codificar: Response verify OK" "$ALL" "Response verify OK"
  ocsp_get "$TMP/req-c1-nonce.der" "$TMP/get-c1-nonce.der"
  read_resp "$TMP/get-c1-nonce.der" "$C1" -resp_text -no_nonce
  assert_eq "GET con nonce: 200" 200 "$CODE"
  assert_contains "GET con nonce: good" "$ALL" "$C1: good"
  assert_same "GET con nonce: la respuesta trae el nonce de la solicitud" \
    "$(openssl ocsp -reqin "$TMP/req-c1-nonce.der" -req_text 2>/dev/null | grep -A1 'OCSP Nonce' | tail -n 1 | tr -d ' ')" \
    "$(grep -A1 'OCSP Nonce' <<<"$ALL" | tail -n 1 | tr -d ' ')"
  assert_contains "GET con nonce: Response verify OK" "$ALL" "Response verify OK"
  assert_not_contains "GET con nonce: sin advertencias" "$ALL" "WARNING"

  section "OCSP: varios certificados en una solicitud"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -cert "$C2"
  assert_rc "dos certificados de la misma CA en una solicitud" 0
  assert_contains "el primero: good" "$ALL" "$C1: good"
  assert_contains "el segundo: good" "$ALL" "$C2: good"
  assert_contains "dos IDs: Response verify OK" "$ALL" "Response verify OK"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -serial 0x1234ABCD -cert "$C2" -no_nonce
  assert_contains "tres IDs: good, unknown, good (1)" "$ALL" "$C1: good"
  assert_contains "tres IDs: good, unknown, good (2)" "$ALL" "0x1234ABCD: unknown"
  assert_contains "tres IDs: good, unknown, good (3)" "$ALL" "$C2: good"
  many=()
  for i in $(seq 1 32); do many+=(-serial $((0x5000 + i))); done
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" "${many[@]}"
  assert_eq "32 IDs en una solicitud: 32 respuestas unknown" 32 "$(grep -c ': unknown' <<<"$ALL")"
  assert_contains "32 IDs: Response verify OK" "$ALL" "Response verify OK"
  many+=(-serial $((0x5000 + 33)))
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" "${many[@]}"
  assert_contains "33 IDs: malformedRequest" "$ALL" "Responder Error: malformedrequest (1)"

  section "OCSP: unknown y unauthorized"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -serial 0x1234ABCD
  assert_contains "una serie que la CA nunca emitió: unknown" "$ALL" "0x1234ABCD: unknown"
  assert_contains "unknown: Response verify OK" "$ALL" "Response verify OK"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -serial "0x$SJ"
  assert_contains "la serie de un certificado de la CA pj, preguntada a la pf: unknown" "$ALL" "0x$SJ: unknown"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -serial "0x$SP"
  assert_contains "la serie de un certificado de producción, preguntada a la pf de pruebas: unknown" \
    "$ALL" "0x$SP: unknown"
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -cert "$CJ"
  assert_contains "la jurídica en /stag/ocsp/pj: good" "$ALL" "$CJ: good"
  assert_contains "pj: Response verify OK" "$ALL" "Response verify OK"
  ocsp_ask "$P_PF" "$P_ROOT" "$OCSP_URL_P" -cert "$CP"
  assert_contains "producción en /prod/ocsp/pf: good" "$ALL" "$CP: good"
  assert_contains "producción: Response verify OK con la raíz de producción" "$ALL" "Response verify OK"

  # A foreign CA made here, and a leaf with the serial of one of our good
  # certificates: still not ours to answer.
  FOREIGN=$TMP/foreign
  mkdir -p "$FOREIGN"
  (
    cd "$FOREIGN" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
      -subj "/C=CR/O=OTRA CA/CN=CA AJENA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=AJENO"
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -days 30 -set_serial "0x$S2" \
      -extfile <(printf 'authorityInfoAccess=OCSP;URI:%s\n' "$OCSP_URL") -out leaf.pem
    # A forgery: the name of our CA pf (the same DER bytes), another key.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out forged.key
    openssl x509 -x509toreq -in "$S_PF" -signkey forged.key -out forged.csr
    openssl x509 -req -in forged.csr -signkey forged.key -days 30 -out forged.pem \
      -extfile <(printf 'basicConstraints=critical,CA:TRUE\n')
    openssl x509 -req -in leaf.csr -CA forged.pem -CAkey forged.key -days 30 \
      -set_serial "0x$S2" -out forged-leaf.pem
  ) >"$TMP/foreign.log" 2>&1
  assert_exists "CA ajena creada con openssl" "$FOREIGN/leaf.pem"
  assert_exists "CA falsificada (nombre de la pf, otra llave) creada" "$FOREIGN/forged-leaf.pem"
  assert_eq "la CA falsificada tiene el nombre de la pf" \
    "$(openssl x509 -in "$S_PF" -noout -subject)" "$(openssl x509 -in "$FOREIGN/forged.pem" -noout -subject)"
  ocsp_ask "$FOREIGN/ca.pem" "$FOREIGN/ca.pem" "$OCSP_URL" -cert "$FOREIGN/leaf.pem"
  assert_contains "certificado de una CA ajena: unauthorized" "$ALL" "Responder Error: unauthorized (6)"
  assert_not_contains "nunca good para una CA ajena" "$ALL" ": good"
  ocsp_ask "$FOREIGN/forged.pem" "$FOREIGN/forged.pem" "$OCSP_URL" -cert "$FOREIGN/forged-leaf.pem"
  assert_contains "CA con nuestro nombre y otra llave: unauthorized" "$ALL" "Responder Error: unauthorized (6)"
  ocsp_ask "$FOREIGN/ca.pem" "$FOREIGN/ca.pem" "$OCSP_URL" -cert "$FOREIGN/leaf.pem" -issuer "$S_PF" -cert "$C1"
  assert_contains "un ID ajeno y uno nuestro en la misma solicitud: unauthorized" "$ALL" "unauthorized (6)"
  openssl ocsp -issuer "$FOREIGN/ca.pem" -cert "$FOREIGN/leaf.pem" -no_nonce -reqout "$TMP/req-foreign.der" 2>/dev/null
  ocsp_post "$TMP/req-foreign.der" "$TMP/post-foreign.der"
  assert_eq "POST de una CA ajena: HTTP 200" 200 "$CODE"
  assert_eq "POST de una CA ajena: responseStatus unauthorized (6)" 6 "$(ocsp_status_of_der "$TMP/post-foreign.der")"
  ocsp_get "$TMP/req-foreign.der" "$TMP/get-foreign.der"
  assert_eq "GET de una CA ajena: responseStatus unauthorized (6)" 6 "$(ocsp_status_of_der "$TMP/get-foreign.der")"
}

test_crl() {
  setup_server
  setup_keys c1

  # --- CRL before any revocation ----------------------------------------------------------
  section "CRL antes de revocar"
  fetch_crl crl0
  assert_match "Content-Type: application/pkix-crl" "$HDRS" "^Content-Type: application/pkix-crl$"
  assert_match "con Cache-Control" "$HDRS" "^Cache-Control: .*max-age=[0-9]+"
  run openssl crl -in "$TMP/crl0.pem" -CAfile "$S_PF" -noout
  assert_contains "la CRL está firmada por la CA pf" "$OUT$ERR" "verify OK"
  N0=$(crl_field "$TMP/crl0.pem" crlnumber)
  assert_match "la CRL tiene número" "$N0" "^[0-9]+$"
  run openssl verify -crl_check -CRLfile "$TMP/crl0.pem" -CAfile "$S_ROOT" -untrusted "$S_PF" "$C1"
  assert_eq "openssl verify -crl_check: un certificado activo pasa" "$C1: OK" "$OUT"
  last=$(crl_field "$TMP/crl0.pem" lastupdate) next=$(crl_field "$TMP/crl0.pem" nextupdate)
  if [[ -n $last && -n $next ]] && ((next > last && next - last <= 7 * 86400)); then pass; else
    fail "nextUpdate − lastUpdate ≤ 7 días" "0 < diferencia ≤ 604800 s" "lastUpdate=$last nextUpdate=$next"
  fi
  max_age=$(grep -o 'max-age=[0-9]*' <<<"$HDRS" | cut -d= -f2)
  now=$(date +%s)
  if [[ -n $max_age && -n $next ]] && ((max_age <= next - now + 5)); then pass; else
    fail "Cache-Control max-age no pasa de nextUpdate" "max-age ≤ $((next - now))" "max-age=$max_age"
  fi
  # The other CRLs answer too, each signed by its CA.
  for pair in "stag/intermediate-pj.crl:$S_PJ" "prod/intermediate-pf.crl:$P_PF" "prod/intermediate-pj.crl:$P_PJ"; do
    path=${pair%%:*} ca=${pair#*:}
    code=$(HC_OUT="$TMP/other.crl" http_code "$BASE/$path")
    assert_eq "GET /$path: 200" 200 "$code"
    run openssl crl -inform DER -in "$TMP/other.crl" -CAfile "$ca" -noout
    assert_contains "/$path está firmada por su CA" "$OUT$ERR" "verify OK"
  done
}

test_revocacion() {
  setup_server
  setup_keys c1 c2 cj
  make_requests
  # The number of the CRL before any revocation (the section crl checks it).
  N0=$(crl_number_now)

  # --- revocation by another process: seen at once ------------------------------------------
  section "revocación con llave revocar (otro proceso): visible de inmediato"
  run llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente pruebas --motivo keyCompromise
  assert_rc "llave revocar --motivo keyCompromise" 0
  # No pause: the first question right after the command returns, without a
  # nonce (the case a cache would answer).
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -no_nonce
  assert_contains "OCSP inmediatamente después: revoked" "$ALL" "$C1: revoked"
  assert_contains "con el motivo" "$ALL" "Reason: keyCompromise"
  assert_contains "con la hora de revocación" "$ALL" "Revocation Time:"
  assert_contains "revoked: Response verify OK" "$ALL" "Response verify OK"
  OCSP_REVTIME=$(grep -o 'Revocation Time: .*' <<<"$ALL" | sed 's/^Revocation Time: //')
  ocsp_get "$TMP/req-c1.der" "$TMP/get-c1-rev.der"
  read_resp "$TMP/get-c1-rev.der" "$C1" -no_nonce
  assert_contains "GET (la misma solicitud que antes daba good): revoked" "$ALL" "$C1: revoked"
  assert_contains "GET: Reason: keyCompromise" "$ALL" "Reason: keyCompromise"
  assert_contains "GET revoked: Response verify OK" "$ALL" "Response verify OK"
  ocsp_post "$TMP/req-c1.der" "$TMP/post-c1-rev.der"
  read_resp "$TMP/post-c1-rev.der" "$C1" -no_nonce
  assert_contains "POST con curl: revoked" "$ALL" "$C1: revoked"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -resp_text
  assert_contains "con nonce: revoked" "$ALL" "$C1: revoked"
  assert_contains "con nonce: Reason: keyCompromise" "$ALL" "Reason: keyCompromise"
  assert_contains "con nonce: el nonce vuelve" "$ALL" "OCSP Nonce"
  assert_contains "con nonce: Response verify OK" "$ALL" "Response verify OK"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -cert "$C2"
  assert_contains "dos IDs: el revocado, revoked" "$ALL" "$C1: revoked"
  assert_contains "dos IDs: el otro sigue good" "$ALL" "$C2: good"

  run llv "$DATA" llave revocar --id "$JURIDICA_ID" --ambiente pruebas --motivo affiliationChanged
  assert_rc "revocar la jurídica (affiliationChanged)" 0
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -cert "$CJ" -no_nonce
  assert_contains "jurídica, CertID SHA-1: revoked de inmediato" "$ALL" "$CJ: revoked"
  assert_contains "jurídica: Reason: affiliationChanged" "$ALL" "Reason: affiliationChanged"
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -sha256 -cert "$CJ" -no_nonce
  assert_contains "jurídica, CertID SHA-256 tras una SHA-1: revoked" "$ALL" "$CJ: revoked"
  ocsp_ask "$S_PJ" "$S_ROOT" "$OCSP_URL_J" -sha256 -cert "$CJ"
  assert_contains "jurídica, CertID SHA-256 con nonce: revoked" "$ALL" "$CJ: revoked"
  code=$(HC_OUT="$TMP/pj.crl" http_code "$BASE/stag/intermediate-pj.crl")
  assert_contains "la CRL pj lista la jurídica con Affiliation Changed" \
    "$(openssl crl -inform DER -in "$TMP/pj.crl" -noout -text 2>&1 | grep -A4 "Serial Number: $SJ")" "Affiliation Changed"

  section "CRL después de revocar"
  fetch_crl crl1
  N1=$(crl_field "$TMP/crl1.pem" crlnumber)
  if [[ $N0 =~ ^[0-9]+$ && $N1 =~ ^[0-9]+$ ]] && ((N1 > N0)); then pass; else
    fail "el número de CRL sube tras la revocación" "> $N0" "$N1"
  fi
  CRL1_TEXT=$(openssl crl -in "$TMP/crl1.pem" -noout -text 2>&1)
  assert_contains "la CRL lista la serie revocada" "$CRL1_TEXT" "Serial Number: $S1"
  assert_contains "con el motivo Key Compromise" "$CRL1_TEXT" "Key Compromise"
  assert_not_contains "no lista la activa" "$CRL1_TEXT" "$S2"
  CRL_REVTIME=$(grep -A1 "Serial Number: $S1" <<<"$CRL1_TEXT" | grep -o 'Revocation Date: .*' | sed 's/^Revocation Date: //')
  assert_same "la hora de revocación de la CRL es la de OCSP" "$CRL_REVTIME" "$OCSP_REVTIME"
  run openssl verify -crl_check -CRLfile "$TMP/crl1.pem" -CAfile "$S_ROOT" -untrusted "$S_PF" "$C1"
  assert_ne "openssl verify -crl_check falla para el revocado" 0 "$RC"
  assert_contains "con 'certificate revoked'" "$OUT$ERR" "certificate revoked"
  run openssl verify -crl_check -CRLfile "$TMP/crl1.pem" -CAfile "$S_ROOT" -untrusted "$S_PF" "$C2"
  assert_eq "openssl verify -crl_check: el activo sigue pasando" "$C2: OK" "$OUT"
  assert_match "sigue con Content-Type application/pkix-crl" "$HDRS" "^Content-Type: application/pkix-crl$"

  section "otra revocación: generar de nuevo revoca la anterior (superseded)"
  issue c3 "$SECOND_ID" pruebas
  C3=$TMP/c3.pem S3=$(serial "$C3")
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C2" -no_nonce
  assert_contains "la llave reemplazada: revoked de inmediato" "$ALL" "$C2: revoked"
  assert_contains "con Reason: superseded" "$ALL" "Reason: superseded"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -cert "$C2" -cert "$C3"
  assert_contains "tres IDs: revoked (keyCompromise)" "$ALL" "$C1: revoked"
  assert_contains "tres IDs: revoked (superseded)" "$ALL" "$C2: revoked"
  assert_contains "tres IDs: la nueva, good" "$ALL" "$C3: good"
  assert_eq "tres IDs: dos motivos" 2 "$(grep -c 'Reason: ' <<<"$ALL")"
  fetch_crl crl2
  N2=$(crl_field "$TMP/crl2.pem" crlnumber)
  if [[ $N1 =~ ^[0-9]+$ && $N2 =~ ^[0-9]+$ ]] && ((N2 > N1)); then pass; else
    fail "el número de CRL sube otra vez" "> $N1" "$N2"
  fi
  CRL2_TEXT=$(openssl crl -in "$TMP/crl2.pem" -noout -text 2>&1)
  assert_contains "la CRL lista la primera revocada" "$CRL2_TEXT" "Serial Number: $S1"
  assert_contains "y la reemplazada" "$CRL2_TEXT" "Serial Number: $S2"
  assert_contains "con el motivo Superseded" "$CRL2_TEXT" "Superseded"
  assert_not_contains "y no la nueva" "$CRL2_TEXT" "$S3"
  run openssl verify -crl_check -CRLfile "$TMP/crl2.pem" -CAfile "$S_ROOT" -untrusted "$S_PF" "$C2"
  assert_contains "verify -crl_check: la reemplazada, certificate revoked" "$OUT$ERR" "certificate revoked"
  run openssl verify -crl_check -CRLfile "$TMP/crl2.pem" -CAfile "$S_ROOT" -untrusted "$S_PF" "$C3"
  assert_eq "verify -crl_check: la nueva pasa" "$C3: OK" "$OUT"

  section "llavero crl"
  run llv "$DATA" crl --ambiente pruebas --ca pf --salida "$TMP/x.crl"
  assert_rc "llavero crl --ambiente pruebas --ca pf --salida x.crl" 0
  openssl crl -inform DER -in "$TMP/x.crl" -out "$TMP/x.pem" 2>/dev/null
  XTEXT=$(openssl crl -in "$TMP/x.pem" -noout -text 2>&1)
  assert_contains "x.crl lista la serie revocada por keyCompromise" "$XTEXT" "Serial Number: $S1"
  assert_contains "x.crl lista la reemplazada" "$XTEXT" "Serial Number: $S2"
  assert_contains "x.crl con el motivo" "$XTEXT" "Key Compromise"
  run openssl crl -in "$TMP/x.pem" -CAfile "$S_PF" -noout
  assert_contains "x.crl firmada por la CA pf" "$OUT$ERR" "verify OK"
  NX=$(crl_field "$TMP/x.pem" crlnumber)
  if [[ $NX =~ ^[0-9]+$ ]] && ((NX > N2)); then pass; else
    fail "x.crl con un número mayor que la última servida" "> $N2" "$NX"
  fi
  run openssl verify -crl_check -CRLfile "$TMP/x.pem" -CAfile "$S_ROOT" -untrusted "$S_PF" "$C1"
  assert_contains "x.crl: verify -crl_check dice certificate revoked" "$OUT$ERR" "certificate revoked"
  run llv "$DATA" crl --ambiente pruebas --ca root --salida "$TMP/root.crl"
  assert_rc "llavero crl --ca root: error" 1
  run llv "$DATA" llave revocar --id "$SECOND_ID" --ambiente pruebas --motivo cessationOfOperation
  assert_rc "revocar la tercera (cessationOfOperation)" 0
  fetch_crl crl3
  N3=$(crl_field "$TMP/crl3.pem" crlnumber)
  if [[ $N3 =~ ^[0-9]+$ ]] && ((N3 > NX)); then pass; else
    fail "la CRL servida tras otra revocación supera el número de x.crl" "> $NX" "$N3"
  fi
  assert_contains "la CRL servida lista la tercera" "$(openssl crl -in "$TMP/crl3.pem" -noout -text)" "Serial Number: $S3"
  assert_contains "con Cessation Of Operation" "$(openssl crl -in "$TMP/crl3.pem" -noout -text)" "Cessation Of Operation"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C3" -no_nonce
  assert_contains "OCSP: la tercera revoked con cessationOfOperation" "$ALL" "Reason: cessationOfOperation"
}

test_series() {
  setup_server
  setup_keys c1 c2 cp
  # As in the section revocacion: c1 revoked (keyCompromise), c2 superseded by c3.
  revoke "$FISICA_ID" keyCompromise
  setup_keys c3

  # --- what only the store knows: reserved serials, expired certificates -------------
  section "series reservadas y certificados vencidos (filas cambiadas con sqlite3 o psql)"
  PF_AUTH=$(sql "$DATA" "select id from authorities where environment='pruebas' and kind='pf'")
  FIS_TP=$(sql "$DATA" "select taxpayer_id from certificates where serial_hex='$S1'")
  RES=7EDCBA9876543210
  dbw "fila reservada (serie guardada antes de firmar, sin certificado)" "insert into certificates
    (authority_id, serial_hex, taxpayer_id, environment, status, created_at)
    values ($PF_AUTH, '$RES', $FIS_TP, 'pruebas', 'reserved', '2026-01-01T00:00:00Z')"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -serial "0x$RES"
  assert_contains "una serie reservada pero nunca firmada: unknown" "$ALL" "0x$RES: unknown"
  dbw "la fila reservada pasa a activa" "update certificates set status='active', certificate_der=$(sql_bytes 00),
    not_before='2026-01-01T00:00:00Z', not_after='2099-01-01T00:00:00Z' where serial_hex='$RES'"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -serial "0x$RES"
  assert_contains "la misma serie, activa: good (la consulta sí la encuentra)" "$ALL" "0x$RES: good"
  dbw "se borra la fila" "delete from certificates where serial_hex='$RES'"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -serial "0x$RES"
  assert_contains "borrada: unknown otra vez" "$ALL" "0x$RES: unknown"

  CP_NOT_AFTER=$(sql "$DATA" "select not_after from certificates where serial_hex='$SP'")
  dbw "el certificado de producción vence" "update certificates set not_after='2021-01-01T00:00:00Z' where serial_hex='$SP'"
  ocsp_ask "$P_PF" "$P_ROOT" "$OCSP_URL_P" -cert "$CP"
  assert_not_contains "un certificado activo pero vencido nunca es good" "$ALL" ": good"
  assert_contains "vencido: Response verify OK" "$ALL" "Response verify OK"
  dbw "el certificado de producción recupera su fecha" "update certificates set not_after='$CP_NOT_AFTER' where serial_hex='$SP'"
  ocsp_ask "$P_PF" "$P_ROOT" "$OCSP_URL_P" -cert "$CP"
  assert_contains "con su fecha real, good otra vez" "$ALL" "$CP: good"

  C1_NOT_AFTER=$(sql "$DATA" "select not_after from certificates where serial_hex='$S1'")
  dbw "el revocado vence" "update certificates set not_after='2021-01-01T00:00:00Z' where serial_hex='$S1'"
  run llv "$DATA" crl --ambiente pruebas --ca pf --salida "$TMP/y.crl"
  YTEXT=$(openssl crl -inform DER -in "$TMP/y.crl" -noout -text 2>&1)
  assert_not_contains "la CRL omite un revocado ya vencido" "$YTEXT" "$S1"
  assert_contains "y sigue listando los revocados vigentes" "$YTEXT" "Serial Number: $S2"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1"
  assert_not_contains "OCSP: revocado y vencido, nunca good" "$ALL" ": good"
  dbw "el revocado recupera su fecha" "update certificates set not_after='$C1_NOT_AFTER' where serial_hex='$S1'"
}

test_entradas_malas() {
  setup_server
  setup_keys c1
  make_requests

  # --- bad input: right error, and the server keeps serving ------------------------------------
  section "entradas malas"
  head -c 300 /dev/urandom >"$TMP/random.bin"
  ocsp_post "$TMP/random.bin" "$TMP/random.resp"
  assert_eq "bytes al azar por POST: HTTP 200" 200 "$CODE"
  assert_eq "bytes al azar: responseStatus malformedRequest (1)" 1 "$(ocsp_status_of_der "$TMP/random.resp")"
  run_all openssl ocsp -respin "$TMP/random.resp" -resp_text -noverify
  assert_contains "openssl ocsp -respin lee malformedRequest" "$ALL" "Responder Error: malformedrequest (1)"
  healthz_ok "bytes al azar"

  size=$(stat -c %s "$TMP/req-c1.der")
  head -c $((size / 2)) "$TMP/req-c1.der" >"$TMP/trunc.der"
  ocsp_post "$TMP/trunc.der" "$TMP/trunc.resp"
  assert_eq "DER truncado por POST: HTTP 200" 200 "$CODE"
  assert_eq "DER truncado: malformedRequest (1)" 1 "$(ocsp_status_of_der "$TMP/trunc.resp")"
  head -c $((size - 1)) "$TMP/req-c1.der" >"$TMP/trunc1.der"
  ocsp_get "$TMP/trunc1.der" "$TMP/trunc1.resp"
  assert_eq "DER sin su último byte por GET: malformedRequest (1)" 1 "$(ocsp_status_of_der "$TMP/trunc1.resp")"
  { cat "$TMP/req-c1.der"; printf 'basura'; } >"$TMP/trail.der"
  ocsp_post "$TMP/trail.der" "$TMP/trail.resp"
  assert_eq "DER con bytes de más al final: malformedRequest (1)" 1 "$(ocsp_status_of_der "$TMP/trail.resp")"
  printf '\x30\x04\x30\x02\x30\x00' >"$TMP/no-ids.der"
  ocsp_post "$TMP/no-ids.der" "$TMP/no-ids.resp"
  assert_eq "solicitud OCSP bien formada sin ningún CertID: malformedRequest (1)" 1 "$(ocsp_status_of_der "$TMP/no-ids.resp")"
  : >"$TMP/empty.der"
  ocsp_post "$TMP/empty.der" "$TMP/empty.resp"
  assert_eq "POST vacío: malformedRequest (1)" 1 "$(ocsp_status_of_der "$TMP/empty.resp")"
  healthz_ok "DER truncado"

  code=$(HC_OUT="$TMP/b64.resp" http_code "$OCSP_URL/no-es-base64%21%21")
  if [[ $code == 400 ]] || [[ $code == 200 && $(ocsp_status_of_der "$TMP/b64.resp") == 1 ]]; then pass; else
    fail "GET con base64 inválido: 400 o malformedRequest" "400, o 200 con malformedRequest" "$code"
  fi
  code=$(HC_OUT="$TMP/b64r.resp" http_code "$OCSP_URL/$(urlencode "$(base64 -w0 "$TMP/random.bin")")")
  assert_eq "GET con base64 de bytes al azar: 200" 200 "$code"
  assert_eq "GET con base64 de bytes al azar: malformedRequest (1)" 1 "$(ocsp_status_of_der "$TMP/b64r.resp")"
  assert_eq "GET con %-escape roto: 400" 400 "$(http_code "$OCSP_URL/MFEw%zz")"
  healthz_ok "GET con base64 inválido"

  thousand=()
  for i in $(seq 1 1000); do thousand+=(-serial $((0x100000 + i))); done
  openssl ocsp -issuer "$S_PF" "${thousand[@]}" -no_nonce -reqout "$TMP/req-1000.der" 2>/dev/null
  ocsp_post "$TMP/req-1000.der" "$TMP/resp-1000.der"
  if [[ $CODE == 413 ]] || [[ $CODE == 200 && $(ocsp_status_of_der "$TMP/resp-1000.der") == 1 ]]; then pass; else
    fail "1000 series en una solicitud: malformedRequest o 413" "200 con malformedRequest (1), o 413" \
      "HTTP $CODE, responseStatus $(ocsp_status_of_der "$TMP/resp-1000.der")"
  fi
  healthz_ok "una solicitud de 1000 series"

  assert_eq "POST con Content-Type text/plain: 415" 415 \
    "$(http_code "$OCSP_URL" -H 'Content-Type: text/plain' --data-binary "@$TMP/req-c1.der")"
  assert_eq "POST sin Content-Type: 415" 415 \
    "$(http_code "$OCSP_URL" -H 'Content-Type:' --data-binary "@$TMP/req-c1.der")"
  assert_eq "POST con Content-Type application/ocsp-request; charset=x: 200" 200 \
    "$(http_code "$OCSP_URL" -H 'Content-Type: application/ocsp-request; charset=binary' --data-binary "@$TMP/req-c1.der")"
  healthz_ok "Content-Type equivocado"

  for path in '/stag/../etc/passwd' '/stag/%2e%2e/etc/passwd' '/stag/%2E%2E/%2E%2E/etc/passwd' \
    '/../../../../etc/passwd' '/stag/ocsp/pf/..%2f..%2fetc%2fpasswd' '/stag/ocsp/pf/../../../etc/passwd' \
    '/stag/..'; do
    code=$(HC_OUT="$TMP/trav.out" http_code "$BASE$path" --path-as-is)
    assert_eq "ruta con '..' ($path): 400" 400 "$code"
    assert_not_contains "ruta $path: no entrega /etc/passwd" "$(cat "$TMP/trav.out" 2>/dev/null)" "root:"
  done
  for path in '/stag/%00' '/stag\..\etc\passwd' '/stag/intermediate-pf.crl%00.txt' 'sin-barra'; do
    code=$(HC_OUT="$TMP/trav.out" http_code "$BASE/$path" --path-as-is)
    [[ $path == sin-barra ]] && code=$(raw_send_status "GET sin-barra HTTP/1.1\r\nHost: x\r\n\r\n")
    if [[ $code == 400 || $code == 404 || $code == "HTTP/1.1 400 Bad Request" || $code == CLOSED ]]; then pass; else
      fail "ruta rara ($path): 400 o 404" "400 o 404" "$code"
    fi
  done
  healthz_ok "rutas con .."

  assert_eq "ruta desconocida: 404" 404 "$(http_code "$BASE/no/existe")"
  assert_eq "ruta casi conocida (/stag/intermediate-pf.crlx): 404" 404 "$(http_code "$BASE/stag/intermediate-pf.crlx")"
  # The root's CRL (ARL) is published since the CA lifecycle (issue 15); a
  # generation that does not exist is not.
  assert_eq "CRL de la raíz (ARL): 200" 200 "$(http_code "$BASE/stag/root.crl")"
  assert_eq "CRL de una generación que no existe: 404" 404 "$(http_code "$BASE/stag/intermediate-pf-g9.crl")"
  assert_eq "DELETE de la CRL: 405" 405 "$(http_code "$CRL_URL" -X DELETE)"
  assert_eq "POST a /healthz: 405" 405 "$(http_code "$BASE/healthz" -X POST -d x)"
  assert_eq "PUT a la URL OCSP: 405" 405 "$(http_code "$OCSP_URL" -X PUT -H 'Content-Type: application/ocsp-request' --data-binary "@$TMP/req-c1.der")"
  assert_eq "GET a la URL OCSP sin solicitud: 405" 405 "$(http_code "$OCSP_URL")"
  healthz_ok "método equivocado"

  # Raw HTTP that curl would never send.
  for req in 'GARBAGE\r\n\r\n' 'GET\r\n\r\n' 'GET / HTTP/9.9\r\n\r\n' \
    'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' \
    'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
    'GET /healthz HTTP/1.1\r\nno header\r\n\r\n' \
    'POST /stag/ocsp/pf HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/ocsp-request\r\n\r\nzz\r\n' \
    '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n' '\x00\x01\x02\x03\xff\xfe\r\n\r\n'; do
    seen=$(raw_send "$req")
    if [[ $seen == "HTTP/1.1 400 Bad Request" || $seen == CLOSED ]]; then pass; else
      fail "HTTP mal formado ($(printf '%q' "$req" | cut -c1-60)): 400 o cierre" "HTTP/1.1 400 Bad Request, o CLOSED" "$seen"
    fi
  done
  healthz_ok "HTTP mal formado por un socket"
  assert_eq "tres GET en tubería (pipelining) en una conexión: tres 200" 3 \
    "$(timeout 20 python3 "$RAW" pipeline "$PORT" /healthz 3)"

  head -c $((70 * 1024)) /dev/urandom >"$TMP/big.bin"
  assert_eq "cuerpo de 70 KiB con Content-Length: 413" 413 \
    "$(http_code "$OCSP_URL" -H 'Expect:' -H 'Content-Type: application/ocsp-request' --data-binary "@$TMP/big.bin")"
  assert_eq "cuerpo de 70 KiB en chunked: 413" 413 \
    "$(http_code "$OCSP_URL" -H 'Expect:' -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/ocsp-request' --data-binary "@$TMP/big.bin")"
  assert_eq "cuerpo de 70 KiB con Expect: 100-continue: 413" 413 \
    "$(http_code "$OCSP_URL" -H 'Content-Type: application/ocsp-request' --data-binary "@$TMP/big.bin")"
  healthz_ok "cuerpos demasiado grandes"

  bigh=$(head -c 9000 /dev/zero | tr '\0' a)
  assert_eq "un encabezado de más de 8 KiB: 431" 431 "$(http_code "$BASE/healthz" -H "X-Grande: $bigh")"
  many_h=()
  for i in $(seq 1 200); do many_h+=(-H "X-H$i: $(head -c 50 /dev/zero | tr '\0' b)"); done
  assert_eq "200 encabezados que suman más de 8 KiB: 431" 431 "$(http_code "$BASE/healthz" "${many_h[@]}")"
  assert_eq "una URL de más de 8 KiB: 431 o 414" 1 \
    "$(code=$(http_code "$OCSP_URL/$bigh"); [[ $code == 431 || $code == 414 ]] && echo 1 || echo "$code")"
  healthz_ok "encabezados demasiado grandes"

  # --- the access log ---------------------------------------------------------------------------
  section "registro de accesos"
  # The GET of the CRL whose log line is checked (in a single run of old, the
  # section lentos made it).
  http_code "$CRL_URL" >/dev/null
  LOG=$(cat "$TMP/server.log")
  assert_match "una línea por solicitud: método, ruta, estado, bytes, microsegundos" "$LOG" \
    "GET /stag/intermediate-pf.crl 200 [0-9]+ [0-9]+us"
  assert_match "el registro tiene los POST OCSP" "$LOG" "POST /stag/ocsp/pf 200 [0-9]+ [0-9]+us"
  assert_match "y los errores (431)" "$LOG" " 431 [0-9]+ [0-9]+us"
  PASSPHRASE=$(cat "$DATA/ca-passphrase")
  assert_not_contains "el registro no contiene la frase de paso de las CA" "$LOG" "$PASSPHRASE"
  assert_not_contains "ni llaves privadas" "$LOG" "PRIVATE KEY"
}

test_lentos_tls() {
  setup_server
  setup_keys c1 c3
  make_requests
  # For the section TLS: c1 revoked.
  revoke "$FISICA_ID" keyCompromise

  section "clientes lentos"
  # In the background while TLS is checked: 50 connections that stall in the
  # request line, and one that drips a byte per second. The results are read
  # at the end.
  python3 "$RAW" stall "$PORT" 50 45 >"$TMP/stall.out" 2>&1 &
  STALL_PID=$!
  BG_PIDS+=("$STALL_PID")
  python3 "$RAW" drip "$PORT" 45 >"$TMP/drip.out" 2>&1 &
  DRIP_PID=$!
  BG_PIDS+=("$DRIP_PID")
  for _ in $(seq 1 100); do grep -q READY "$TMP/stall.out" 2>/dev/null && break; sleep 0.1; done
  assert_contains "50 clientes detenidos conectados" "$(cat "$TMP/stall.out")" "READY"
  # While 50 connections stall: other requests are answered quickly.
  slow=0 worst=0
  for i in $(seq 1 20); do
    t=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}' "$CRL_URL")
    code=${t%% *} secs=${t#* }
    [[ $code == 200 ]] || slow=$((slow + 1))
    awk -v s="$secs" 'BEGIN{exit !(s > 2.0)}' && slow=$((slow + 1))
    worst=$(awk -v a="$worst" -v b="$secs" 'BEGIN{print (b > a ? b : a)}')
  done
  assert_eq "con 50 clientes detenidos, 20 GET de la CRL responden 200 en menos de 2 s cada uno (peor: ${worst} s)" 0 "$slow"
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C3" -no_nonce
  assert_contains "OCSP responde con clientes detenidos" "$ALL" "Response verify OK"
  if command -v ss >/dev/null; then
    assert_match "los clientes detenidos siguen conectados (la prueba es real)" \
      "$(ss -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l)" "^([5-9][0-9]|[1-9][0-9]{2,})$"
  else
    skip_check "los clientes detenidos siguen conectados (la prueba es real)" "falta ss (iproute2)"
  fi

  # --- TLS ------------------------------------------------------------------------------------------
  section "serve con --tls-cert/--tls-key"
  run llv "$DATA" serve --listen "127.0.0.1:$(free_port)" --tls-cert "$TMP/no-importa.pem"
  assert_rc "--tls-cert sin --tls-key: error" 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/tls.key" -out "$TMP/tls.pem" -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
  TPORT=$(free_port)
  "$LLAVERO" --data "$DATA" serve --listen "127.0.0.1:$TPORT" --tls-cert "$TMP/tls.pem" \
    --tls-key "$TMP/tls.key" >"$TMP/tls-server.log" 2>&1 </dev/null &
  TLS_PID=$!
  BG_PIDS+=("$TLS_PID")
  code=000
  for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null --max-time 2 --cacert "$TMP/tls.pem" -w '%{http_code}' "https://127.0.0.1:$TPORT/healthz")
    [[ $code == 200 ]] && break
    kill -0 "$TLS_PID" 2>/dev/null || break
    sleep 0.2
  done
  assert_eq "un segundo servidor, con TLS, sobre el mismo almacén: /healthz 200" 200 "$code"
  code=$(curl -s -o "$TMP/tls.crl" --max-time 10 --cacert "$TMP/tls.pem" -w '%{http_code}' \
    "https://127.0.0.1:$TPORT/stag/intermediate-pf.crl")
  assert_eq "CRL por HTTPS: 200" 200 "$code"
  assert_contains "la CRL por HTTPS lista las revocaciones" \
    "$(openssl crl -inform DER -in "$TMP/tls.crl" -noout -text 2>&1)" "Serial Number: $S1"
  code=$(curl -s -o "$TMP/tls-ocsp.der" --max-time 10 --cacert "$TMP/tls.pem" -w '%{http_code}' \
    -H 'Content-Type: application/ocsp-request' --data-binary "@$TMP/req-c1.der" "https://127.0.0.1:$TPORT/stag/ocsp/pf")
  assert_eq "OCSP por HTTPS: 200" 200 "$code"
  read_resp "$TMP/tls-ocsp.der" "$C1" -no_nonce
  assert_contains "OCSP por HTTPS: revoked" "$ALL" "$C1: revoked"
  assert_contains "OCSP por HTTPS: Response verify OK" "$ALL" "Response verify OK"
  code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "http://127.0.0.1:$TPORT/healthz")
  assert_ne "HTTP sin TLS al puerto TLS no recibe 200" 200 "$code"
  assert_eq "el servidor TLS sigue sirviendo tras un cliente sin TLS" 200 \
    "$(curl -s -o /dev/null --max-time 5 --cacert "$TMP/tls.pem" -w '%{http_code}' "https://127.0.0.1:$TPORT/healthz")"
  mine "$TLS_PID" && kill -TERM "$TLS_PID"
  wait "$TLS_PID"
  assert_eq "el servidor TLS sale con 0 tras SIGTERM" 0 "$?"

  section "clientes lentos: el servidor los corta"
  # The server must drop them (read timeout), and the one that drips too.
  wait "$STALL_PID" "$DRIP_PID" 2>/dev/null
  assert_match "el servidor cierra las 50 conexiones detenidas (timeout de lectura)" \
    "$(cat "$TMP/stall.out")" "closed=50 open=0"
  assert_match "el servidor corta al cliente que envía un byte por segundo" \
    "$(cat "$TMP/drip.out")" "^closed after"
  echo "    (detenidos: $(tail -n 1 "$TMP/stall.out"); goteo: $(cat "$TMP/drip.out"))"
  healthz_ok "clientes lentos"
}

test_parada() {
  setup_server
  setup_keys c1 c2
  make_requests
  # As in the section revocacion: c1 revoked, c2 superseded by c3, c3 revoked.
  revoke "$FISICA_ID" keyCompromise
  setup_keys c3
  revoke "$SECOND_ID" cessationOfOperation
  # The number of the CRL served before the restart.
  N3=$(crl_number_now)

  # --- SIGTERM under load ---------------------------------------------------------------------------
  section "SIGTERM con carga"
  ocsp_get_url() { echo "$OCSP_URL/$(urlencode "$(base64 -w0 "$1")")"; }
  GET_CACHED=$(ocsp_get_url "$TMP/req-c2.der")
  GET_NONCE=$(ocsp_get_url "$TMP/req-c1-nonce.der")
  LOAD=$TMP/load
  mkdir -p "$LOAD"
  # One loop: keep-alive batches of CRL / OCSP GET (cached and signed each time)
  # until the server refuses connections. Every transfer writes
  #   http_code|size_download|content-length|exit code
  load_loop() {
    local out=$1 n=0 rc
    while ((n < 3000)); do
      curl -s --max-time 30 \
        -w '%{http_code}|%{size_download}|%header{content-length}|%{exitcode}\n' \
        -o /dev/null "$CRL_URL" -o /dev/null "$GET_CACHED" -o /dev/null "$GET_NONCE" \
        -o /dev/null "$BASE/stag/intermediate-pf-pem.crt" -o /dev/null "$GET_NONCE" >>"$out" 2>/dev/null
      rc=$?
      n=$((n + 1))
      ((rc == 7)) && break
      [[ -e $LOAD/stop ]] && break
    done
  }
  LOAD_PIDS=()
  for i in $(seq 1 8); do
    load_loop "$LOAD/loop$i" &
    LOAD_PIDS+=("$!")
    BG_PIDS+=("$!")
  done
  sleep 2
  before_term=$(cat "$LOAD"/loop* 2>/dev/null | grep -c '^200|')
  term_at=$(date +%s%N)
  stop_server TERM 60
  server_rc=$STOP_RC
  stop_ms=$((($(date +%s%N) - term_at) / 1000000))
  touch "$LOAD/stop"
  for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  assert_eq "el servidor sale con 0 tras SIGTERM (${stop_ms} ms)" 0 "$server_rc"
  if ((stop_ms < 20000)); then pass; else fail "se detiene en menos de 20 s" "< 20000 ms" "$stop_ms ms"; fi
  assert_contains "el servidor dice que se detuvo" "$(cat "$TMP/server.log")" "llavero detenido."
  results=$(cat "$LOAD"/loop*)
  total=$(grep -c . <<<"$results")
  ok=$(grep -c '^200|' <<<"$results")
  assert_ge "hubo carga antes del SIGTERM (respuestas 200)" 20 "$before_term"
  assert_ge "respuestas 200 en total" "$before_term" "$ok"
  assert_no_match "ninguna transferencia parcial (curl 18)" "$results" '\|18$'
  # Every transfer that got a status got all of its body.
  cut=$(awk -F'|' '$1 != "000" && ($2 != $3 || $4 != 0)' <<<"$results")
  assert_eq "toda respuesta con estado llegó completa (bytes = Content-Length, curl 0)" "" "$cut"
  assert_no_match "solo respuestas 200 durante la carga" "$(awk -F'|' '$1 != "000" {print $1}' <<<"$results")" '^[^2]'
  echo "    (carga: $total transferencias, $ok con 200; $before_term antes del SIGTERM; códigos de curl sin respuesta: $(awk -F'|' '$1 == "000" {print $4}' <<<"$results" | sort | uniq -c | tr -s ' \n' ' '))"
  code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$BASE/healthz" 2>/dev/null)
  assert_eq "después de salir ya no escucha" 000 "$code"

  section "reinicio y SIGINT"
  start_server
  ocsp_ask "$S_PF" "$S_ROOT" "$OCSP_URL" -cert "$C1" -cert "$C3"
  assert_contains "tras reiniciar: la revocada sigue revoked" "$ALL" "$C1: revoked"
  assert_contains "tras reiniciar: la otra también" "$ALL" "$C3: revoked"
  assert_contains "tras reiniciar: Response verify OK" "$ALL" "Response verify OK"
  fetch_crl crl4
  N4=$(crl_field "$TMP/crl4.pem" crlnumber)
  if [[ $N4 =~ ^[0-9]+$ ]] && ((N4 >= N3)); then pass; else
    fail "tras reiniciar, el número de CRL no retrocede" ">= $N3" "$N4"
  fi
  stop_server INT
  assert_eq "el servidor sale con 0 tras SIGINT" 0 "$STOP_RC"
}

run_sections
