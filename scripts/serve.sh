#!/usr/bin/env bash
# `make serve`: a data directory with the CAs of both environments and a demo
# taxpayer with a portal password (both made once, kept afterwards), what was
# made, and then the server. LISTEN (default 127.0.0.1:8080) picks the address.
set -euo pipefail
llavero=$1
data=$2
listen=${LISTEN:-127.0.0.1:8080}

# A new installation prints this server's address in its certificates
# (unless it listens on every interface: then set url_base in llavero.conf).
url_base=()
case $listen in 0.0.0.0:* | \[::\]:*) ;; *) url_base=(--url-base "http://$listen") ;; esac
"$llavero" --data "$data" init "${url_base[@]}"
login_file="$data/demo-ingreso.txt"
if [ ! -f "$login_file" ]; then
  password="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" | "$llavero" --data "$data" contribuyente crear --si-no-existe \
    --id 1-0647-0958 --nombre "CONTRIBUYENTE" --apellidos "PEÑA DE PRUEBA" \
    --correo prueba@example.com --contrasena-stdin
  (umask 077 && printf 'identificacion=1-0647-0958\ncontrasena=%s\n' "$password" > "$login_file")
fi
password=$(sed -n 's/^contrasena=//p' "$login_file")

cat <<MSG

Listo. Directorio de datos: $data
Portal: http://$listen/
  Identificación: 1-0647-0958 (CONTRIBUYENTE PEÑA DE PRUEBA)
  Contraseña:     $password      (guardada en $login_file)
Desde la terminal:
  echo 1234 | $llavero --data $data llave generar --id 1-0647-0958 --ambiente pruebas --pin-stdin --salida out/
  $llavero --data $data llave estado --id 1-0647-0958

MSG
exec "$llavero" --data "$data" serve --listen "$listen"
