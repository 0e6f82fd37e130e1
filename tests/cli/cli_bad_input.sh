#!/usr/bin/env bash
# Bad input to `llavero` (issue part 7;
# docs/product.md#bad-input-faults-and-scale): every case must exit with
# status 1, print a clear Spanish message on stderr, and change nothing: the
# database content, the files of the data directory, the audit verification
# and the output directory (which must not even be created) are compared
# before and after.
#   bash tests/cli/cli_bad_input.sh build/llavero
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"

require_tools sqlite3 sha256sum

CASE=0
SNAP=""  # the data directory (or path) whose state a case must not change

# bad DESC MESSAGE INPUT CMD... : runs CMD with INPUT on stdin (printf %b;
# the word NOSTDIN for /dev/null) and checks status 1, MESSAGE (a fixed
# string) on stderr, nothing on stdout, $SNAP unchanged, and the output
# directory, written @OUT@ in CMD, not created.
bad() {
  local desc=$1 msg=$2 input=$3
  shift 3
  CASE=$((CASE + 1))
  local out=$TMP/out-$CASE args=() a before after
  for a in "$@"; do args+=("${a//@OUT@/$out}"); done
  before=$(data_snapshot "$SNAP")
  if [[ $input == NOSTDIN ]]; then run "${args[@]}"; else run_input "$input" "${args[@]}"; fi
  assert_rc "$desc: estado 1" 1
  assert_contains "$desc: mensaje" "$ERR" "$msg"
  assert_eq "$desc: nada en stdout" "" "$OUT"
  after=$(data_snapshot "$SNAP")
  assert_same "$desc: nada cambió en $(basename "$SNAP")" "$before" "$after"
  assert_absent "$desc: no se creó el directorio de salida" "$out"
}

ID_FORMAT="Use una cédula física de 9 dígitos (1-0647-0958)"
PIN_MSG="El PIN debe contener exactamente 4 números."

section "preparación"
init_template
DATA=$TMP/data
fresh_data_dir "$DATA"
create_demo_taxpayers "$DATA"
# An active key in pruebas, so that the store is not trivially empty and a
# bad --motivo meets a key it could revoke.
generate "$DATA" "$FISICA_ID" pruebas "$TMP/out-setup"
assert_rc "generar la llave de partida" 0
SNAP=$DATA
gen=(llv "$DATA" llave generar --ambiente pruebas --pin-stdin --salida @OUT@)

# --- identification ----------------------------------------------------------------------
section "identificación inválida"
for id in 12-34 abc 0123456789 1-0647-095 "+106470958" "1.0647.0958" 99999999999999; do
  bad "generar --id '$id'" "Identificación inválida" '1234\n' "${gen[@]}" --id "$id"
  assert_contains "generar --id '$id': el mensaje nombra el formato esperado" "$ERR" "$ID_FORMAT"
  bad "contribuyente crear --id '$id'" "Identificación inválida" NOSTDIN \
    llv "$DATA" contribuyente crear --id "$id" --nombre A --apellidos B
done
bad "revocar --id abc" "Identificación inválida" NOSTDIN \
  llv "$DATA" llave revocar --id abc --ambiente pruebas
bad "estado --id 12-34" "Identificación inválida" NOSTDIN llv "$DATA" llave estado --id 12-34
bad "generar sin --id" "Falta la opción obligatoria --id" '1234\n' "${gen[@]}"

section "contribuyente desconocido"
bad "generar para 1-1111-1111" "No existe un contribuyente con la identificación 1-1111-1111" '1234\n' \
  "${gen[@]}" --id 1-1111-1111
bad "revocar para 1-1111-1111" "No existe un contribuyente" NOSTDIN \
  llv "$DATA" llave revocar --id 1-1111-1111 --ambiente pruebas
bad "estado de 2-2222-2222" "No existe un contribuyente" NOSTDIN \
  llv "$DATA" llave estado --id 2-2222-2222

section "contribuyente duplicado"
bad "crear la física otra vez" "Ya existe un contribuyente" NOSTDIN \
  llv "$DATA" contribuyente crear --id "$FISICA_ID" --nombre "CONTRIBUYENTE" --apellidos "PEÑA DE PRUEBA" \
  --correo prueba@example.com
