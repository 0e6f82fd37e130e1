#!/usr/bin/env bash
# The key lifecycle as an operator drives it with `llavero`
# (docs/product.md#key-lifecycle): generar / revocar / estado per environment, the hash-chained audit log and
# its tamper detection, `init` idempotence, concurrent issuance by processes,
# and --help everywhere.
#   bash tests/cli/cli_lifecycle.sh build/llavero
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"

require_tools sqlite3 python3 openssl sha256sum

# estado_json DATA [ARGS...] : `llave estado --id FISICA --json`, into JSON.
estado_json() {
  local data=$1
  shift
  run llv "$data" llave estado --id "$FISICA_ID" --json "$@"
  JSON=$OUT
}
# count JSON PYTHON-CONDITION-ON-k : how many keys satisfy it.
count_keys() {
  json_eval "$1" "sum(1 for k in d['llaves'] if $2)"
}
audit_rows() { sql "$1" "select count(*) from audit_log"; }
# all_files_digest DIR : every file under DIR with its digest and mode.
all_files_digest() {
  (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum && find . -printf '%p %m %s\n' | sort)
}

# --- --help ------------------------------------------------------------------------
section "--help"
for sub in "" init contribuyente "contribuyente crear" llave "llave generar" "llave estado" \
  "llave revocar" auditoria "auditoria verificar"; do
  # shellcheck disable=SC2086 # the words of the subcommand
  run "$LLAVERO" --data "$TMP/no-existe" $sub --help
  assert_rc "llavero $sub --help sale con 0 (sin directorio de datos)" 0
  assert_match "llavero $sub --help muestra el uso" "$OUT" "^Usage: "
done
assert_absent "--help no crea el directorio de datos" "$TMP/no-existe"
run "$LLAVERO" llave generar --help
assert_contains "generar --help ofrece --pin-stdin" "$OUT" "--pin-stdin"
assert_no_match "generar --help no ofrece el PIN como argumento" "$OUT" "--pin([ =]|$)"
for opt in --id --ambiente --salida --perfil --facturador-gratuito; do
  assert_contains "generar --help documenta $opt" "$OUT" "$opt"
done
run "$LLAVERO" llave revocar --help
assert_contains "revocar --help documenta --motivo" "$OUT" "--motivo"

# --- init -----------------------------------------------------------------------------
section "init"
init_template
assert_contains "init nombra el archivo de la frase de paso" "$OUT" "ca-passphrase"
assert_eq "ca-passphrase con modo 0600" 600 "$(stat -c %a "$TEMPLATE/ca-passphrase" 2>&1)"
for env in produccion pruebas; do
  for ca in root pf pj; do
    assert_exists "init crea ca/$env/$ca.pem" "$TEMPLATE/ca/$env/$ca.pem"
  done
done
assert_ok "la bitácora de un directorio recién creado es íntegra" llv "$TEMPLATE" auditoria verificar

DATA=$TMP/data
fresh_data_dir "$DATA"
create_demo_taxpayers "$DATA"
before=$(data_snapshot "$DATA")
run llv "$DATA" contribuyente crear --id 106470958 --nombre "CONTRIBUYENTE" --apellidos "PEÑA DE PRUEBA" \
  --si-no-existe
assert_rc "contribuyente crear --si-no-existe sobre uno registrado sale con 0" 0
assert_contains "--si-no-existe dice que ya existe" "$OUT" "Ya existe"
assert_same "--si-no-existe no cambia nada" "$before" "$(data_snapshot "$DATA")"

# --- generar / revocar / estado -------------------------------------------------------------
section "generar dos veces en pruebas"
rows=$(audit_rows "$DATA")
generate "$DATA" "$FISICA_ID" produccion "$TMP/out-prod"
assert_rc "generar en producción" 0
PROD_SERIAL=$(serial_of "$P12")
generate "$DATA" 106470958 pruebas "$TMP/out-1"
assert_rc "primera generación en pruebas" 0
S1=$(serial_of "$P12")
generate "$DATA" "1 0647 0958" pruebas "$TMP/out-2"
assert_rc "segunda generación en pruebas (identificación con espacios)" 0
S2=$(serial_of "$P12")
assert_contains "generar avisa que la anterior fue revocada" "$ERR" "fue revocada automáticamente"
assert_contains "el aviso nombra la serie anterior" "${ERR^^}" "$S1"
assert_ne "dos series distintas" "$S1" "$S2"
assert_ge "cada generación escribe una fila de auditoría" $((rows + 3)) "$(audit_rows "$DATA")"

