#!/usr/bin/env bash
# `llavero verificar` against signatures that other signers made (issue 9,
# docs/firmas.md): each style found in the wild verifies, and fails with the
# right reason once one byte of the signed content changes; policy problems
# are advertencias, failures only with --estricto; a MensajeHacienda sealed
# under a test "national PKI" verifies with --confianza at its root or at its
# leaf alone, and with the root in the data directory's confianza/ folder.
#
# The other signers are npm xadesjs (tests/xades/xadesjs.mjs, installed by
# scripts/install-deps.sh) and `xmlsec1 --sign` completing templates written
# by tests/xades/plantilla_firma.py. The keys are a test hierarchy made here
# with openssl.
#
#   bash tests/xades/firmas_test.sh build/llavero [--section NOMBRE]
#
# The test_ functions are called by run_sections (tests/lib/lib.sh).
# shellcheck disable=SC2329,SC2317
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"

SECTIONS=(xadesjs net java dss digestos politica mensaje_hacienda)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXAMPLES=$(cd "$HERE/../../examples" && pwd)
PLANTILLA=$HERE/plantilla_firma.py
MODIFIED="El XML fue modificado luego de haber sido firmado"

require_tools openssl python3

# --- the test PKI -------------------------------------------------------------------

# ca NAME SUBJECT [ISSUER] : a CA key and certificate $TMP/pki/NAME.{key,pem},
# self-signed without ISSUER.
ca() {
  local name=$1 subject=$2 issuer=${3:-}
  mkdir -p "$TMP/pki"
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$TMP/pki/ca.ext"
  if [[ -z $issuer ]]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/pki/$name.key" -out "$TMP/pki/$name.pem" \
      -subj "$subject" -days 30 -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
  else
    openssl req -newkey rsa:2048 -nodes -keyout "$TMP/pki/$name.key" -out "$TMP/pki/$name.csr" \
      -subj "$subject" 2>/dev/null
    openssl x509 -req -in "$TMP/pki/$name.csr" -CA "$TMP/pki/$issuer.pem" -CAkey "$TMP/pki/$issuer.key" \
      -CAcreateserial -days 20 -extfile "$TMP/pki/ca.ext" -out "$TMP/pki/$name.pem" 2>/dev/null
  fi
}

# leaf NAME SUBJECT ISSUER : a signing key and certificate.
leaf() {
  local name=$1 subject=$2 issuer=$3
  printf 'keyUsage=critical,digitalSignature,nonRepudiation\n' >"$TMP/pki/leaf.ext"
  openssl req -newkey rsa:2048 -nodes -keyout "$TMP/pki/$name.key" -out "$TMP/pki/$name.csr" \
    -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$TMP/pki/$name.csr" -CA "$TMP/pki/$issuer.pem" -CAkey "$TMP/pki/$issuer.key" \
    -CAcreateserial -days 10 -extfile "$TMP/pki/leaf.ext" -out "$TMP/pki/$name.pem" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$TMP/pki/$name.key" -out "$TMP/pki/$name.p8"
}

# A taxpayer's hierarchy like this installation's: root, issuing CA, signer;
# the root alone in $TMP/raiz (what --confianza is given).
taxpayer_pki() {
  ca raiz "/C=CR/O=PRUEBAS/CN=CA RAIZ DE PRUEBA"
  ca emisora "/C=CR/O=PRUEBAS/CN=CA PERSONA FISICA DE PRUEBA" raiz
  leaf firmante "/C=CR/CN=CONTRIBUYENTE PENA DE PRUEBA/serialNumber=CPF-01-0647-0958" emisora
  mkdir -p "$TMP/raiz"
  cp "$TMP/pki/raiz.pem" "$TMP/raiz/"
  [[ -s $TMP/pki/firmante.pem ]] || { fail "openssl crea la jerarquía de prueba" "certificados" "nada"; finish; }
}

# Times the test certificates cover: they start now, and verificar allows a
# SigningTime up to five minutes ahead.
soon_cr() { TZ=America/Costa_Rica date -d '+60 seconds' +%Y-%m-%dT%H:%M:%S-06:00; }
soon_utc_millis() { date -u -d '+60 seconds' +%Y-%m-%dT%H:%M:%S.250Z; }
soon_minus7() { TZ=Etc/GMT+7 date -d '+60 seconds' +%Y-%m-%dT%H:%M:%S-07:00; }

# --- signing with xmlsec1 and checking with verificar ------------------------------------

