#!/usr/bin/env bash
# Interoperability of what `llavero` produces, judged only by independent
# tools: openssl (3.x, without -legacy), Java keytool, python3, date.
#   bash tests/cli/cli_interop.sh build/llavero
# docs/certificates.md (certificate profile) and docs/p12.md (the .p12 file).
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"

require_tools openssl keytool python3 sqlite3

# name_types DER N : "attribute TYPE" of each attribute of the Nth field of
# tbsCertificate (4 = issuer, 6 = subject), in DER order.
name_types() {
  openssl asn1parse -inform DER -in "$1" | awk -v want="$2" '
    /:d=2 / { n++ }
    n == want && /:d=5 / {
      if ($0 ~ /prim: OBJECT/) { obj = $0; sub(/.*:/, "", obj) }
      else { t = $0; sub(/.*prim: */, "", t); sub(/ .*/, "", t); print obj, t }
    }'
}
# rdn_count DER N : number of RDNs (SETs) of that name.
rdn_count() {
  openssl asn1parse -inform DER -in "$1" | awk -v want="$2" '/:d=2 / { n++ } n == want && /:d=3 / && /SET/ { c++ } END { print c + 0 }'
}
# extension_names DER : the extension OIDs, sorted.
extension_names() {
  openssl asn1parse -inform DER -in "$1" | awk '/:d=2 / { n++ } n == 8 && /:d=5 / && /prim: OBJECT/ { o = $0; sub(/.*:/, "", o); print o }' | sort
}
# asn1_serial DER : the serial INTEGER as asn1parse shows it.
asn1_serial() {
  openssl asn1parse -inform DER -in "$1" | awk '/:d=2 / { n++ } n == 2 { v = $0; sub(/.*INTEGER *:/, "", v); print v; exit }'
}
# text_after TEXT HEADER : the line that follows the line containing HEADER.
text_after() {
  printf '%s\n' "$1" | grep -aF -A1 -- "$2" | sed -n 2p | sed 's/^ *//; s/ *$//'
}
# epoch "Nov 27 00:07:12 2026 GMT" -> seconds
epoch() { date -u -d "$1" +%s; }

