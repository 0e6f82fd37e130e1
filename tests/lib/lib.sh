# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
# Shared helpers of the shell test scripts (tests/cli, tests/server, tests/api,
# tests/schemas). Source it as
#     source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"
# with the path of the llavero binary as the first argument. It sets:
#   LLAVERO   absolute path of the binary
#   TMP       a private temporary directory, removed on exit
#   ARGS      the script's arguments without "--section NAME"
#   SECTION   the NAME of "--section NAME" ("" when not given; see run_sections)
# and provides the assertions (each counts one pass or one failure, and a
# failure prints what was expected and what was seen), `run` (captures RC,
# OUT, ERR of a command), and data-directory helpers.
#
# Exit status (finish): 0 when every check passed, 1 when one failed, and
# SKIP_RC (77, registered as SKIP_RETURN_CODE with ctest) when none failed but
# a check could not be made (skip_check: a missing optional tool), so that
# ctest reports the test as skipped instead of passed.
#
# Environment:
#   LLAVERO_TEST_TEMPLATE  a data directory made by `llavero init`
#                          (tests/lib/make_template.sh, a ctest fixture) that
#                          init_template copies instead of running init
#   LLAVERO_TEST_PG        the directory of a running PostgreSQL cluster
#                          (tests/lib/pg_cluster.sh, the ctest fixture
#                          "postgres"): the data directories use PostgreSQL,
#                          each its own database copied from the template's
#                          (fresh_data_dir), and sql() runs psql
#   LLAVERO_TEST_LOG       a file to which every check appends a line
#                          "PASS|FAIL|SKIP<TAB>description" (to compare what
#                          several runs checked)

set -u

SKIP_RC=77