# xmlsec_sign STYLE DOC OUT [plantilla options...] : the template of that
# style completed by xmlsec1 with the signer's key. KeyInfo is written by the
# template (--enabled-key-data x509 keeps xmlsec1 from rewriting its KeyValue).
xmlsec_sign() {
  local style=$1 doc=$2 out=$3
  shift 3
  python3 "$PLANTILLA" "$style" "$doc" "$TMP/pki/firmante.pem" "$TMP/pki/emisora.pem" "$@" \
    >"$out.plantilla" &&
    xmlsec1 --sign --privkey-pem "$TMP/pki/firmante.key" --enabled-key-data x509 \
      --output "$out" "$out.plantilla" 2>"$TMP/xmlsec.err"
  RC=$?
  OUT="" ERR=$(cat "$TMP/xmlsec.err")
  assert_rc "xmlsec1 --sign completa la plantilla $style" 0
}

# verify FILE [ARGS...] : `verificar --json` with the test root; sets RC,
# VJSON.
verify() {
  local file=$1
  shift
  run "$LLAVERO" verificar --entrada "$file" --confianza "$TMP/raiz" --json "$@"
  VJSON=$OUT
}

# field CHECK KEY : a field of the first check named CHECK in $VJSON.
field() {
  json_eval "$VJSON" "[c for c in d['verificaciones'] if c['nombre'] == '$1'][0]['$2']"
}

# change_one_byte IN OUT FROM TO : IN with the first FROM replaced by TO,
# which must differ from it in one byte.
change_one_byte() {
  python3 - "$@" <<'PY'
import sys
src, dst, old, new = sys.argv[1:]
data = open(src, "rb").read()
at = data.find(old.encode())
assert at >= 0, old
open(dst, "wb").write(data[:at] + new.encode() + data[at + len(old):])
PY
}

# style_case NAME STYLE [plantilla options...] : signed in that style it is
# valid; with one byte of the document changed, verificar and xmlsec1 reject
# it, and only the document reference fails.
style_case() {
  local name=$1 style=$2
  shift 2
  local signed=$TMP/$name.xml
  xmlsec_sign "$style" "$EXAMPLES/factura-electronica.xml" "$signed" "$@"
  [[ $style == java ]] && python3 "$PLANTILLA" crlf-base64 "$signed"
  verify "$signed"
  assert_rc "$name: verificar acepta la firma" 0
  assert_eq "$name: valida" True "$(json_eval "$VJSON" "d['valida']")"
  assert_eq "$name: la referencia al documento" True "$(field referencia_documento ok)"
  assert_eq "$name: la referencia a las propiedades" True "$(field referencia_propiedades ok)"

  change_one_byte "$signed" "$TMP/$name-cambiado.xml" "<NumTelefono>22223333" "<NumTelefono>22223334"
  assert_eq "$name: el archivo cambiado difiere en un byte" 1 \
    "$(cmp -l "$signed" "$TMP/$name-cambiado.xml" 2>/dev/null | wc -l)"
  verify "$TMP/$name-cambiado.xml"
  assert_rc "$name cambiado: verificar lo rechaza" 1
  assert_eq "$name cambiado: la referencia al documento falla" False "$(field referencia_documento ok)"
  assert_contains "$name cambiado: el motivo dice que el XML fue modificado" \
    "$(field referencia_documento motivo)" "$MODIFIED"
  assert_match "$name cambiado: el motivo dice que las propiedades no cambiaron" \
    "$(field referencia_documento motivo)" "lo demás que cubre la firma no cambió: .*SignedProperties"
  assert_eq "$name cambiado: las propiedades siguen bien" True "$(field referencia_propiedades ok)"
  assert_eq "$name cambiado: el valor de la firma no se dice fallado" False \
    "$(field valor_firma realizada)"
  run xmlsec1 --verify --trusted-pem "$TMP/pki/raiz.pem" --untrusted-pem "$TMP/pki/emisora.pem" \
    --enabled-key-data x509 "$TMP/$name-cambiado.xml"
  assert_ne "$name cambiado: xmlsec1 --verify también lo rechaza" 0 "$RC"
}

need_xmlsec1() {
  command -v xmlsec1 >/dev/null && return 0
  skip_check "firmas de xmlsec1 --sign" "falta xmlsec1 (bash scripts/install-deps.sh)"
  finish
}

# --- the sections ----------------------------------------------------------------------