# check_p12 P12 PROFILE [LABEL] : docs/p12.md on one file.
check_p12() {
  local p12=$1 profile=$2 label="${3:-$2}" info
  section ".p12 $label: $p12"
  info=$(openssl pkcs12 -info -noout -passin pass:1234 -in "$p12" 2>&1)
  assert_eq "$label: openssl pkcs12 -info (sin -legacy) abre el .p12 con el PIN" 0 $?
  assert_not_contains "$label: nunca RC2" "$info" "RC2"
  assert_match "$label: hay bolsa de llave cifrada" "$info" "^Shrouded Keybag: "
  assert_match "$label: los certificados van cifrados" "$info" "^PKCS7 Encrypted data: "
  assert_eq "$label: tres certificados (titular, CA emisora, raíz)" 3 \
    "$(grep -c '^Certificate bag' <<<"$info")"
  assert_match "$label: iteraciones 100000" "$info" "Iteration 100000"
  assert_eq "$label: todas las iteraciones (MAC, llave, certificados) son 100000" "Iteration 100000" \
    "$(grep -o 'Iteration [0-9]*' <<<"$info" | sort -u)"
  if [[ $profile == compatible ]]; then
    assert_match "$label: llave con pbeWithSHA1And3-KeyTripleDES-CBC" "$info" \
      "^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 100000"
    assert_match "$label: certificados con pbeWithSHA1And3-KeyTripleDES-CBC" "$info" \
      "^PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 100000"
    assert_match "$label: MAC SHA-1" "$info" "^MAC: sha1, Iteration 100000"
    assert_not_contains "$label: sin PBES2" "$info" "PBES2"
  else
    assert_match "$label: llave con PBES2/PBKDF2/AES-256-CBC/HMAC-SHA256" "$info" \
      "^Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256"
    assert_match "$label: certificados con PBES2/PBKDF2/AES-256-CBC/HMAC-SHA256" "$info" \
      "^PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256"
    assert_match "$label: MAC SHA-256" "$info" "^MAC: sha256, Iteration 100000"
    assert_not_contains "$label: sin 3DES" "$info" "TripleDES"
  fi
  assert_fails "$label: un PIN equivocado no abre el .p12" \
    openssl pkcs12 -info -noout -passin pass:1235 -in "$p12"
  assert_fails "$label: un PIN vacío no abre el .p12" \
    openssl pkcs12 -info -noout -passin pass: -in "$p12"

  # friendlyName and localKeyId on the certificate and the key, the same keyId.
  local certbag keybag
  certbag=$(openssl pkcs12 -in "$p12" -passin pass:1234 -nokeys -clcerts 2>/dev/null)
  keybag=$(openssl pkcs12 -in "$p12" -passin pass:1234 -nocerts -nodes 2>/dev/null)
  assert_match "$label: el certificado lleva friendlyName" "$certbag" "^ +friendlyName: .+"
  assert_match "$label: el certificado lleva localKeyID" "$certbag" "^ +localKeyID: [0-9A-F ]+"
  assert_match "$label: la llave lleva localKeyID" "$keybag" "^ +localKeyID: [0-9A-F ]+"
  assert_same "$label: mismo localKeyID en llave y certificado" \
    "$(grep -a localKeyID <<<"$certbag")" "$(grep -a localKeyID <<<"$keybag")"
  # The key is the certificate's key.
  assert_same "$label: la llave privada corresponde al certificado" \
    "$(openssl x509 -noout -pubkey <<<"$certbag" | digest)" \
    "$(openssl pkey -pubout <<<"$keybag" 2>/dev/null | digest)"
  local keytext
  keytext=$(openssl pkey -noout -text <<<"$keybag" 2>/dev/null)
  assert_contains "$label: llave RSA de 2048 bits" "$keytext" "Private-Key: (2048 bit, 2 primes)"

  # Java
  local kt
  kt=$(keytool -list -v -storetype PKCS12 -storepass 1234 -keystore "$p12" 2>&1)
  assert_eq "$label: keytool -list abre el .p12" 0 $?
  assert_contains "$label: keytool ve una sola entrada" "$kt" "Your keystore contains 1 entry"
  assert_eq "$label: keytool: exactamente una PrivateKeyEntry" 1 \
    "$(grep -c '^Entry type: PrivateKeyEntry' <<<"$kt")"
  assert_eq "$label: keytool: cadena de 3" "Certificate chain length: 3" \
    "$(grep -a '^Certificate chain length' <<<"$kt")"
  assert_fails "$label: keytool rechaza un PIN equivocado" \
    keytool -list -storetype PKCS12 -storepass 9999 -keystore "$p12"
}