estado_json "$DATA"
assert_rc "llave estado --json" 0
assert_eq "estado --json: identificación impresa" "1-0647-0958" "$(json_eval "$JSON" "d['identificacion']")"
assert_eq "la primera llave de pruebas está revocada" revocada "$(key_field "$JSON" "$S1" estado)"
assert_eq "la primera fue revocada por superseded" superseded "$(key_field "$JSON" "$S1" motivo)"
assert_match "la primera tiene fecha de revocación" "$(key_field "$JSON" "$S1" revocada_el)" \
  "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
assert_eq "la segunda llave de pruebas está activa" activa "$(key_field "$JSON" "$S2" estado)"
assert_eq "la activa no tiene motivo" "<sin campo>" "$(key_field "$JSON" "$S2" motivo)"
assert_eq "una sola activa en pruebas" 1 "$(count_keys "$JSON" "k['ambiente']=='pruebas' and k['estado']=='activa'")"
assert_eq "producción no fue tocada por pruebas" activa "$(key_field "$JSON" "$PROD_SERIAL" estado)"
assert_eq "producción sigue en su ambiente" produccion "$(key_field "$JSON" "$PROD_SERIAL" ambiente)"
assert_eq "tres llaves en total" 3 "$(json_eval "$JSON" "len(d['llaves'])")"
estado_json "$DATA" --ambiente pruebas
assert_eq "estado --ambiente pruebas lista solo pruebas" "pruebas pruebas" \
  "$(json_eval "$JSON" "' '.join(k['ambiente'] for k in d['llaves'])")"
run llv "$DATA" llave estado --id "$FISICA_ID"
assert_rc "llave estado (texto)" 0
assert_match "estado en texto muestra la revocada con su motivo" "$OUT" "revocada .*superseded"

section "revocar"
rows=$(audit_rows "$DATA")
run llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente pruebas --motivo keyCompromise
assert_rc "revocar --motivo keyCompromise" 0
assert_contains "revocar confirma con el texto del portal" "$OUT" \
  "Estimado usuario su llave criptográfica ha sido revocada"
assert_contains "revocar muestra el motivo" "$OUT" "keyCompromise"
assert_contains "revocar muestra la serie revocada" "${OUT^^}" "$S2"
assert_ge "revocar escribe una fila de auditoría" $((rows + 1)) "$(audit_rows "$DATA")"
estado_json "$DATA"
assert_eq "no queda llave activa en pruebas" 0 \
  "$(count_keys "$JSON" "k['ambiente']=='pruebas' and k['estado']=='activa'")"
assert_eq "la segunda quedó revocada" revocada "$(key_field "$JSON" "$S2" estado)"
assert_eq "con motivo keyCompromise" keyCompromise "$(key_field "$JSON" "$S2" motivo)"
assert_eq "la primera sigue con motivo superseded" superseded "$(key_field "$JSON" "$S1" motivo)"
assert_eq "producción sigue activa tras revocar en pruebas" activa "$(key_field "$JSON" "$PROD_SERIAL" estado)"
assert_eq "la base no tiene activas de la física en pruebas" 0 \
  "$(sql "$DATA" "select count(*) from certificates c join taxpayers t on t.id = c.taxpayer_id
                  where t.identification = '106470958' and c.environment = 'pruebas' and c.status = 'active'")"
run llv "$DATA" llave estado --id "$FISICA_ID"
assert_match "estado en texto muestra keyCompromise" "$OUT" "revocada .*keyCompromise"

rows=$(audit_rows "$DATA")
run llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente pruebas
assert_rc "revocar otra vez falla" 1
assert_contains "revocar otra vez: mensaje" "$ERR" "No hay una llave criptográfica activa"
assert_eq "revocar sin llave no escribe auditoría" "$rows" "$(audit_rows "$DATA")"