# npm xadesjs: it verifies what `llavero firmar` signs, and llavero verifies
# the XAdES-EPES (v4.4 policy) and XAdES-BES it signs.
test_xadesjs() {
  if [[ ! -d $HERE/node_modules/xadesjs ]] || ! command -v node >/dev/null; then
    skip_check "xadesjs" "falta node o tests/xades/node_modules (bash scripts/install-deps.sh)"
    finish
  fi
  section "llavero firma, xadesjs verifica"
  taxpayer_pki
  openssl pkcs12 -export -inkey "$TMP/pki/firmante.key" -in "$TMP/pki/firmante.pem" \
    -certfile "$TMP/pki/emisora.pem" -passout pass:1234 -out "$TMP/firmante.p12" 2>/dev/null
  run_input '1234\n' "$LLAVERO" firmar --p12 "$TMP/firmante.p12" --pin-stdin \
    --entrada "$EXAMPLES/factura-electronica.xml" --salida "$TMP/llavero.xml"
  assert_rc "llavero firmar con una llave de la jerarquía de prueba" 0
  run node "$HERE/xadesjs.mjs" verificar "$TMP/llavero.xml"
  assert_rc "xadesjs verifica la firma de llavero: $OUT $ERR" 0
  change_one_byte "$TMP/llavero.xml" "$TMP/llavero-cambiado.xml" "<NumTelefono>22223333" "<NumTelefono>22223334"
  run node "$HERE/xadesjs.mjs" verificar "$TMP/llavero-cambiado.xml"
  assert_rc "xadesjs rechaza la firma de llavero con un byte cambiado" 1
  verify "$TMP/llavero.xml"
  assert_rc "y llavero verificar --confianza la acepta" 0

  section "xadesjs firma, llavero verifica"
  for kind in epes bes; do
    run node "$HERE/xadesjs.mjs" firmar "$kind" "$EXAMPLES/factura-electronica.xml" \
      "$TMP/pki/firmante.p8" "$TMP/pki/firmante.pem" "$TMP/xadesjs-$kind.xml" "$TMP/pki/emisora.pem"
    assert_rc "xadesjs firma ($kind)" 0
    verify "$TMP/xadesjs-$kind.xml"
    assert_rc "xadesjs $kind: verificar la acepta" 0
    assert_eq "xadesjs $kind: valida" True "$(json_eval "$VJSON" "d['valida']")"
    change_one_byte "$TMP/xadesjs-$kind.xml" "$TMP/xadesjs-$kind-cambiado.xml" \
      "<NumTelefono>22223333" "<NumTelefono>22223334"
    verify "$TMP/xadesjs-$kind-cambiado.xml"
    assert_rc "xadesjs $kind con un byte cambiado: verificar la rechaza" 1
    assert_contains "xadesjs $kind cambiado: el motivo" "$(field referencia_documento motivo)" "$MODIFIED"
  done
  verify "$TMP/xadesjs-epes.xml"
  assert_eq "xadesjs epes: la política v4.4 con su hash está bien" ok "$(field politica severidad)"
  verify "$TMP/xadesjs-bes.xml"
  assert_eq "xadesjs bes: sin política es una advertencia" advertencia "$(field politica severidad)"
  verify "$TMP/xadesjs-bes.xml" --estricto
  assert_rc "xadesjs bes con --estricto: la advertencia la rechaza" 1
}

# FirmaXadesNet / .NET: inclusive C14N, three references (KeyInfo too),
# RSAKeyValue, " />".
test_net() {
  need_xmlsec1
  taxpayer_pki
  style_case net net --signing-time "$(soon_cr)"
  verify "$TMP/net.xml"
  assert_eq "net: la referencia a KeyInfo se informa por sí sola" True "$(field referencia ok)"
  assert_contains "net: nombra la referencia a KeyInfo" "$(field referencia motivo)" "ReferenceKeyInfo"
  assert_contains "net: y su algoritmo" "$(field referencia motivo)" "SHA-256"
  verify "$TMP/net-cambiado.xml"
  assert_contains "net cambiado: KeyInfo no cambió" "$(field referencia_documento motivo)" "no cambió: KeyInfo y SignedProperties."
  assert_eq "net cambiado: solo falla la referencia al documento" '["referencia_documento"]' \
    "$(json_eval "$VJSON" "[c['nombre'] for c in d['verificaciones'] if not c['ok'] and c['realizada']]")"

  section "un byte de KeyInfo cambiado: falla esa referencia y se nombra"
  python3 - "$TMP/net.xml" "$TMP/net-keyinfo.xml" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
changed = re.sub(r"(<ds:Exponent>\s*)AQAB", r"\1AQAC", t, count=1)
assert changed != t
open(sys.argv[2], "w").write(changed)
PY
  verify "$TMP/net-keyinfo.xml"
  assert_rc "KeyInfo cambiado: verificar lo rechaza" 1
  assert_eq "KeyInfo cambiado: la referencia a KeyInfo falla" False "$(field referencia ok)"
  assert_contains "KeyInfo cambiado: el motivo nombra la referencia" "$(field referencia motivo)" "ReferenceKeyInfo"
  assert_eq "KeyInfo cambiado: el documento no se dice modificado" True "$(field referencia_documento ok)"
  assert_not_contains "KeyInfo cambiado: ningún motivo dice que el XML cambió" "$VJSON" "$MODIFIED"
}

