#!/usr/bin/env bash
# The PIN asked on a terminal: twice, without echo; a mismatch writes nothing.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/lib.sh
source "$here/../lib/lib.sh" "$@"

require_tools python3 openssl

init_template
DATA=$TMP/datos
fresh_data_dir "$DATA"
create_demo_taxpayers "$DATA"

section "PIN tecleado dos veces en una terminal"
OUT=$TMP/salida
SEEN=$(timeout 120 python3 "$here/pin_prompt.py" "$LLAVERO" "$DATA" "$OUT" 4826 4826)
assert_eq "estado de salida" "0" "$(head -1 <<<"$SEEN")"
assert_contains "pide el PIN" "$SEEN" "Debe crear un \"PIN\" que contenga 4 números"
assert_contains "pide la confirmación" "$SEEN" "Debe escribir nuevamente el PIN para confirmar"
assert_not_contains "el PIN nunca se muestra" "$SEEN" "4826"
assert_exists "el .p12 existe" "$OUT/$FISICA_P12"
assert_ok "el .p12 abre con el PIN" openssl pkcs12 -in "$OUT/$FISICA_P12" -passin pass:4826 -noout

section "confirmación distinta en una terminal"
OUT2=$TMP/salida2
SEEN=$(timeout 120 python3 "$here/pin_prompt.py" "$LLAVERO" "$DATA" "$OUT2" 4826 4827)
assert_eq "estado de salida" "1" "$(head -1 <<<"$SEEN")"
assert_contains "mensaje" "$SEEN" "no coinciden"
assert_absent "no se creó la salida" "$OUT2"

finish