bad "crear la física otra vez, escrita sin guiones y con otro nombre" "Ya existe un contribuyente" NOSTDIN \
  llv "$DATA" contribuyente crear --id 106470958 --nombre OTRO --apellidos NOMBRE
bad "crear la jurídica otra vez" "Ya existe un contribuyente" NOSTDIN \
  llv "$DATA" contribuyente crear --id "$JURIDICA_ID" --nombre "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA"

section "datos del contribuyente"
bad "jurídica con --apellidos" "Una persona jurídica no tiene apellidos" NOSTDIN \
  llv "$DATA" contribuyente crear --id 3-101-111111 --nombre "EMPRESA NUEVA" --apellidos "X"
bad "crear sin --nombre" "Falta la opción obligatoria --nombre" NOSTDIN \
  llv "$DATA" contribuyente crear --id 1-1111-1111 --apellidos X
bad "física sin --apellidos" "apellidos" NOSTDIN \
  llv "$DATA" contribuyente crear --id 1-1111-1111 --nombre X
bad "nombre con un carácter de control" "caracteres de control" NOSTDIN \
  llv "$DATA" contribuyente crear --id 1-1111-1111 --nombre $'A\tB' --apellidos X
bad "nombre demasiado largo" "demasiado largo" NOSTDIN \
  llv "$DATA" contribuyente crear --id 1-1111-1111 --nombre "$(printf 'A%.0s' {1..300})" --apellidos X
bad "correo sin @" "Correo inválido" NOSTDIN \
  llv "$DATA" contribuyente crear --id 1-1111-1111 --nombre X --apellidos Y --correo nadie.example.com

# --- PIN ---------------------------------------------------------------------------------------
section "PIN"
for pin in 123 12345 abcd "" 12a4 "１２３４" "1 34" "$(printf '1%.0s' {1..300})"; do
  bad "PIN '${pin:0:12}'" "$PIN_MSG" "$pin\\n" "${gen[@]}" --id "$FISICA_ID"
done
bad "PIN '123' confirmado '123'" "$PIN_MSG" '123\n123\n' "${gen[@]}" --id "$FISICA_ID"
bad "sin PIN en la entrada estándar" "No se recibió el PIN" NOSTDIN "${gen[@]}" --id "$FISICA_ID"
bad "confirmación distinta" "El PIN y su confirmación no coinciden." '1234\n1235\n' \
  "${gen[@]}" --id "$FISICA_ID"
bad "confirmación inválida" "no coinciden" '1234\nabcd\n' "${gen[@]}" --id "$FISICA_ID"
bad "confirmación vacía" "no coinciden" '1234\n\n' "${gen[@]}" --id "$FISICA_ID"
# Without --pin-stdin the PIN is asked on the terminal; with no terminal the
# command must refuse at once, never wait, and never read the PIN from the pipe.
bad "sin --pin-stdin y sin terminal (/dev/null)" "no es una terminal" NOSTDIN \
  timeout 10 "$LLAVERO" --data "$DATA" llave generar --id "$FISICA_ID" --ambiente pruebas --salida @OUT@
bad "sin --pin-stdin con el PIN en una tubería" "use --pin-stdin" '1234\n1234\n' \
  timeout 10 "$LLAVERO" --data "$DATA" llave generar --id "$FISICA_ID" --ambiente pruebas --salida @OUT@
bad "el PIN como argumento (--pin) no existe" "argumentos inválidos" '1234\n' \
  "${gen[@]}" --id "$FISICA_ID" --pin 1234

# --- revocation ---------------------------------------------------------------------------------
section "revocar sin llave activa"
bad "revocar en producción sin llave" "No hay una llave criptográfica activa" NOSTDIN \
  llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente produccion
bad "revocar la jurídica sin llave" "No hay una llave criptográfica activa" NOSTDIN \
  llv "$DATA" llave revocar --id "$JURIDICA_ID" --ambiente pruebas --motivo keyCompromise

section "motivo desconocido"
for motivo in porque certificateHold removeFromCRL unspecified; do
  bad "revocar --motivo $motivo" "Motivo de revocación desconocido" NOSTDIN \
    llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente pruebas --motivo "$motivo"