# check_cert PEM KIND ENV DATA : docs/certificates.md on one taxpayer certificate.
#   KIND fisica|juridica, ENV pruebas|produccion
check_cert() {
  local pem=$1 kind=$2 env=$3 data=$4 der text
  der=${pem%.pem}.der
  openssl x509 -in "$pem" -outform DER -out "$der"
  text=$(openssl x509 -in "$pem" -noout -text)
  local ca=pf seg=stag sandbox=" - SANDBOX" org="MINISTERIO DE HACIENDA - SANDBOX"
  [[ $kind == juridica ]] && ca=pj
  [[ $env == produccion ]] && { seg=prod; sandbox=""; org="MINISTERIO DE HACIENDA"; }
  local ca_cn="CA PERSONA FISICA$sandbox"
  [[ $kind == juridica ]] && ca_cn="CA PERSONA JURIDICA$sandbox"
  section "certificado $kind $env: $pem"

  # Chain
  run openssl verify -CAfile "$data/ca/$env/root.pem" -untrusted "$data/ca/$env/$ca.pem" "$pem"
  assert_rc "openssl verify contra la raíz y la CA $ca de $env" 0
  assert_eq "openssl verify dice OK" "$pem: OK" "$OUT"
  run openssl verify -x509_strict -purpose smimesign -CAfile "$data/ca/$env/root.pem" \
    -untrusted "$data/ca/$env/$ca.pem" "$pem"
  assert_rc "openssl verify -x509_strict -purpose smimesign" 0
  local other=produccion
  [[ $env == produccion ]] && other=pruebas
  assert_fails "el certificado de $env no verifica con la jerarquía de $other" \
    openssl verify -CAfile "$data/ca/$other/root.pem" -untrusted "$data/ca/$other/$ca.pem" "$pem"
  assert_fails "ni con la raíz de $other y la CA emisora de $env" \
    openssl verify -CAfile "$data/ca/$other/root.pem" -untrusted "$data/ca/$env/$ca.pem" "$pem"
  local wrong=pj
  [[ $ca == pj ]] && wrong=pf
  assert_fails "no lo emitió la CA $wrong" \
    openssl verify -CAfile "$data/ca/$env/root.pem" -untrusted "$data/ca/$env/$wrong.pem" "$pem"

  # Issuer: CA names encoded C, O, OU, CN
  assert_eq "emisor ($env, $kind)" "issuer=CN=$ca_cn,OU=DGT,O=$org,C=CR" \
    "$(openssl x509 -in "$pem" -noout -issuer -nameopt RFC2253,-esc_msb)"
  assert_eq "emisor: orden DER C, O, OU, CN y tipos" \
    "countryName PRINTABLESTRING
organizationName UTF8STRING
organizationalUnitName UTF8STRING
commonName UTF8STRING" "$(name_types "$der" 4)"
  assert_same "emisor idéntico al sujeto del certificado de la CA $ca" \
    "$(openssl x509 -in "$data/ca/$env/$ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" \
    "$(openssl x509 -in "$pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')"
  if [[ $env == produccion ]]; then
    assert_not_contains "producción: nada dice SANDBOX" "$text" "SANDBOX"
  fi

  # Subject
  local subject
  subject=$(openssl x509 -in "$pem" -noout -subject -nameopt RFC2253,-esc_msb)
  if [[ $kind == fisica ]]; then
    assert_eq "sujeto de la persona física (RFC 2253, orden inverso)" \
      "subject=CN=CONTRIBUYENTE PEÑA DE PRUEBA,OU=CPF,O=PERSONA FISICA,C=CR,GN=CONTRIBUYENTE,SN=PEÑA DE PRUEBA,serialNumber=CPF-01-0647-0958" \
      "$subject"
    assert_eq "sujeto de la persona física: orden DER y tipos de cadena" \
      "serialNumber PRINTABLESTRING
surname UTF8STRING
givenName UTF8STRING
countryName PRINTABLESTRING
organizationName UTF8STRING
organizationalUnitName UTF8STRING
commonName UTF8STRING" "$(name_types "$der" 6)"
    assert_eq "sujeto: 7 RDN de un atributo cada uno" 7 "$(rdn_count "$der" 6)"
  else
    assert_eq "sujeto de la persona jurídica (RFC 2253, orden inverso)" \
      "subject=CN=EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA,OU=CPJ,O=PERSONA JURIDICA,C=CR,serialNumber=CPJ-3-101-522899" \
      "$subject"
    assert_eq "sujeto de la persona jurídica: orden DER y tipos (sin SN ni GN)" \
      "serialNumber PRINTABLESTRING
countryName PRINTABLESTRING
organizationName UTF8STRING
organizationalUnitName UTF8STRING
commonName UTF8STRING" "$(name_types "$der" 6)"
    assert_eq "sujeto: 5 RDN de un atributo cada uno" 5 "$(rdn_count "$der" 6)"
  fi
  # "Ñ" is real UTF-8 (C3 91) in the DER, never Latin-1 or a T61 escape.
  assert_eq "la Ñ está en UTF-8 en el DER" yes \
    "$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print("yes" if b"PE\xc3\x91A" in d and b"PE\xd1A" not in d else "no")' "$der")"
  local pasn
  pasn=$(openssl asn1parse -inform DER -in "$der")
  assert_match "asn1parse muestra PEÑA como UTF8STRING" "$pasn" "UTF8STRING +:.*PEÑA DE PRUEBA"

  # Key, signature, version
  assert_contains "versión 3" "$text" "Version: 3 (0x2)"
  assert_contains "llave RSA 2048" "$text" "Public-Key: (2048 bit)"
  assert_contains "exponente 65537" "$text" "Exponent: 65537 (0x10001)"
  assert_eq "firmado con sha256WithRSAEncryption (TBS y certificado)" 2 \
    "$(grep -c 'Signature Algorithm: sha256WithRSAEncryption' <<<"$text")"

  # Serial: >= 64 bits, positive
  local serial aserial
  serial=$(openssl x509 -in "$pem" -noout -serial | sed 's/^serial=//')
  assert_match "serie en hexadecimal, sin signo" "$serial" "^[0-9A-F]+$"
  assert_ge "serie de al menos 64 bits (16 cifras hex)" 16 "${#serial}"
  aserial=$(asn1_serial "$der")
  assert_match "serie DER positiva (asn1parse sin signo menos)" "$aserial" "^[0-9A-F]+$"
  assert_no_match "serie no nula" "$aserial" "^0+$"

  # Validity: notBefore = issuance second, notAfter = notBefore + 4 years - 1 day
  local nb na nb_e na_e expected_e
  nb=$(openssl x509 -in "$pem" -noout -startdate | sed 's/^notBefore=//')
  na=$(openssl x509 -in "$pem" -noout -enddate | sed 's/^notAfter=//')
  nb_e=$(epoch "$nb")
  na_e=$(epoch "$na")
  expected_e=$(date -u -d "$(date -u -d "$(date -u -d "@$nb_e" +%F) +4 years -1 day" +%F) $(date -u -d "@$nb_e" +%T)" +%s)
  assert_eq "notAfter = notBefore + 4 años - 1 día (notBefore $nb)" \
    "$(date -u -d "@$expected_e")" "$(date -u -d "@$na_e")"
  local now
  now=$(date +%s)
  if ((nb_e >= SCRIPT_START - 5 && nb_e <= now + 5)); then pass; else
    fail "notBefore es el segundo de la emisión" "entre $(date -u -d "@$SCRIPT_START") y ahora" "$nb"
  fi

  # Extensions: exactly these
  local exts="Authority Information Access
X509v3 Authority Key Identifier
X509v3 CRL Distribution Points
X509v3 Extended Key Usage
X509v3 Key Usage
X509v3 Subject Key Identifier"
  assert_eq "exactamente las extensiones AKI, SKI, KU, EKU, CRL DP, AIA" "$exts" "$(extension_names "$der")"
  assert_contains "Key Usage crítica" "$text" "X509v3 Key Usage: critical"
  assert_eq "Key Usage = Digital Signature, Non Repudiation" "Digital Signature, Non Repudiation" \
    "$(text_after "$text" "X509v3 Key Usage")"
  assert_eq "Extended Key Usage = E-mail Protection" "E-mail Protection" \
    "$(text_after "$text" "X509v3 Extended Key Usage")"
  assert_no_match "EKU no crítica" "$text" "Extended Key Usage: critical"
  assert_match "AIA caIssuers .../$seg/intermediate-$ca-pem.crt" "$text" \
    "CA Issuers - URI:https?://[^ ]+/$seg/intermediate-$ca-pem\.crt$"
  assert_match "AIA con URL OCSP" "$text" "OCSP - URI:https?://[^ ]+"
  assert_match "CRL Distribution Point con URI" "$(text_after "$text" "Full Name:")" "^URI:https?://[^ ]+"
  assert_same "AKI = SKI de la CA $ca" \
    "$(openssl x509 -in "$data/ca/$env/$ca.pem" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' ')" \
    "$(openssl x509 -in "$pem" -noout -ext authorityKeyIdentifier | sed -n 2p | tr -d ' ' | sed 's/^keyid://')"
  assert_same "SKI = SHA-1 de la llave pública (RFC 5280 método 1)" \
    "$(openssl x509 -in "$pem" -noout -pubkey | openssl pkey -pubin -outform DER |
      openssl asn1parse -inform DER -strparse 19 -noout -out /dev/stdout 2>/dev/null | digest sha1)" \
    "$(openssl x509 -in "$pem" -noout -ext subjectKeyIdentifier | sed -n 2p | tr -d ' :' | tr A-F a-f)"
}