SECTION=""
ARGS=()
while (($#)); do
  case $1 in
    --section)
      SECTION=${2:-}
      [[ -n $SECTION ]] || { echo "uso: --section NOMBRE" >&2; exit 2; }
      shift 2
      ;;
    --section=*) SECTION=${1#--section=}; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
set -- "${ARGS[@]}"

# A rebuild running meanwhile may have removed the binary for a moment.
for _try in $(seq 1 60); do
  [[ $# -lt 1 || -x $1 ]] && break
  sleep 1
done
if [[ $# -lt 1 || ! -x $1 ]]; then
  echo "uso: bash $0 /ruta/a/llavero [...] [--section NOMBRE]   (no es ejecutable: '${1:-}')" >&2
  exit 2
fi

# The tests choose the data directory and the passphrase themselves.
unset LLAVERO_DATA LLAVERO_CA_PASSPHRASE
export LC_ALL=C.UTF-8 TZ=UTC

TMP=$(mktemp -d "${TMPDIR:-/tmp}/llavero-cli.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# Work on a private copy of the binary, so that a rebuild running meanwhile
# (which replaces build/llavero) cannot pull it from under the test. Retry
# while the file is being written.
LLAVERO=$TMP/bin/llavero
mkdir -p "$TMP/bin"
for _try in $(seq 1 60); do
  if cp "$1" "$LLAVERO" 2>/dev/null && "$LLAVERO" --help >/dev/null 2>&1 </dev/null; then
    break
  fi
  sleep 1
done
if ! "$LLAVERO" --help >/dev/null 2>&1 </dev/null; then
  echo "no se pudo ejecutar $1" >&2
  exit 2
fi

PASSED=0
FAILED=0
SKIPPED=0
SCRIPT_START=$(date +%s)

# --- reporting ---------------------------------------------------------------

# Indents a (possibly long, possibly binary) text for a failure report.
_show() {
  local text=$1 max=${2:-12}
  if [[ -z $text ]]; then
    echo "        <vacío>"
    return
  fi
  printf '%s\n' "$text" | head -n "$max" | cut -c1-300 | sed 's/^/        | /'
  local n
  n=$(printf '%s\n' "$text" | wc -l)
  ((n > max)) && echo "        | ... ($n líneas)"
  return 0
}

# _log STATUS DESCRIPTION : one line in $LLAVERO_TEST_LOG, when it is set.
_log() {
  [[ -n ${LLAVERO_TEST_LOG:-} ]] || return 0
  printf '%s\t%s\n' "$1" "${2//$'\n'/ }" >>"$LLAVERO_TEST_LOG"
}

# pass [DESCRIPTION]
pass() {
  PASSED=$((PASSED + 1))
  _log PASS "${1:-}"
}

# fail DESCRIPTION EXPECTED SEEN
fail() {
  FAILED=$((FAILED + 1))
  _log FAIL "$1"
  echo "FALLO: $1"
  echo "    esperado:"
  _show "$2"
  echo "    visto:"
  _show "$3" 20
}

# skip_check DESCRIPTION REASON : a check that cannot be made here (an
# optional tool is missing). It is shown, and unless something failed the
# script exits with SKIP_RC so that ctest reports the test as skipped.
skip_check() {
  SKIPPED=$((SKIPPED + 1))
  _log SKIP "$1"
  echo "OMITIDA: $1 ($2)"
}

# require_tools TOOL... : the tools the script cannot do without; a missing
# one is a failure (the closing line is printed and the script ends).
require_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) && return 0
  fail "las herramientas que usa la prueba están instaladas (bash scripts/install-deps.sh)" \
    "$*" "falta: ${missing[*]}"
  finish
}

section() { echo "--- $*"; }

# Prints the summary line and exits 1 if anything failed, SKIP_RC if a check
# was skipped (skip_check), else 0.
finish() {
  local elapsed=$(($(date +%s) - SCRIPT_START))
  echo "($(basename "$0")${SECTION:+ --section $SECTION}: ${elapsed} s)"
  ((SKIPPED == 0)) || echo "$SKIPPED omitted (OMITIDA arriba): the test is reported as skipped"
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0)) || exit 1
  ((SKIPPED == 0)) || exit "$SKIP_RC"
  exit 0
}

# run_sections : for scripts made of sections that each run alone. The script
# defines SECTIONS=(name ...) on one line (tests/CMakeLists.txt reads it to
# register one ctest entry per name) and a function test_NAME for each, which
# sets up everything it needs itself (its own data directory, server, keys).
# With --section NAME, runs test_NAME and finishes; without, runs every
# section one after another, each in its own process (as ctest does), and
# prints their summary.
run_sections() {
  local s f listed
  # shellcheck disable=SC2153 # SECTIONS is the script's
  # Every test_ function is listed, and every name has its function.
  for f in $(declare -F | awk '$3 ~ /^test_/ {print substr($3, 6)}'); do
    listed=0
    for s in "${SECTIONS[@]}"; do [[ $s == "$f" ]] && listed=1; done
    ((listed)) || fail "la sección $f está en SECTIONS (si no, ctest no la corre)" "$f en SECTIONS" "${SECTIONS[*]}"
  done
  for s in "${SECTIONS[@]}"; do
    declare -F "test_$s" >/dev/null || fail "la sección $s tiene su función test_$s" "test_$s" "no existe"
  done
  ((FAILED == 0)) || finish
  if [[ -n $SECTION ]]; then
    if ! declare -F "test_$SECTION" >/dev/null; then
      echo "sección desconocida: $SECTION (hay: ${SECTIONS[*]})" >&2
      exit 2
    fi
    "test_$SECTION"
    finish
  fi
  local rc summary=() bad=0 skipped=0
  for s in "${SECTIONS[@]}"; do
    echo "=== $s"
    bash "$0" "${ARGS[@]}" --section "$s"
    rc=$?
    summary+=("$s: $rc")
    if ((rc == SKIP_RC)); then skipped=1; elif ((rc != 0)); then bad=1; fi
  done
  echo "=== estado de salida por sección: ${summary[*]}"
  # A section that skipped a check makes the whole run skipped, never passed.
  ((bad == 0)) || exit 1
  ((skipped == 0)) || exit "$SKIP_RC"
  exit 0
}

# --- assertions ----------------------------------------------------------------

assert_eq() { # DESC EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "$2" "$3"; fi
}

# assert_same DESC A B : A and B are equal and A is not empty (for two values
# computed from files, so that two failed computations never pass).
assert_same() {
  if [[ -z $2 ]]; then
    fail "$1" "dos valores iguales y no vacíos" "el primero está vacío; el segundo: $3"
  elif [[ $2 == "$3" ]]; then
    pass "$1"
  elif [[ $2 == *$'\n'* || $3 == *$'\n'* ]]; then
    fail "$1" "sin diferencias (diff antes/después)" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"
  else
    fail "$1" "$2" "$3"
  fi
}

assert_ne() { # DESC UNEXPECTED ACTUAL
  if [[ $2 != "$3" ]]; then pass "$1"; else fail "$1" "algo distinto de: $2" "$3"; fi
}

assert_contains() { # DESC HAYSTACK NEEDLE (fixed string)
  if grep -qaF -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "un texto que contenga: $3" "$2"; fi
}

assert_not_contains() { # DESC HAYSTACK NEEDLE (fixed string, case-insensitive)
  if grep -qaiF -- "$3" <<<"$2"; then
    fail "$1" "un texto sin: $3" "$(grep -aiF -- "$3" <<<"$2")"
  else
    pass "$1"
  fi
}

assert_match() { # DESC TEXT ERE
  if grep -qaE -- "$3" <<<"$2"; then pass "$1"; else fail "$1" "un texto que cumpla /$3/" "$2"; fi
}

assert_no_match() { # DESC TEXT ERE
  if grep -qaE -- "$3" <<<"$2"; then
    fail "$1" "ninguna línea que cumpla /$3/" "$(grep -aE -- "$3" <<<"$2")"
  else
    pass "$1"
  fi
}

assert_ge() { # DESC MIN ACTUAL (integers)
  if [[ $3 =~ ^-?[0-9]+$ ]] && (($3 >= $2)); then pass "$1"; else fail "$1" ">= $2" "$3"; fi
}

assert_exists() { # DESC PATH
  if [[ -e $2 ]]; then pass "$1"; else fail "$1" "existe $2" "no existe"; fi
}

assert_absent() { # DESC PATH
  if [[ ! -e $2 ]]; then pass "$1"; else fail "$1" "no existe $2" "existe: $(ls -ld "$2")"; fi
}

# assert_ok DESC CMD... : the command exits 0 (its output is shown if not).
assert_ok() {
  local desc=$1 out rc
  shift
  out=$("$@" 2>&1 </dev/null)
  rc=$?
  if ((rc == 0)); then pass "$desc"; else fail "$desc" "estado 0 de: $*" "estado $rc; salida:
$out"; fi
}

# assert_fails DESC CMD... : the command exits non-zero.
assert_fails() {
  local desc=$1 out rc
  shift
  out=$("$@" 2>&1 </dev/null)
  rc=$?
  if ((rc != 0)); then pass "$desc"; else fail "$desc" "estado distinto de 0 de: $*" "estado 0; salida:
$out"; fi
}

# --- running the command ---------------------------------------------------------

# _command CMD... : sets CMD to the argv to execute (`llv DATA ...` expands to
# the binary with --data, so that it can run under `timeout`).
_command() {
  if [[ $1 == llv ]]; then
    CMD=("$LLAVERO" --data "$2" "${@:3}")
  else
    CMD=("$@")
  fi
}

# run CMD... : runs CMD with stdin from /dev/null (never a terminal, so it can
# never wait for a PIN), at most 120 s; sets RC, OUT and ERR.
run() {
  _command "$@"
  timeout 120 "${CMD[@]}" </dev/null >"$TMP/.out" 2>"$TMP/.err"
  RC=$?
  OUT=$(cat "$TMP/.out")
  ERR=$(cat "$TMP/.err")
}

# run_input INPUT CMD... : the same, with INPUT (printf %b: "1234\n") on stdin.
run_input() {
  local input=$1
  shift
  printf '%b' "$input" >"$TMP/.in"
  _command "$@"
  timeout 120 "${CMD[@]}" <"$TMP/.in" >"$TMP/.out" 2>"$TMP/.err"
  RC=$?
  OUT=$(cat "$TMP/.out")
  ERR=$(cat "$TMP/.err")
}

# assert_rc DESC EXPECTED : checks RC of the last run, showing its output if not.
assert_rc() {
  if [[ $RC == "$2" ]]; then
    pass "$1"
  else
    fail "$1" "estado $2" "estado $RC
stdout: $OUT
stderr: $ERR"
  fi
}

# llv DATA ARGS... : the binary on a data directory.
llv() {
  local data=$1
  shift
  "$LLAVERO" --data "$data" "$@"
}

# --- data directories --------------------------------------------------------------

# on_postgres : true when the data directories of this run use PostgreSQL
# (LLAVERO_TEST_PG).
on_postgres() { [[ -n ${LLAVERO_TEST_PG:-} ]]; }
if on_postgres; then
  # shellcheck source=tests/lib/postgres.sh
  source "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"
fi

# db_url DATA : the `db` of DATA's llavero.conf (a PostgreSQL URL, or a path).
db_url() {
  sed -n 's/^db *= *//p' "$1/llavero.conf" 2>/dev/null | tail -n 1
}

# _pg_database_of DATA : the database named by DATA's PostgreSQL URL.
_pg_database_of() {
  local url
  url=$(db_url "$1")
  url=${url#postgresql:///}
  echo "${url%%\?*}"
}

# init_template: creates, once per script, the data directory that every case
# copies ($TMP/template). `llavero init` makes six RSA-4096 keys (6 to 40 s on
# a busy machine), so when LLAVERO_TEST_TEMPLATE names a directory that
# `llavero init` made (the ctest fixture of tests/lib/make_template.sh), it is
# copied instead.
TEMPLATE=$TMP/template
init_template() {
  if on_postgres && [[ ! -d $LLAVERO_TEST_PG/data ]]; then
    skip_check "el almacén es PostgreSQL" "no hay servidor en LLAVERO_TEST_PG=$LLAVERO_TEST_PG (¿falta postgresql-15?)"
    finish
  fi
  if [[ -n ${LLAVERO_TEST_TEMPLATE:-} ]]; then
    rm -rf "$TEMPLATE"
    cp -a "$LLAVERO_TEST_TEMPLATE" "$TEMPLATE" 2>/dev/null
    RC=$? OUT="" ERR="cp -a $LLAVERO_TEST_TEMPLATE"
    assert_rc "el directorio de datos de plantilla (llavero init, LLAVERO_TEST_TEMPLATE) se copia" 0
  elif on_postgres; then
    # Its own template database, for a script run by hand.
    assert_ok "CREATE DATABASE plantilla_$$" pg_createdb "$LLAVERO_TEST_PG" "plantilla_$$"
    run "$LLAVERO" --data "$TEMPLATE" init --db "$(pg_url "$LLAVERO_TEST_PG" "plantilla_$$")"
    assert_rc "llavero init --db postgresql://… crea el directorio de datos" 0
  else
    run "$LLAVERO" --data "$TEMPLATE" init
    assert_rc "llavero init crea el directorio de datos" 0
  fi
  if [[ $RC != 0 || ! -f $TEMPLATE/llavero.conf ]]; then
    echo "No se pudo crear el directorio de datos; no tiene sentido seguir."
    FAILED=$((FAILED + 1))
    finish
  fi
}

# copy_data_dir FROM TO : a copy of a data directory that changes apart from
# it. On PostgreSQL its database is a copy of FROM's (CREATE DATABASE ...
# TEMPLATE, which needs FROM's database idle), named after this process,
# and TO's llavero.conf names it.
DATA_DIRS_MADE=0
copy_data_dir() {
  rm -rf "$2"
  cp -a "$1" "$2"
  on_postgres || return 0
  DATA_DIRS_MADE=$((DATA_DIRS_MADE + 1))
  local name="datos_$$_$DATA_DIRS_MADE" from
  from=$(_pg_database_of "$1")
  if ! pg_createdb "$LLAVERO_TEST_PG" "$name" "$from" >"$TMP/.createdb" 2>&1; then
    fail "CREATE DATABASE $name TEMPLATE $from" "estado 0" "$(cat "$TMP/.createdb")"
    finish
  fi
  local url
  url=$(pg_url "$LLAVERO_TEST_PG" "$name")
  sed -i "s|^db *=.*|db = ${url//&/\\&}|" "$2/llavero.conf"
  # Never a second data directory on the first one's database.
  if [[ $(_pg_database_of "$2") != "$name" ]]; then
    fail "$2/llavero.conf nombra su propia base" "db = $url" "$(grep '^db' "$2/llavero.conf")"
    finish
  fi
}

# fresh_data_dir DIR : a copy of the template (with its ca-passphrase file).
fresh_data_dir() { copy_data_dir "$TEMPLATE" "$1"; }

FISICA_ID=1-0647-0958
FISICA_P12=010647095876.p12
JURIDICA_ID=3-101-522899
JURIDICA_P12=310152289937.p12

# create_demo_taxpayers DATA : the física and the jurídica of the README.
create_demo_taxpayers() {
  run llv "$1" contribuyente crear --id "$FISICA_ID" --nombre "CONTRIBUYENTE" \
    --apellidos "PEÑA DE PRUEBA" --correo prueba@example.com
  assert_rc "contribuyente crear (física) en $1" 0
  run llv "$1" contribuyente crear --id "$JURIDICA_ID" \
    --nombre "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA"
  assert_rc "contribuyente crear (jurídica) en $1" 0
}

# generate DATA ID AMBIENTE OUTDIR [EXTRA ARGS...] : PIN 1234 on stdin; sets
# RC/OUT/ERR and P12 (the printed path, or empty).
generate() {
  local data=$1 id=$2 env=$3 out=$4
  shift 4
  run_input '1234\n' llv "$data" llave generar --id "$id" --ambiente "$env" --pin-stdin \
    --salida "$out" "$@"
  P12=""
  [[ $RC == 0 ]] && P12=$(printf '%s\n' "$OUT" | tail -n 1)
  return 0
}

# cert_of P12 [PIN] : the taxpayer certificate (PEM) of a .p12 on stdout.
cert_of() {
  openssl pkcs12 -in "$1" -passin "pass:${2:-1234}" -nokeys -clcerts 2>/dev/null |
    openssl x509 2>/dev/null
}

# serial_of P12 : the certificate serial, upper-case hex without leading zeros.
serial_of() {
  cert_of "$1" | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//; s/^0*//'
}

# norm_serial HEX : upper case, no leading zeros (to compare serials).
norm_serial() {
  local s=${1^^}
  printf '%s' "$s" | sed 's/^0*//'
}

# json_eval JSON PYTHON-EXPRESSION : evaluates the expression with `d` bound to
# the parsed JSON (and `env` to os.environ); prints the result.
json_eval() {
  python3 -c '
import json, os, sys
d = json.loads(sys.stdin.read())
env = os.environ
r = eval(sys.argv[1])
print(r if not isinstance(r, (list, dict)) else json.dumps(r, ensure_ascii=False, sort_keys=True))
' "$2" <<<"$1" 2>&1
}

# key_field JSON SERIAL FIELD : a field of the key with that serial in
# `llave estado --json` output ("<sin llave>" / "<sin campo>" if missing).
key_field() {
  SERIAL_WANTED=$(norm_serial "$2") json_eval "$1" "
next((str(k.get('$3', '<sin campo>')) for k in d['llaves']
      if k['serie'].upper().lstrip('0') == env['SERIAL_WANTED']), '<sin llave>')"
}

# digest [sha1|sha256] : digest of stdin, or nothing if stdin is empty (so that
# a failed extraction never compares equal to another one).
digest() {
  local algo=${1:-sha256} data
  data=$(mktemp "$TMP/digest.XXXXXX")
  cat >"$data"
  [[ -s $data ]] && "${algo}sum" <"$data" | cut -d' ' -f1
  rm -f "$data"
  return 0
}

# sql DATA QUERY : runs a query on the data directory's database (sqlite3,
# or psql on PostgreSQL: rows the same, columns separated by |).
sql() {
  if on_postgres; then
    psql -X -q -At -v ON_ERROR_STOP=1 "$(db_url "$1")" -c "$2" 2>&1
  else
    sqlite3 -batch "$1/llavero.db" "$2" 2>&1
  fi
}

# sql_write DATA STATEMENT : a write while a server may hold the database
# (SQLite's lock waited for up to 20 s); its exit status is the tool's.
sql_write() {
  if on_postgres; then
    psql -X -q -At -v ON_ERROR_STOP=1 "$(db_url "$1")" -c "$2"
  else
    sqlite3 -batch -cmd '.timeout 20000' "$1/llavero.db" "$2"
  fi
}

# sql_drop_trigger NAME TABLE : the statement that drops a trigger.
sql_drop_trigger() {
  if on_postgres; then echo "DROP TRIGGER $1 ON $2"; else echo "DROP TRIGGER $1"; fi
}

# sql_hex EXPR : the SQL of EXPR's bytes as lower-case hex.
sql_hex() {
  if on_postgres; then echo "encode($1, 'hex')"; else echo "lower(hex($1))"; fi
}

# sql_bytes HEX : a byte-string literal of the database's SQL.
sql_bytes() {
  if on_postgres; then echo "decode('$1', 'hex')"; else echo "x'$1'"; fi
}

# Everything that identifies the state of a data directory: a digest of the
# database content, the files (names, and digests of all but the database) and
# the audit verification. Used to show that a bad input changed nothing.
data_snapshot() {
  local data=$1
  if [[ -f $data/llavero.db ]]; then
    echo "db: $(sqlite3 -batch "$data/llavero.db" .dump 2>&1 | sha256sum)"
  elif [[ $(db_url "$data") == postgresql:* ]]; then
    # The rows, without what is no change: the random \restrict key of
    # pg_dump 15.14 and later, and where the id sequences stand (an insert
    # refused by a constraint still takes its number, leaving a gap).
    echo "db: $(pg_dump --no-sync "$(db_url "$data")" 2>&1 |
      grep -v -e '^\\\(un\)\?restrict ' -e '^SELECT pg_catalog\.setval(' | sha256sum)"
  fi
  if [[ -d $data ]]; then
    (cd "$data" && find . | sort)
    (cd "$data" && find . -type f ! -name 'llavero.db' -print0 | sort -z | xargs -0 -r sha256sum)
    if [[ -f $data/llavero.conf ]]; then
      echo "auditoria: $("$LLAVERO" --data "$data" auditoria verificar 2>&1 </dev/null; echo "rc=$?")"
    fi
  elif [[ -e $data ]]; then
    echo "archivo: $(sha256sum <"$data")"
  else
    echo "no existe: $data"
  fi
}

# dir_snapshot DIR : the regular files under DIR with their digests.
dir_snapshot() {
  if [[ -e $1 ]]; then
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
  else
    echo "no existe: $1"
  fi
}