done

# --- environment, profile -----------------------------------------------------------------------
section "ambiente desconocido"
for env in desarrollo staging; do
  bad "generar --ambiente $env" "Ambiente desconocido" '1234\n' \
    llv "$DATA" llave generar --id "$FISICA_ID" --ambiente "$env" --pin-stdin --salida @OUT@
done
bad "revocar --ambiente desarrollo" "Ambiente desconocido" NOSTDIN \
  llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente desarrollo
bad "estado --ambiente desarrollo" "Ambiente desconocido" NOSTDIN \
  llv "$DATA" llave estado --id "$FISICA_ID" --ambiente desarrollo
bad "generar sin --ambiente" "Falta la opción obligatoria --ambiente" '1234\n' \
  llv "$DATA" llave generar --id "$FISICA_ID" --pin-stdin --salida @OUT@

section "perfil desconocido"
for perfil in rc2 legacy strict; do
  bad "generar --perfil $perfil" "Perfil de archivo .p12 desconocido" '1234\n' \
    "${gen[@]}" --id "$FISICA_ID" --perfil "$perfil"
done

# --- CA passphrase --------------------------------------------------------------------------------
section "frase de paso de las CA"
bad "LLAVERO_CA_PASSPHRASE equivocada" "frase de paso de las llaves de las CA es incorrecta" '1234\n' \
  env LLAVERO_CA_PASSPHRASE=wrong "$LLAVERO" --data "$DATA" llave generar --id "$FISICA_ID" \
  --ambiente pruebas --pin-stdin --salida @OUT@
bad "LLAVERO_CA_PASSPHRASE equivocada (jurídica, producción)" "incorrecta" '1234\n' \
  env LLAVERO_CA_PASSPHRASE="$(cat "$DATA/ca-passphrase")x" "$LLAVERO" --data "$DATA" llave generar \
  --id "$JURIDICA_ID" --ambiente produccion --pin-stdin --salida @OUT@
NOPASS=$TMP/sin-frase
cp -a "$DATA" "$NOPASS"
rm "$NOPASS/ca-passphrase"
SNAP=$NOPASS
bad "sin archivo de frase de paso ni variable" "No hay frase de paso" '1234\n' \
  llv "$NOPASS" llave generar --id "$FISICA_ID" --ambiente pruebas --pin-stdin --salida @OUT@
echo "frase-equivocada" >"$NOPASS/ca-passphrase"
chmod 600 "$NOPASS/ca-passphrase"
bad "archivo de frase de paso equivocado" "incorrecta" '1234\n' \
  llv "$NOPASS" llave generar --id "$FISICA_ID" --ambiente pruebas --pin-stdin --salida @OUT@
SNAP=$DATA

# --- not a data directory ----------------------------------------------------------------------------
section "no es un directorio de datos"
mkdir "$TMP/vacio" "$TMP/con-archivo" "$TMP/solo-conf" "$TMP/db-basura"
head -c 300 /dev/urandom >"$TMP/con-archivo/algo.bin"
echo "no soy un directorio" >"$TMP/archivo"
cp "$DATA/llavero.conf" "$TMP/solo-conf/"
cp "$DATA/llavero.conf" "$TMP/db-basura/"
head -c 8192 /dev/urandom >"$TMP/db-basura/llavero.db"
for dir in vacio con-archivo archivo no-existe solo-conf; do
  SNAP=$TMP/$dir
  bad "generar con --data $dir" "no es un directorio de datos de llavero" '1234\n' \
    llv "$TMP/$dir" llave generar --id "$FISICA_ID" --ambiente pruebas --pin-stdin --salida @OUT@
  bad "contribuyente crear con --data $dir" "no es un directorio de datos de llavero" NOSTDIN \
    llv "$TMP/$dir" contribuyente crear --id "$FISICA_ID" --nombre A --apellidos B
  bad "auditoria verificar con --data $dir" "no es un directorio de datos de llavero" NOSTDIN \
    llv "$TMP/$dir" auditoria verificar