# Revocation without a reason.
generate "$DATA" "$FISICA_ID" pruebas "$TMP/out-3"
assert_rc "tercera generación en pruebas (sin activa previa)" 0
S3=$(serial_of "$P12")
assert_not_contains "sin llave activa previa no se anuncia revocación" "$ERR" "revocada automáticamente"
run llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente pruebas
assert_rc "revocar sin --motivo" 0
estado_json "$DATA"
assert_eq "revocada sin motivo" revocada "$(key_field "$JSON" "$S3" estado)"
assert_eq "sin motivo registrado" "<sin campo>" "$(key_field "$JSON" "$S3" motivo)"

# produccion is independent the other way round too.
generate "$DATA" "$FISICA_ID" pruebas "$TMP/out-4" --facturador-gratuito
assert_rc "generar --facturador-gratuito" 0
S4=$(serial_of "$P12")
estado_json "$DATA"
assert_eq "estado registra --facturador-gratuito" True "$(key_field "$JSON" "$S4" facturador_gratuito)"
assert_eq "sin la casilla, facturador_gratuito es falso" False "$(key_field "$JSON" "$S3" facturador_gratuito)"
run llv "$DATA" llave revocar --id "$FISICA_ID" --ambiente produccion --motivo cessationOfOperation
assert_rc "revocar en producción" 0
estado_json "$DATA"
assert_eq "revocar en producción no toca pruebas" activa "$(key_field "$JSON" "$S4" estado)"
assert_eq "producción revocada con cessationOfOperation" cessationOfOperation \
  "$(key_field "$JSON" "$PROD_SERIAL" motivo)"
assert_eq "la jurídica no tiene llaves" 0 \
  "$(run llv "$DATA" llave estado --id "$JURIDICA_ID" --json; json_eval "$OUT" "len(d['llaves'])")"

# --- audit log ----------------------------------------------------------------------------
section "auditoría"
run llv "$DATA" auditoria verificar
assert_rc "auditoria verificar sobre la bitácora intacta" 0
assert_contains "auditoria verificar informa las filas" "$OUT" "$(audit_rows "$DATA") filas"
assert_eq "auditoria verificar no escribe en stderr" "" "$ERR"
N=$(audit_rows "$DATA")
assert_ge "la bitácora tiene al menos 10 filas" 10 "$N"
assert_eq "acciones registradas" "contribuyente.crear init llave.generar llave.revocar" \
  "$(sql "$DATA" "select distinct action from audit_log order by action" | tr '\n' ' ' | sed 's/ $//')"

# The database itself refuses to change or delete a row.
copy_data_dir "$DATA" "$TMP/triggers"
assert_fails "el trigger impide UPDATE en audit_log" \
  sql_write "$TMP/triggers" "UPDATE audit_log SET detail='x' WHERE seq=3"
assert_fails "el trigger impide DELETE en audit_log" \
  sql_write "$TMP/triggers" "DELETE FROM audit_log WHERE seq=3"
assert_ok "tras los intentos la bitácora sigue íntegra" llv "$TMP/triggers" auditoria verificar

# Changed row.
T=$TMP/tamper-update
copy_data_dir "$DATA" "$T"
assert_ok "SQL altera la fila 3 (tras quitar el trigger)" sql_write "$T" \
  "$(sql_drop_trigger audit_log_no_update audit_log); UPDATE audit_log SET detail='alterado' WHERE seq=3"
assert_eq "la fila 3 quedó alterada" alterado "$(sql "$T" "select detail from audit_log where seq=3")"
run llv "$T" auditoria verificar
assert_ne "fila cambiada: auditoria verificar falla" 0 "$RC"
assert_match "fila cambiada: el mensaje nombra la fila 3" "$ERR$OUT" "fila[^0-9]{0,40}[^0-9]3([^0-9]|$)"
assert_no_match "fila cambiada: no nombra otra fila como la primera mala" "$ERR$OUT" "problemas: [0-24-9]"

# Another column of another row (the actor of row 2).
T=$TMP/tamper-actor
copy_data_dir "$DATA" "$T"
sql_write "$T" "$(sql_drop_trigger audit_log_no_update audit_log); UPDATE audit_log SET actor='otro' WHERE seq=2"
run llv "$T" auditoria verificar
assert_ne "actor cambiado: detectado" 0 "$RC"
assert_match "actor cambiado: nombra la fila 2" "$ERR$OUT" "fila[^0-9]{0,40}[^0-9]2([^0-9]|$)"