# Java (xades4j, javax.xml.crypto): exclusive C14N, CRLF, &#13; in base64.
test_java() {
  need_xmlsec1
  taxpayer_pki
  style_case java java --signing-time "$(soon_cr)"
  assert_contains "java: la firma tiene &#13; en sus valores base64" "$(cat "$TMP/java.xml")" "&#13;"
  assert_eq "java: fines de línea CRLF" 1 "$(grep -c $'standalone="no"?>\r$' "$TMP/java.xml")"
  verify "$TMP/java.xml"
  assert_eq "java: la política v4.3 es una advertencia (su hash no se puede confirmar)" advertencia \
    "$(field politica severidad)"
}

# EU DSS: the XPath filter, SHA-1 CertDigest, XAdES-BES, SigningTime in UTC.
test_dss() {
  need_xmlsec1
  taxpayer_pki
  style_case dss dss --signing-time "$(soon_utc_millis)"
  verify "$TMP/dss.xml"
  assert_eq "dss: el CertDigest SHA-1 identifica al firmante" True "$(field certificado_firmante ok)"
  assert_eq "dss: sin política (XAdES-BES) es una advertencia" advertencia "$(field politica severidad)"

  section "solo not(ancestor-or-self::ds:Signature), con ds de XML-DSig"
  local expr
  for expr in "not(ancestor-or-self::ds:Signature) or true()" "ancestor-or-self::ds:Signature" "true()"; do
    python3 - "$TMP/dss.xml" "$TMP/dss-xpath.xml" "$expr" <<'PY'
import sys
t = open(sys.argv[1]).read()
old = "not(ancestor-or-self::ds:Signature)</ds:XPath>"
open(sys.argv[2], "w").write(t.replace(old, sys.argv[3] + "</ds:XPath>", 1))
PY
    verify "$TMP/dss-xpath.xml"
    assert_rc "XPath \"$expr\": rechazado" 1
    assert_contains "XPath \"$expr\": el motivo" "$(field firma_unica motivo)" "XPath no permitida"
  done
  python3 - "$TMP/dss.xml" "$TMP/dss-prefijo.xml" <<'PY'
import sys
t = open(sys.argv[1]).read()
t = t.replace("<ds:XPath>", '<ds:XPath xmlns:ds="urn:otro">', 1)
open(sys.argv[2], "w").write(t)
PY
  verify "$TMP/dss-prefijo.xml"
  assert_rc "XPath con ds de otro espacio de nombres: rechazado" 1
}

# SHA-1, SHA-384, SHA-512 everywhere; RSA-SHA1 is an advertencia; a
# SigningTime with -07:00.
test_digestos() {
  need_xmlsec1
  taxpayer_pki
  local d
  for d in sha384 sha512; do
    style_case "$d" "$d" --signing-time "$(soon_cr)"
    verify "$TMP/$d.xml"
    assert_eq "$d: algoritmos sin advertencia" ok "$(field algoritmos severidad)"
  done
  style_case sha1 sha1 --signing-time "$(soon_minus7)"
  verify "$TMP/sha1.xml"
  assert_eq "sha1: RSA-SHA1 es una advertencia" advertencia "$(field algoritmos severidad)"
  assert_contains "sha1: la advertencia nombra el algoritmo" "$(field algoritmos motivo)" "RSA-SHA1"
  assert_eq "sha1: la fecha -07:00 se entiende" True "$(field vigencia ok)"
  verify "$TMP/sha1.xml" --estricto
  assert_rc "sha1 con --estricto: rechazada" 1
  assert_eq "sha1 con --estricto: algoritmos falla" error "$(field algoritmos severidad)"
}

