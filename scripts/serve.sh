#!/usr/bin/env bash
# `make serve`: a data directory with the CAs of both environments and a demo
# taxpayer (created once, kept afterwards), then what was made.
set -euo pipefail
llavero=$1
data=$2

"$llavero" --data "$data" init
"$llavero" --data "$data" contribuyente crear --si-no-existe \
  --id 1-0647-0958 --nombre "CONTRIBUYENTE" --apellidos "PEÑA DE PRUEBA" --correo prueba@example.com

cat <<MSG

Listo. Directorio de datos: $data
Contribuyente de demostración: 1-0647-0958 (CONTRIBUYENTE PEÑA DE PRUEBA)
Pruebe:
  echo 1234 | $llavero --data $data llave generar --id 1-0647-0958 --ambiente pruebas --pin-stdin --salida out/
  $llavero --data $data llave estado --id 1-0647-0958
MSG