# The time of a row, backdated to 1999 (issue 17: a hash without `at` let
# this pass as "íntegra").
T=$TMP/tamper-at
copy_data_dir "$DATA" "$T"
sql_write "$T" \
  "$(sql_drop_trigger audit_log_no_update audit_log); UPDATE audit_log SET at='1999-01-01T00:00:00Z' WHERE seq=2"
assert_eq "la fila 2 quedó fechada en 1999" 1999-01-01T00:00:00Z \
  "$(sql "$T" "select at from audit_log where seq=2")"
run llv "$T" auditoria verificar
assert_ne "fecha cambiada: detectado" 0 "$RC"
assert_match "fecha cambiada: nombra la fila 2" "$ERR$OUT" "fila[^0-9]{0,40}[^0-9]2([^0-9]|$)"

# Deleted middle row.
T=$TMP/tamper-delete-middle
copy_data_dir "$DATA" "$T"
MID=$((N / 2))
assert_ok "SQL borra la fila $MID (tras quitar el trigger)" sql_write "$T" \
  "$(sql_drop_trigger audit_log_no_delete audit_log); DELETE FROM audit_log WHERE seq=$MID"
assert_eq "queda una fila menos" $((N - 1)) "$(audit_rows "$T")"
run llv "$T" auditoria verificar
assert_ne "fila del medio borrada: detectado" 0 "$RC"
assert_match "fila del medio borrada: nombra la fila $MID" "$ERR$OUT" "fila[^0-9]{0,40}[^0-9]$MID([^0-9]|$)"

# Deleted last row.
T=$TMP/tamper-delete-last
copy_data_dir "$DATA" "$T"
sql_write "$T" "$(sql_drop_trigger audit_log_no_delete audit_log); DELETE FROM audit_log WHERE seq=$N"
assert_eq "la última fila fue borrada" $((N - 1)) "$(audit_rows "$T")"
run llv "$T" auditoria verificar
assert_ne "última fila borrada: detectado" 0 "$RC"
assert_contains "última fila borrada: mensaje en español" "$ERR" "Bitácora alterada"
assert_match "última fila borrada: nombra la fila $N" "$ERR$OUT" "[^0-9]$N([^0-9]|$)"

# The original is still fine (the copies were independent).
assert_ok "el original sigue íntegro" llv "$DATA" auditoria verificar

# --- init is idempotent -----------------------------------------------------------------------
section "init idempotente"
before=$(all_files_digest "$DATA")
run llv "$DATA" init
assert_rc "init sobre un directorio existente sale con 0" 0
assert_contains "init dice que lo conserva" "$OUT" "se conserva"
assert_same "init no cambia ningún archivo" "$before" "$(all_files_digest "$DATA")"
# The same through $LLAVERO_DATA.
before=$(all_files_digest "$DATA")
OUT=$(LLAVERO_DATA=$DATA timeout 60 "$LLAVERO" init 2>&1 </dev/null)
assert_eq "init con LLAVERO_DATA sale con 0" 0 $?
assert_contains "init con LLAVERO_DATA dice que lo conserva" "$OUT" "se conserva"
assert_same "init con LLAVERO_DATA no cambia ningún archivo" "$before" "$(all_files_digest "$DATA")"
# Also with a different --url-base: the existing configuration wins.
run llv "$DATA" init --url-base https://otra.example.com
assert_rc "init --url-base sobre uno existente sale con 0" 0
assert_same "init --url-base no cambia ningún archivo" "$before" "$(all_files_digest "$DATA")"
run llv "$DATA" llave estado --id "$FISICA_ID" --json
assert_eq "tras init las llaves siguen ahí" 5 "$(json_eval "$OUT" "len(d['llaves'])")"

# --- concurrency (processes) -------------------------------------------------------------------
section "6 procesos generan a la vez"
C=$TMP/concurrent
fresh_data_dir "$C"
create_demo_taxpayers "$C"
pids=()
for i in 1 2 3 4 5 6; do
  (printf '1234\n1234\n' | timeout 120 "$LLAVERO" --data "$C" llave generar --id "$FISICA_ID" \
    --ambiente pruebas --pin-stdin --salida "$TMP/conc-$i" >"$TMP/conc-$i.out" 2>"$TMP/conc-$i.err") &
  pids+=($!)