# Every policy case of issue 9, with and without --estricto.
test_politica() {
  need_xmlsec1
  taxpayer_pki
  local v44="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf"
  local v44b="https://cdn.comprobanteselectronicos.go.cr/xmlschemas/Resoluci%C3%B3n_General_sobre_disposiciones_t%C3%A9cnicas_comprobantes_electr%C3%B3nicos_para_efectos_tributarios.pdf"
  local v41="https://tribunet.hacienda.go.cr/docs/esquemas/2016/v4.1/Resolucion_Comprobantes_Electronicos_DGT-R-48-2016.pdf"
  local sha256=http://www.w3.org/2001/04/xmlenc#sha256
  local hex_b64 sha1_b64
  hex_b64=$(printf '%s' 0d6c629f5c5639e23c3ae5905dace1e158cb5806822c003de787a6ec3321d21f | base64 -w0)
  sha1_b64=$(printf 'documento' | openssl dgst -sha1 -binary | base64)
  # name | severity | expected words | plantilla options
  local cases=(
    "v44|ok|versión 4.4|--policy-id $v44"
    "v44_xmlschemas|ok|versión 4.4|--policy-id $v44b"
    "hash_hex|advertencia|texto hexadecimal|--policy-id $v44 --policy-hash $hex_b64"
    "sha1_como_sha256|advertencia|20 bytes|--policy-id $v44 --policy-hash $sha1_b64 --policy-alg $sha256"
    "v41|advertencia|versión 4.1|--policy-id $v41 --policy-hash NmI5Njk1ZThk"
    "desconocida|advertencia|no es una de las que Hacienda publicó|--policy-id https://example.com/politica.pdf"
    "sin_politica|advertencia|XAdES-BES|--no-policy"
  )
  local c name sev words opts
  for c in "${cases[@]}"; do
    IFS='|' read -r name sev words opts <<<"$c"
    section "política: $name"
    # shellcheck disable=SC2086 # opts are words
    xmlsec_sign net "$EXAMPLES/factura-electronica.xml" "$TMP/$name.xml" --signing-time "$(soon_cr)" $opts
    verify "$TMP/$name.xml"
    assert_rc "$name: verificar la acepta" 0
    assert_eq "$name: severidad de la política" "$sev" "$(field politica severidad)"
    assert_contains "$name: el motivo" "$(field politica motivo)" "$words"
    verify "$TMP/$name.xml" --estricto
    if [[ $sev == ok ]]; then
      assert_rc "$name con --estricto: aceptada" 0
    else
      assert_rc "$name con --estricto: rechazada" 1
      assert_eq "$name con --estricto: la política falla" error "$(field politica severidad)"
      assert_eq "$name con --estricto: solo por la política" '["politica"]' \
        "$(json_eval "$VJSON" "[c['nombre'] for c in d['verificaciones'] if not c['ok'] and c['realizada']]")"
    fi
  done
  run "$LLAVERO" verificar --entrada "$TMP/desconocida.xml" --confianza "$TMP/raiz"
  assert_contains "texto: la advertencia se muestra" "$OUT" "! Política de firma:"
  assert_contains "texto: válida con advertencia" "$OUT" "La firma es válida, con 1 advertencia"
}