# --- data ---------------------------------------------------------------------------
section "preparación"
init_template
DATA=$TMP/data
fresh_data_dir "$DATA"
create_demo_taxpayers "$DATA"

declare -A P12S
for profile in compatible moderno; do
  generate "$DATA" 106470958 pruebas "$TMP/out-$profile" --perfil "$profile"
  assert_rc "llave generar --perfil $profile (pruebas)" 0
  assert_eq "generar imprime la ruta del .p12 ($profile)" "$TMP/out-$profile/$FISICA_P12" "$P12"
  assert_exists "el .p12 $profile existe" "$TMP/out-$profile/$FISICA_P12"
  assert_eq "el .p12 es el único archivo de la salida ($profile)" "./$FISICA_P12" \
    "$(cd "$TMP/out-$profile" && find . -type f)"
  assert_eq "el .p12 solo lo lee su dueño (0600)" 600 "$(stat -c %a "$TMP/out-$profile/$FISICA_P12" 2>&1)"
  P12S[$profile]=$TMP/out-$profile/$FISICA_P12
done
generate "$DATA" 3101522899 produccion "$TMP/out-pj"
assert_rc "llave generar para la jurídica en producción (perfil por omisión)" 0
assert_eq "nombre del .p12 de la jurídica" "$TMP/out-pj/$JURIDICA_P12" "$P12"
P12S[juridica]=$TMP/out-pj/$JURIDICA_P12