done
SNAP=$TMP/vacio
bad "LLAVERO_DATA apunta a un directorio vacío" "no es un directorio de datos de llavero" NOSTDIN \
  env LLAVERO_DATA="$TMP/vacio" "$LLAVERO" llave estado --id "$FISICA_ID"
SNAP=$TMP/db-basura
bad "llavero.db que no es una base de datos" "almacén" NOSTDIN \
  llv "$TMP/db-basura" contribuyente crear --id "$FISICA_ID" --nombre A --apellidos B
assert_absent "no quedó db-basura/llavero.db-wal" "$TMP/db-basura/llavero.db-wal"
SNAP=$TMP/con-archivo
bad "init en un directorio con otros archivos" "no está vacío" NOSTDIN llv "$TMP/con-archivo" init
SNAP=$TMP/archivo
bad "init sobre un archivo" "no es un directorio" NOSTDIN llv "$TMP/archivo" init
assert_absent "nunca se creó no-existe" "$TMP/no-existe"

# --- configuration -------------------------------------------------------------------------------
section "configuración inválida"
BADCONF=$TMP/mala-conf
cp -a "$DATA" "$BADCONF"
sed -i 's/^perfil_certificado *=.*/perfil_certificado = raro/' "$BADCONF/llavero.conf"
SNAP=$BADCONF
bad "perfil_certificado = raro" "perfil_certificado debe ser completo o strict" '1234\n' \
  llv "$BADCONF" llave generar --id "$FISICA_ID" --ambiente pruebas --pin-stdin --salida @OUT@
sed -i 's/^perfil_certificado *=.*/perfil_certificado = completo/; s/^p12_iteraciones *=.*/p12_iteraciones = 0/' \
  "$BADCONF/llavero.conf"
bad "p12_iteraciones = 0" "p12_iteraciones" '1234\n' \
  llv "$BADCONF" llave generar --id "$FISICA_ID" --ambiente pruebas --pin-stdin --salida @OUT@
sed -i 's/^p12_iteraciones *=.*/p12_iteraciones = 100000/' "$BADCONF/llavero.conf"
echo "clave_inventada = 1" >>"$BADCONF/llavero.conf"
bad "clave desconocida en llavero.conf" "clave desconocida" '1234\n' \
  llv "$BADCONF" llave generar --id "$FISICA_ID" --ambiente pruebas --pin-stdin --salida @OUT@
SNAP=$DATA

# --- output directory ---------------------------------------------------------------------------
section "directorio de salida inválido"
# --salida names an existing regular file: nothing can be written there, so
# nothing may change in the store either (no key, no reserved serial).
echo "soy un archivo" >"$TMP/salida-archivo"
before=$(data_snapshot "$DATA")
file_before=$(sha256sum <"$TMP/salida-archivo")
run_input '1234\n' llv "$DATA" llave generar --id "$FISICA_ID" --ambiente pruebas --pin-stdin \
  --salida "$TMP/salida-archivo"
assert_rc "--salida es un archivo: estado 1" 1
assert_contains "--salida es un archivo: mensaje" "$ERR" "no es un directorio"
assert_eq "--salida es un archivo: el archivo no cambió" "$file_before" "$(sha256sum <"$TMP/salida-archivo")"
assert_same "--salida es un archivo: nada cambió en el almacén" "$before" "$(data_snapshot "$DATA")"
assert_eq "--salida es un archivo: ninguna serie quedó reservada" 0 \
  "$(sql "$DATA" "select count(*) from certificates where status='reserved'")"

# --- after all of it ------------------------------------------------------------------------------
section "al final"
run llv "$DATA" llave estado --id "$FISICA_ID" --json
assert_rc "estado sigue funcionando" 0
assert_eq "sigue habiendo una sola llave, activa" "pruebas activa" \
  "$(json_eval "$OUT" "' '.join(k['ambiente'] + ' ' + k['estado'] for k in d['llaves'])")"
assert_eq "solo dos contribuyentes" 2 "$(sql "$DATA" "select count(*) from taxpayers")"
assert_ok "la bitácora sigue íntegra" llv "$DATA" auditoria verificar
assert_eq "ningún archivo en la salida de la llave de partida salvo su .p12" "./$FISICA_P12" \
  "$(cd "$TMP/out-setup" && find . -type f)"

finish