# A MensajeHacienda sealed as Hacienda seals it (DSS style) with a "sello
# electrónico" of a test national PKI in three levels.
test_mensaje_hacienda() {
  need_xmlsec1
  ca raiz_nacional "/C=CR/O=MICITT/OU=DCFD/CN=CA RAIZ NACIONAL - COSTA RICA v2 (PRUEBA)"
  ca politica "/C=CR/O=MICITT/OU=DCFD/CN=CA POLITICA PERSONA JURIDICA - COSTA RICA v2 (PRUEBA)" raiz_nacional
  ca sinpe "/C=CR/O=BANCO CENTRAL DE COSTA RICA/CN=CA SINPE - PERSONA JURIDICA v2 (PRUEBA)" politica
  leaf sello "/C=CR/O=PERSONA JURIDICA/CN=MINISTERIO DE HACIENDA (SELLO ELECTRONICO)/serialNumber=CPJ-2-100-042005" sinpe
  cat >"$TMP/mh.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<MensajeHacienda xmlns="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/mensajeHacienda">
  <Clave>50626112600010647095800100001010000000001148213765</Clave>
  <NombreEmisor>CONTRIBUYENTE PENA DE PRUEBA</NombreEmisor>
  <TipoIdentificacionEmisor>01</TipoIdentificacionEmisor>
  <NumeroCedulaEmisor>106470958</NumeroCedulaEmisor>
  <Mensaje>1</Mensaje>
  <DetalleMensaje>Aceptado</DetalleMensaje>
  <TotalFactura>282500.00000</TotalFactura>
</MensajeHacienda>
EOF
  python3 "$PLANTILLA" dss "$TMP/mh.xml" "$TMP/pki/sello.pem" "$TMP/pki/sinpe.pem" "$TMP/pki/politica.pem" \
    --signing-time "$(soon_utc_millis)" >"$TMP/mh.plantilla"
  run xmlsec1 --sign --privkey-pem "$TMP/pki/sello.key" --enabled-key-data x509 \
    --output "$TMP/mh-firmado.xml" "$TMP/mh.plantilla"
  assert_rc "xmlsec1 sella el MensajeHacienda" 0

  mkdir -p "$TMP/raiz_nacional" "$TMP/solo_hoja" "$TMP/otra"
  cp "$TMP/pki/raiz_nacional.pem" "$TMP/raiz_nacional/"
  cp "$TMP/pki/sello.pem" "$TMP/solo_hoja/"
  cp "$TMP/pki/politica.pem" "$TMP/otra/emisora.crt"
  local dir
  for dir in raiz_nacional solo_hoja otra; do
    run "$LLAVERO" verificar --entrada "$TMP/mh-firmado.xml" --confianza "$TMP/$dir" --json
    VJSON=$OUT
    assert_rc "MensajeHacienda con --confianza $dir: válido" 0
    assert_eq "MensajeHacienda ($dir): cadena" True "$(field cadena ok)"
    assert_eq "MensajeHacienda ($dir): la revocación no se pudo consultar y se dice" False \
      "$(field revocacion realizada)"
    assert_contains "MensajeHacienda ($dir): con su motivo" "$(field revocacion motivo)" "No se"
  done
  run "$LLAVERO" verificar --entrada "$TMP/mh-firmado.xml" --confianza "$TMP/solo_hoja" --json
  VJSON=$OUT
  assert_contains "con la hoja sola, se dice que se confió en ella" "$(field cadena motivo)" \
    "es él mismo un certificado de confianza"

  section "otra raíz: la cadena falla"
  mkdir -p "$TMP/ajena"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/ajena.key" -out "$TMP/ajena/raiz.pem" \
    -subj "/CN=OTRA RAIZ" -days 5 2>/dev/null
  run "$LLAVERO" verificar --entrada "$TMP/mh-firmado.xml" --confianza "$TMP/ajena" --json
  VJSON=$OUT
  assert_rc "con una raíz ajena: rechazado" 1
  assert_eq "con una raíz ajena: la cadena falla" False "$(field cadena ok)"

  section "un byte cambiado"
  change_one_byte "$TMP/mh-firmado.xml" "$TMP/mh-cambiado.xml" ">Aceptado<" ">Aceptade<"
  run "$LLAVERO" verificar --entrada "$TMP/mh-cambiado.xml" --confianza "$TMP/raiz_nacional" --json
  VJSON=$OUT
  assert_rc "MensajeHacienda cambiado: rechazado" 1
  assert_contains "MensajeHacienda cambiado: el motivo" "$(field referencia_documento motivo)" "$MODIFIED"

  section "la raíz en la carpeta confianza/ del directorio de datos"
  init_template
  fresh_data_dir "$TMP/datos"
  run llv "$TMP/datos" verificar --entrada "$TMP/mh-firmado.xml" --json
  assert_rc "sin la raíz en confianza/: rechazado" 1
  assert_exists "llavero init crea la carpeta confianza/" "$TMP/datos/confianza"
  cp "$TMP/pki/raiz_nacional.pem" "$TMP/datos/confianza/"
  run llv "$TMP/datos" verificar --entrada "$TMP/mh-firmado.xml" --json
  VJSON=$OUT
  assert_rc "con la raíz en confianza/: válido" 0
  assert_eq "con la raíz en confianza/: cadena" True "$(field cadena ok)"

  section "un error se escribe una vez"
  run "$LLAVERO" --data "$TMP/no-existe" verificar --entrada "$TMP/mh-firmado.xml"
  assert_rc "sin directorio de datos: error" 1
  assert_eq "el motivo nombra el directorio una sola vez" 1 \
    "$(grep -o "$TMP/no-existe no es un directorio de datos" <<<"$ERR" | wc -l)"
}

run_sections
