# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
# Starting and stopping a `llavero serve` for a test script. Source it right
# after tests/lib/lib.sh:
#     source "$(dirname "${BASH_SOURCE[0]}")/../lib/serve_lib.sh"
# It uses, from lib.sh: TMP, LLAVERO, assert_eq, _show, finish, init_template,
# fresh_data_dir; and, for start_server / healthz_ok: DATA (data directory),
# PORT (where to listen) and BASE (http://127.0.0.1:$PORT), which
# serve_data_dir sets. The script checks that ps, curl and python3 are there.
# It sets:
#   DATA, PORT, BASE  (serve_data_dir)
#   S_ROOT S_PF S_PJ, P_ROOT P_PF P_PJ  (serve_data_dir) the root, PF and PJ CA
#               certificates of pruebas (S_) and produccion (P_)
#   SERVER_PID  the running server ("" when none)
#   BG_PIDS     other background children for the EXIT trap to kill (append)
#   STOP_RC     the exit status of the server, after stop_server
# and installs an EXIT trap (cleanup) that stops only our own children and
# removes $TMP. The server's stdout and stderr go to $TMP/server.log
# (appended to over restarts).

SERVER_PID=""
BG_PIDS=()
STOP_RC=""

# mine PID : the process is alive and a child of this script (a PID that was
# reaped long ago may belong to someone else by now).
mine() {
  [[ -n $1 ]] && [[ $(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ') == "$$" ]]
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do mine "$p" && kill "$p" 2>/dev/null; done
  if mine "$SERVER_PID"; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do mine "$SERVER_PID" || break; sleep 0.1; done
    mine "$SERVER_PID" && kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# serve_data_dir DIR : a fresh data directory in DIR (init_template,
# fresh_data_dir), set as DATA, whose url_base names this test's server at a
# free port (sets PORT and BASE), an assertion; S_* / P_* name its CA
# certificates. Call it before any certificate is issued, so that AIA /
# CRL DP / OCSP name this server.
serve_data_dir() {
  init_template
  DATA=$1
  fresh_data_dir "$DATA"
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  sed -i "s|^url_base = .*|url_base = $BASE|" "$DATA/llavero.conf"
  assert_eq "url_base apunta al servidor de la prueba" "url_base = $BASE" "$(grep '^url_base' "$DATA/llavero.conf")"
  S_ROOT=$DATA/ca/pruebas/root.pem
  S_PF=$DATA/ca/pruebas/pf.pem
  S_PJ=$DATA/ca/pruebas/pj.pem
  P_ROOT=$DATA/ca/produccion/root.pem
  P_PF=$DATA/ca/produccion/pf.pem
  P_PJ=$DATA/ca/produccion/pj.pem
}

# start_server : starts the server on $PORT over $DATA and waits (at most
# 30 s) for /healthz to answer 200, an assertion; if it does not, shows the
# server log and ends the test (finish).
start_server() {
  "$LLAVERO" --data "$DATA" serve --listen "127.0.0.1:$PORT" >>"$TMP/server.log" 2>&1 </dev/null &
  SERVER_PID=$!
  local code=000
  for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$BASE/healthz" 2>/dev/null)
    [[ $code == 200 ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  assert_eq "el servidor arranca y /healthz responde 200" 200 "$code"
  if [[ $code != 200 ]]; then
    echo "Registro del servidor:"
    _show "$(cat "$TMP/server.log")" 40
    finish
  fi
}

# stop_server SIGNAL [SECONDS] : sends SIGNAL (TERM, INT, KILL...) to the
# server and waits for it to exit, killing it after SECONDS (default 30);
# sets STOP_RC (its exit status, "" if it was not running) and clears
# SERVER_PID.
stop_server() {
  local tenths=$((${2:-30} * 10))
  STOP_RC=""
  mine "$SERVER_PID" || return 0
  kill "-$1" "$SERVER_PID"
  (for _ in $(seq 1 "$tenths"); do sleep 0.1; mine "$SERVER_PID" || exit 0; done
    mine "$SERVER_PID" && kill -KILL "$SERVER_PID") &
  local watchdog=$!
  { wait "$SERVER_PID"; } 2>/dev/null  # no "Killed" job notice for SIGKILL
  STOP_RC=$?
  mine "$watchdog" && kill "$watchdog" 2>/dev/null
  wait "$watchdog" 2>/dev/null
  SERVER_PID=""
}

# healthz_ok AFTER : the server still answers /healthz with 200, within 3 s.
healthz_ok() {
  local code
  code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$BASE/healthz" 2>/dev/null)
  assert_eq "/healthz responde 200 después de: $1" 200 "$code"
}