section "nombre del archivo (ISO 7064 MOD 97-10)"
for n in 0106470958 3101522899; do
  digits=$(python3 -c 'import sys; print("%02d" % (98 - int(sys.argv[1] + "00") % 97))' "$n")
  case $n in 0106470958) want=$FISICA_P12 ;; *) want=$JURIDICA_P12 ;; esac
  assert_eq "dígitos verificadores de $n" "$n$digits.p12" "$want"
done

# --- .p12 ------------------------------------------------------------------------------
check_p12 "${P12S[compatible]}" compatible "física, compatible"
check_p12 "${P12S[moderno]}" moderno "física, moderno"
check_p12 "${P12S[juridica]}" compatible "jurídica, compatible"

# The chain inside the file is the issuing CA and the root of the environment.
section "cadena dentro del .p12"
chain_fps() { # P12 : fingerprints of the CA certificates inside
  local dir
  dir=$(mktemp -d "$TMP/chain.XXXXXX")
  openssl pkcs12 -in "$1" -passin pass:1234 -nokeys -cacerts 2>/dev/null |
    awk -v dir="$dir" '/BEGIN CERT/{n++; f=1} f{print > (dir "/c" n ".pem")} /END CERT/{f=0}'
  for c in "$dir"/c*.pem; do openssl x509 -in "$c" -noout -fingerprint -sha256; done | sort
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
assert_same "la cadena del .p12 de pruebas es pf + raíz de pruebas" \
  "$( (fp "$DATA/ca/pruebas/pf.pem"; fp "$DATA/ca/pruebas/root.pem") | sort)" "$(chain_fps "${P12S[moderno]}")"
assert_same "la cadena del .p12 de la jurídica es pj + raíz de producción" \
  "$( (fp "$DATA/ca/produccion/pj.pem"; fp "$DATA/ca/produccion/root.pem") | sort)" "$(chain_fps "${P12S[juridica]}")"

# --- certificates ---------------------------------------------------------------------------
for profile in compatible moderno; do
  cert_of "${P12S[$profile]}" >"$TMP/fisica-$profile.pem"
done
cert_of "${P12S[juridica]}" >"$TMP/juridica.pem"
check_cert "$TMP/fisica-compatible.pem" fisica pruebas "$DATA"
check_cert "$TMP/juridica.pem" juridica produccion "$DATA"

section "otros"
assert_ok "el certificado del .p12 moderno verifica con la jerarquía de pruebas" \
  openssl verify -CAfile "$DATA/ca/pruebas/root.pem" -untrusted "$DATA/ca/pruebas/pf.pem" "$TMP/fisica-moderno.pem"
s1=$(serial_of "${P12S[compatible]}")
s2=$(serial_of "${P12S[moderno]}")
s3=$(serial_of "${P12S[juridica]}")
assert_eq "tres series distintas" 3 "$(printf '%s\n' "$s1" "$s2" "$s3" | sort -u | grep -c .)"
run llv "$DATA" llave estado --id "$FISICA_ID" --ambiente pruebas --json
assert_rc "llave estado --json" 0
assert_eq "la serie activa que informa llave estado es la del último .p12" activa "$(key_field "$OUT" "$s2" estado)"
assert_same "la fecha de inicio que informa llave estado es la del certificado" \
  "$(date -u -d "$(openssl x509 -in "$TMP/fisica-moderno.pem" -noout -startdate | sed 's/^notBefore=//')" +%FT%TZ)" \
  "$(key_field "$OUT" "$s2" valida_desde)"
assert_same "la fecha de fin que informa llave estado es la del certificado" \
  "$(date -u -d "$(openssl x509 -in "$TMP/fisica-moderno.pem" -noout -enddate | sed 's/^notAfter=//')" +%FT%TZ)" \
  "$(key_field "$OUT" "$s2" valida_hasta)"
assert_same "el certificado guardado en la base es el del .p12" \
  "$(openssl x509 -in "$TMP/fisica-moderno.pem" -outform DER | digest)" \
  "$(sql "$DATA" "select $(sql_hex certificate_der) from certificates where status='active' and environment='pruebas'" |
    python3 -c 'import sys, binascii; sys.stdout.buffer.write(binascii.unhexlify(sys.stdin.read().strip()))' | digest)"
