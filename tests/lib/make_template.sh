#!/usr/bin/env bash
# The data directory that the shell tests copy instead of running
# `llavero init` each (init makes six RSA-4096 keys: 6 to 40 s). ctest runs it
# as the setup of the fixture "plantilla" (tests/CMakeLists.txt) and passes
# its path to the tests as LLAVERO_TEST_TEMPLATE; tests/lib/lib.sh
# (init_template) copies it. Made beside DIR and renamed, so a test never sees
# half of one.
#   bash tests/lib/make_template.sh build/llavero DIR
#   bash tests/lib/make_template.sh build/llavero DIR --remove   (fixture cleanup)
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"

DIR=${ARGS[1]:-}
if [[ -z $DIR ]]; then
  echo "uso: bash $0 /ruta/a/llavero DIRECTORIO [--remove]" >&2
  exit 2
fi

if [[ ${ARGS[2]:-} == --remove ]]; then
  section "borrar la plantilla $DIR"
  rm -rf "$DIR"
  assert_absent "la plantilla ya no existe" "$DIR"
  finish
fi

section "llavero init de la plantilla $DIR"
NEW=$DIR.new.$$
rm -rf "$NEW"
mkdir -p "$(dirname "$DIR")"
run "$LLAVERO" --data "$NEW" init
assert_rc "llavero init crea el directorio de datos" 0
assert_exists "la plantilla tiene llavero.conf" "$NEW/llavero.conf"
assert_ok "la bitácora de la plantilla es íntegra" "$LLAVERO" --data "$NEW" auditoria verificar
if ((FAILED == 0)); then
  rm -rf "$DIR"
  mv "$NEW" "$DIR"
  assert_exists "la plantilla está en su lugar" "$DIR/llavero.conf"
else
  rm -rf "$NEW"
fi
finish
