# shellcheck shell=bash
# What the benchmark scripts share: a private temporary directory ($TMP, with
# the data directory $D), `die`, `free_port`, and starting / stopping one
# `llavero serve` ($LLAVERO on $PORT, stopped with SIGTERM on exit).
# Source it after setting LLAVERO and BENCH_NAME; then `require_tools` and
# `new_data_dir` give each script its common start. `reception_documents` and
# `reception_send` are the reception's benchmark (bench-reception.sh), also
# run by bench-herramienta.sh to compare against.
unset LLAVERO_DATA LLAVERO_CA_PASSPHRASE
export LC_ALL=C.UTF-8 TZ=UTC

TMP=$(mktemp -d "${TMPDIR:-/tmp}/llavero-$BENCH_NAME.XXXXXX")
D=$TMP/data
SERVER_PID=""

# Stops the server we started (SIGTERM, as an operator would), at most 20 s.
stop_server() {
  local pid=$SERVER_PID rc=0
  [[ -n $pid ]] || return 0
  SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "el servidor no se detuvo con SIGTERM en 20 s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

cleanup() {
  stop_server || true
  if [[ ${KEEP_BENCH_DIR:-0} == 1 ]]; then
    echo "(datos y registros en $TMP)"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "$BENCH_NAME: $*" >&2
  exit 1
}

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_server LOG [ARGS...] : llavero serve on $PORT, waits for /healthz
# (BENCH_START_SECONDS, 30 unless set).
start_server() {
  local log=$1
  shift
  "$LLAVERO" --data "$D" serve --listen "127.0.0.1:$PORT" "$@" >"$log" 2>&1 </dev/null &
  SERVER_PID=$!
  local seconds=${BENCH_START_SECONDS:-30}
  for _ in $(seq 1 $((seconds * 10))); do
    if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz"; then
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || {
      SERVER_PID=""
      tail -n 20 "$log" >&2
      die "el servidor terminó al arrancar"
    }
    sleep 0.1
  done
  tail -n 20 "$log" >&2
  die "el servidor no respondió /healthz en $seconds s"
}

# require_tools TOOL... : each one is on PATH, else a clear message and exit 2.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || {
      echo "falta la herramienta $tool (make deps la instala)" >&2
      exit 2
    }
  done
}

# new_data_dir [INIT ARGS...] : a free $PORT and a data directory $D whose
# certificates point at it (url_base); ARGS go to `llavero init` (e.g. --db).
new_data_dir() {
  PORT=$(free_port)
  echo "Preparando datos en $D (puerto $PORT)..."
  "$LLAVERO" --data "$D" init --url-base "http://127.0.0.1:$PORT" "$@" >"$TMP/init.log" 2>&1 ||
    { cat "$TMP/init.log" >&2; die "llavero init falló"; }
  grep -q "^url_base = http://127.0.0.1:$PORT\$" "$D/llavero.conf" ||
    die "url_base no quedó en $D/llavero.conf"
  # A benchmark is one client at one address asking as fast as it can: the
  # per-address limits (docs/operacion.md) would measure themselves instead.
  local key
  for key in solicitudes_por_segundo_publicas solicitudes_por_segundo_generales \
    solicitudes_por_segundo_contrasenas registro_lineas_por_segundo; do
    sed -i "s/^$key = .*/$key = 0/" "$D/llavero.conf"
  done
  grep -q "^solicitudes_por_segundo_publicas = 0$" "$D/llavero.conf" ||
    die "los límites por dirección no quedaron en 0 en $D/llavero.conf"
}

# to_ms "1.23ms" -> 1.230 (wrk prints us, ms, s or m)
to_ms() {
  python3 -c 'import re, sys
m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", sys.argv[1])
f = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
print(f"{float(m.group(1)) * f[m.group(2)]:.3f}" if m else "nan")' "$1"
}

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# reception_documents N : in $D (before start_server), the demo taxpayer
# 1-0647-0958 with a pruebas key and an API password ($API_USER,
# $API_PASSWORD), and N copies of examples/factura-electronica.xml in
# $DOCDIR, each with its own Clave and NumeroConsecutivo, signed with
# `llavero firmar` (not measured). The reception's limit per token subject is
# lifted: one API user sends every document and polls.
reception_documents() {
  local n=$1 id=1-0647-0958 p12 signed sign_start
  sed -i 's/^recepcion_limite_solicitudes = .*/recepcion_limite_solicitudes = 1000000/' "$D/llavero.conf"
  grep -q '^recepcion_limite_solicitudes = 1000000$' "$D/llavero.conf" ||
    die "recepcion_limite_solicitudes no quedó en $D/llavero.conf"
  "$LLAVERO" --data "$D" contribuyente crear --id "$id" --nombre CONTRIBUYENTE \
    --apellidos "PEÑA DE PRUEBA" >/dev/null
  p12=$(echo 1234 | "$LLAVERO" --data "$D" llave generar --id "$id" --ambiente pruebas \
    --pin-stdin --salida "$D/out" 2>/dev/null | tail -n 1)
  [[ -f $p12 ]] || die "llave generar no dejó el .p12"
  "$LLAVERO" --data "$D" contrasena generar --id "$id" --ambiente pruebas >"$TMP/api.txt" ||
    die "contrasena generar falló"
  API_USER=$(sed -n 's/^Usuario: //p' "$TMP/api.txt")
  API_PASSWORD=$(sed -n 's/^Contraseña: //p' "$TMP/api.txt")
  [[ -n $API_USER && -n $API_PASSWORD ]] || die "no se leyó el usuario o la contraseña de la API"

  DOCDIR=$TMP/docs
  python3 "$BENCH_DIR/bench-reception.py" preparar --ejemplo "$BENCH_DIR/../examples/factura-electronica.xml" \
    --n "$n" --dir "$DOCDIR"
  echo "Firmando $n comprobantes con llavero firmar (no se mide)..."
  sign_start=$(date +%s.%N)
  # shellcheck disable=SC2016
  find "$DOCDIR" -name '[0-9][0-9][0-9].xml' -print0 |
    xargs -0 -P 2 -n 1 sh -c 'out=$(echo 1234 | "$0" firmar --p12 "$1" --pin-stdin --entrada "$2" \
      --salida "${2%.xml}-firmada.xml" 2>&1) || { echo "$2: $out" >&2; exit 255; }' "$LLAVERO" "$p12" ||
    die "llavero firmar falló"
  signed=$(find "$DOCDIR" -name '*-firmada.xml' | wc -l)
  [[ $signed == "$n" ]] || die "solo $signed de $n quedaron firmados"
  echo "Firmados en $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" \
    "$sign_start" "$(date +%s.%N)") s (2 procesos a la vez; cada uno abre el .p12)."
}

# reception_send FROM COUNT THREADS [ARGS...] : documents FROM..FROM+COUNT-1
# of $DOCDIR POSTed to the running server and polled until decided
# (bench-reception.py enviar; its exit status).
reception_send() {
  printf '%s\n' "$API_PASSWORD" | python3 "$BENCH_DIR/bench-reception.py" enviar \
    --url "http://127.0.0.1:$PORT" --usuario "$API_USER" --dir "$DOCDIR" --threads "$3" \
    --desde "$1" --cuantos "$2" "${@:4}"
}