# The física's produccion chain does not verify a pruebas certificate even with both CA sets
# given as untrusted intermediates: only the root decides.
assert_fails "un certificado de pruebas no verifica con la raíz de producción aunque se dé la CA de pruebas" \
  openssl verify -CAfile "$DATA/ca/produccion/root.pem" -untrusted "$DATA/ca/pruebas/pf.pem" \
  "$TMP/fisica-moderno.pem"

# --- strict profile -------------------------------------------------------------------------
section "perfil_certificado = strict"
STRICT=$TMP/strict
cp -a "$DATA" "$STRICT"
sed -i 's/^perfil_certificado *=.*/perfil_certificado = strict/' "$STRICT/llavero.conf"
assert_eq "llavero.conf dice strict" "perfil_certificado = strict" \
  "$(grep '^perfil_certificado' "$STRICT/llavero.conf")"
generate "$STRICT" "$FISICA_ID" pruebas "$TMP/out-strict"
assert_rc "llave generar con el perfil strict" 0
cert_of "$TMP/out-strict/$FISICA_P12" >"$TMP/strict.pem"
openssl x509 -in "$TMP/strict.pem" -outform DER -out "$TMP/strict.der"
stext=$(openssl x509 -in "$TMP/strict.pem" -noout -text)
assert_eq "strict: exactamente AKI, SKI, KU, EKU, AIA" "Authority Information Access
X509v3 Authority Key Identifier
X509v3 Extended Key Usage
X509v3 Key Usage
X509v3 Subject Key Identifier" "$(extension_names "$TMP/strict.der")"
assert_not_contains "strict: sin CRL Distribution Point" "$stext" "CRL Distribution"
assert_not_contains "strict: sin URL OCSP" "$stext" "OCSP"
assert_match "strict: conserva caIssuers" "$stext" "CA Issuers - URI:https?://[^ ]+/stag/intermediate-pf-pem\.crt$"
assert_ok "strict: verifica con la jerarquía de pruebas" \
  openssl verify -CAfile "$STRICT/ca/pruebas/root.pem" -untrusted "$STRICT/ca/pruebas/pf.pem" "$TMP/strict.pem"
assert_ok "strict: keytool lo abre" keytool -list -storetype PKCS12 -storepass 1234 \
  -keystore "$TMP/out-strict/$FISICA_P12"

finish