done
for i in 1 2 3 4 5 6; do
  wait "${pids[$((i - 1))]}"
  rc=$?
  assert_eq "proceso $i sale con 0" 0 "$rc"
  ((rc == 0)) || cat "$TMP/conc-$i.err"
done
serials=()
for i in 1 2 3 4 5 6; do
  p12=$(tail -n 1 "$TMP/conc-$i.out")
  assert_eq "proceso $i imprime su .p12" "$TMP/conc-$i/$FISICA_P12" "$p12"
  serials+=("$(serial_of "$TMP/conc-$i/$FISICA_P12")")
done
assert_eq "6 series distintas en los 6 .p12" 6 "$(printf '%s\n' "${serials[@]}" | grep . | sort -u | wc -l)"
estado_json "$C" --ambiente pruebas
assert_eq "estado: 6 llaves" 6 "$(json_eval "$JSON" "len(d['llaves'])")"
assert_eq "estado: exactamente una activa" 1 "$(count_keys "$JSON" "k['estado']=='activa'")"
assert_eq "estado: las otras 5 revocadas por superseded" 5 \
  "$(count_keys "$JSON" "k['estado']=='revocada' and k.get('motivo')=='superseded'")"
assert_eq "estado: 6 series distintas" 6 "$(json_eval "$JSON" "len({k['serie'] for k in d['llaves']})")"
assert_eq "las series de estado son las de los .p12" \
  "$(for s in "${serials[@]}"; do norm_serial "$s"; echo; done | sort)" \
  "$(json_eval "$JSON" "'\n'.join(sorted(k['serie'].upper().lstrip('0') for k in d['llaves']))")"
active_serial=$(json_eval "$JSON" "next(k['serie'] for k in d['llaves'] if k['estado']=='activa')")
assert_eq "en la base: una sola activa" 1 "$(sql "$C" "select count(*) from certificates where status='active'")"
assert_eq "en la base: 6 series distintas" 6 "$(sql "$C" "select count(distinct serial_hex) from certificates")"
assert_eq "en la base: 5 revocadas superseded" 5 \
  "$(sql "$C" "select count(*) from certificates where status='revoked' and revocation_reason='superseded'")"
assert_eq "en la base: ninguna serie quedó reservada" 0 "$(sql "$C" "select count(*) from certificates where status='reserved'")"
assert_eq "en la base: la activa es la que dice estado" "$(norm_serial "$active_serial")" \
  "$(norm_serial "$(sql "$C" "select serial_hex from certificates where status='active'")")"
run llv "$C" auditoria verificar
assert_rc "la bitácora sigue íntegra tras la concurrencia" 0
assert_eq "6 filas llave.generar" 6 "$(sql "$C" "select count(*) from audit_log where action='llave.generar'")"
n_sup=$(grep -l "fue revocada automáticamente" "$TMP"/conc-*.err | wc -l)
assert_eq "5 procesos anunciaron la revocación de la anterior" 5 "$n_sup"

section "3 procesos por ambiente a la vez"
pids=()
for env in pruebas produccion; do
  for i in 1 2 3; do
    (printf '1234\n' | timeout 120 "$LLAVERO" --data "$C" llave generar --id "$JURIDICA_ID" \
      --ambiente "$env" --pin-stdin --salida "$TMP/mix-$env-$i" >/dev/null 2>"$TMP/mix-$env-$i.err") &
    pids+=($!)
  done
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
assert_eq "los 6 procesos mixtos salen con 0" 0 "$fails"
for env in pruebas produccion; do
  assert_eq "jurídica: una sola activa en $env" 1 \
    "$(sql "$C" "select count(*) from certificates c join taxpayers t on t.id = c.taxpayer_id
                 where t.identification = '3101522899' and c.environment = '$env' and c.status = 'active'")"
  assert_eq "jurídica: dos revocadas en $env" 2 \
    "$(sql "$C" "select count(*) from certificates c join taxpayers t on t.id = c.taxpayer_id
                 where t.identification = '3101522899' and c.environment = '$env' and c.status = 'revoked'")"
done
assert_eq "la física sigue con una sola activa" 1 \
  "$(sql "$C" "select count(*) from certificates c join taxpayers t on t.id = c.taxpayer_id
               where t.identification = '106470958' and c.status = 'active'")"
assert_ok "la bitácora sigue íntegra" llv "$C" auditoria verificar

finish
