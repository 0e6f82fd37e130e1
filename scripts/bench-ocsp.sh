#!/usr/bin/env bash
# OCSP GET throughput and p99 latency over loopback with keep-alive, against
# the same server answering a fixed body of the same size from memory
# (`serve --baseline-bytes N`, GET /_baseline), in the same run. Issue 3,
# "Benchmark": goal OCSP rps / baseline rps >= 0.5.
#
#   bash scripts/bench-ocsp.sh BUILD_DIR
#
# A throwaway data directory (CAs, one taxpayer, one pruebas key), one DER
# OCSP request without nonce for that certificate, then wrk against
# GET /stag/ocsp/pf/<base64> and GET /_baseline with the same threads,
# connections and duration: a warm-up of each, then two interleaved rounds
# (OCSP, baseline, baseline, OCSP, so a drift in machine load touches both
# sides alike). Only 127.0.0.1; about a minute in all.
#
# Knobs (environment): WRK_THREADS (2), WRK_CONNECTIONS (32), WRK_DURATION
# (10s), WRK_WARMUP (3s), KEEP_BENCH_DIR=1 keeps the data directory and logs.
set -euo pipefail

if [[ $# -ne 1 || ! -x $1/llavero ]]; then
  echo "uso: bash $0 BUILD_DIR   (BUILD_DIR/llavero debe existir)" >&2
  exit 2
fi
LLAVERO=$(cd "$1" && pwd)/llavero
THREADS=${WRK_THREADS:-2}
CONNECTIONS=${WRK_CONNECTIONS:-32}
DURATION=${WRK_DURATION:-10s}
WARMUP=${WRK_WARMUP:-3s}
SERIALS=${WRK_SERIALS:-256}
GOAL=0.5

BENCH_NAME=bench-ocsp
# shellcheck source=bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
require_tools wrk openssl curl python3

# --- a data directory with one pruebas key -------------------------------------

new_data_dir
"$LLAVERO" --data "$D" contribuyente crear --id 1-0647-0958 --nombre CONTRIBUYENTE \
  --apellidos "PEÑA DE PRUEBA" >/dev/null
P12=$(echo 1234 | "$LLAVERO" --data "$D" llave generar --id 1-0647-0958 --ambiente pruebas \
  --pin-stdin --salida "$D/out" 2>/dev/null | tail -n 1)
[[ -f $P12 ]] || die "llave generar no dejó el .p12"
openssl pkcs12 -in "$P12" -passin pass:1234 -nokeys -clcerts 2>/dev/null |
  openssl x509 -out "$TMP/c.pem" 2>/dev/null
[[ -s $TMP/c.pem ]] || die "no se pudo extraer el certificado de $P12"
ISSUER=$D/ca/pruebas/pf.pem
openssl ocsp -issuer "$ISSUER" -cert "$TMP/c.pem" -no_nonce -reqout "$TMP/req.der" >/dev/null 2>&1
[[ -s $TMP/req.der ]] || die "openssl ocsp no escribió la solicitud"
# Base64 of the DER request, percent-encoded for the path (RFC 6960 A.1).
ENCODED=$(python3 -c 'import base64, sys, urllib.parse
print(urllib.parse.quote(base64.b64encode(open(sys.argv[1], "rb").read()).decode(), safe=""))' \
  "$TMP/req.der")
OCSP_PATH=/stag/ocsp/pf/$ENCODED
# The same certificate with a nonce; and SERIALS random serials, one request
# each, for wrk's Lua script to cycle through.
openssl ocsp -issuer "$ISSUER" -cert "$TMP/c.pem" -reqout "$TMP/req-nonce.der" >/dev/null 2>&1
[[ -s $TMP/req-nonce.der ]] || die "openssl ocsp no escribió la solicitud con nonce"
for i in $(seq 1 "$SERIALS"); do
  openssl ocsp -issuer "$ISSUER" -serial "0x$(openssl rand -hex 16)" -no_nonce \
    -reqout "$TMP/req-serial-$i.der" >/dev/null 2>&1 || die "openssl ocsp -serial falló"
done
python3 - "$TMP" "$SERIALS" <<'PY' || die "no se pudieron codificar las solicitudes"
import base64, sys, urllib.parse
tmp, n = sys.argv[1], int(sys.argv[2])
enc = lambda f: urllib.parse.quote(base64.b64encode(open(f, "rb").read()).decode(), safe="")
open(f"{tmp}/nonce-path.txt", "w").write("/stag/ocsp/pf/" + enc(f"{tmp}/req-nonce.der"))
paths = ['"/stag/ocsp/pf/%s"' % enc(f"{tmp}/req-serial-{i}.der") for i in range(1, n + 1)]
open(f"{tmp}/serials.lua", "w").write(
    "local paths = {" + ",\n".join(paths) + "}\n"
    "local i = 0\n"
    "request = function()\n"
    "  i = i % #paths + 1\n"
    "  return wrk.format(\"GET\", paths[i])\n"
    "end\n")
PY
NONCE_URL=http://127.0.0.1:$PORT$(cat "$TMP/nonce-path.txt")
OCSP_URL=http://127.0.0.1:$PORT$OCSP_PATH
BASELINE_URL=http://127.0.0.1:$PORT/_baseline

# --- the size of one OCSP answer -------------------------------------------------

start_server "$TMP/serve-size.log"
curl -sf --max-time 30 -o "$TMP/resp.der" "$OCSP_URL" || die "GET $OCSP_PATH falló"
SIZE=$(stat -c %s "$TMP/resp.der")
STATUS=$(openssl ocsp -respin "$TMP/resp.der" -issuer "$ISSUER" -cert "$TMP/c.pem" -noverify \
  2>/dev/null | grep -F "$TMP/c.pem:" | sed 's/^.*: *//') || true
[[ $STATUS == good ]] || die "la respuesta OCSP no dice good (dice: '${STATUS:-nada}')"
stop_server || die "el servidor no salió con estado 0 tras SIGTERM"
echo "Respuesta OCSP: $SIZE bytes, good. Solicitud: GET $(printf '%.60s' "$OCSP_PATH")..."

# --- the measurement -----------------------------------------------------------------

start_server "$TMP/serve.log" --baseline-bytes "$SIZE"
BASE_SIZE=$(curl -sf --max-time 10 "$BASELINE_URL" | wc -c)
[[ $BASE_SIZE == "$SIZE" ]] || die "/_baseline devolvió $BASE_SIZE bytes, no $SIZE"

# run_wrk NAME URL DURATION [wrk ARGS...] : sets RPS and P99_MS, keeps wrk's output.
run_wrk() {
  local name=$1 url=$2 duration=$3 out="$TMP/wrk-$1.txt" p99
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 5s --latency "${@:4}" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk falló ($name)"; }
  RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  p99=$(awk '$1 == "99%" { print $2 }' "$out")
  [[ -n $RPS && -n $p99 ]] || { cat "$out" >&2; die "no se pudo leer la salida de wrk ($name)"; }
  P99_MS=$(to_ms "$p99")
  if grep -qE "Non-2xx|Socket errors" "$out"; then
    echo "  aviso ($name): $(grep -E "Non-2xx|Socket errors" "$out" | tr -s ' ' | paste -sd';')"
  fi
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (keep-alive), 127.0.0.1:$PORT"
echo "Calentamiento ($WARMUP cada uno)..."
run_wrk warmup-ocsp "$OCSP_URL" "$WARMUP"
run_wrk warmup-baseline "$BASELINE_URL" "$WARMUP"

declare -a NAMES=() KINDS=() RPSS=() P99S=()
round=0
for kind in ocsp baseline baseline ocsp; do
  round=$((round + 1))
  url=$OCSP_URL
  [[ $kind == baseline ]] && url=$BASELINE_URL
  run_wrk "$round-$kind" "$url" "$DURATION"
  NAMES+=("$round-$kind")
  KINDS+=("$kind")
  RPSS+=("$RPS")
  P99S+=("$P99_MS")
  printf '  %-12s %12s req/s   p99 %8s ms\n' "$round-$kind" "$RPS" "$P99_MS"
done

# The slow paths: every answer signed. One nonce answer is checked first.
curl -sf --max-time 10 -o "$TMP/resp-nonce.der" "$NONCE_URL" || die "GET OCSP con nonce falló"
openssl ocsp -respin "$TMP/resp-nonce.der" -reqin "$TMP/req-nonce.der" -issuer "$ISSUER" \
  -cert "$TMP/c.pem" -noverify 2>/dev/null | grep -qF "$TMP/c.pem: good" ||
  die "la respuesta con nonce no dice good"
run_wrk warmup-nonce "$NONCE_URL" "$WARMUP"
run_wrk nonce "$NONCE_URL" "$DURATION"
NONCE_RPS=$RPS NONCE_P99=$P99_MS
printf '  %-12s %12s req/s   p99 %8s ms\n' nonce "$RPS" "$P99_MS"
run_wrk serials "$OCSP_URL" "$DURATION" -s "$TMP/serials.lua"
SERIALS_RPS=$RPS SERIALS_P99=$P99_MS
printf '  %-12s %12s req/s   p99 %8s ms\n' "$SERIALS-series" "$RPS" "$P99_MS"

# The answer is still a good OCSP response after the load.
curl -sf --max-time 10 -o "$TMP/resp-after.der" "$OCSP_URL" || die "GET OCSP tras la carga falló"
openssl ocsp -respin "$TMP/resp-after.der" -issuer "$ISSUER" -cert "$TMP/c.pem" -noverify \
  2>/dev/null | grep -qF "$TMP/c.pem: good" || die "tras la carga la respuesta OCSP ya no dice good"

SERVER_RC=0
stop_server || SERVER_RC=$?
echo "Servidor detenido con SIGTERM (estado $SERVER_RC)."

# The bound of the slow paths, on this machine now: RSA-2048 signatures a
# second over all its cores (the responder's key is RSA-2048).
CORES=$(nproc)
SIGN_PER_S=$(openssl speed -seconds 3 -multi "$CORES" rsa2048 2>/dev/null |
  awk '/^rsa 2048 bits/ { v = $(NF - 1) } END { print v }')
[[ -n $SIGN_PER_S ]] || die "openssl speed rsa2048 no dio sign/s"

python3 - "$GOAL" "$SIZE" "${KINDS[*]}" "${RPSS[*]}" "${P99S[*]}" "$SIGN_PER_S" "$CORES" \
  "$NONCE_RPS" "$NONCE_P99" "$SERIALS_RPS" "$SERIALS_P99" "$SERIALS" <<'PY'
import sys
goal, size = float(sys.argv[1]), int(sys.argv[2])
sign_s, cores = float(sys.argv[6]), int(sys.argv[7])
n_rps, n_p99, s_rps, s_p99, serials = (float(sys.argv[8]), float(sys.argv[9]),
                                       float(sys.argv[10]), float(sys.argv[11]), int(sys.argv[12]))
kinds, rps, p99 = sys.argv[3].split(), [float(x) for x in sys.argv[4].split()], [float(x) for x in sys.argv[5].split()]
def pick(kind, values):
    return [v for k, v in zip(kinds, values) if k == kind]
o_rps, b_rps = pick("ocsp", rps), pick("baseline", rps)
o_p99, b_p99 = pick("ocsp", p99), pick("baseline", p99)
mean = lambda v: sum(v) / len(v)
print()
print(f"{'':<22}{'req/s (media)':>15}{'p99 ms (media)':>16}{'p99 ms (peor)':>15}")
print(f"{'OCSP GET en caché':<22}{mean(o_rps):>15.0f}{mean(o_p99):>16.2f}{max(o_p99):>15.2f}")
print(f"{'baseline (' + str(size) + ' B)':<22}{mean(b_rps):>15.0f}{mean(b_p99):>16.2f}{max(b_p99):>15.2f}")
ratio = mean(o_rps) / mean(b_rps)
rounds = ", ".join(f"{o / b:.2f}" for o, b in zip(o_rps, b_rps))
print(f"{'OCSP GET con nonce':<22}{n_rps:>15.0f}{n_p99:>16.2f}")
print(f"{'OCSP GET ' + str(serials) + ' series':<22}{s_rps:>15.0f}{s_p99:>16.2f}")
print(f"\nEl mejor caso (respuesta en caché, sin nonce, un certificado):")
print(f"ratio OCSP rps / baseline rps = {ratio:.2f} (pares: {rounds}) "
      f"(goal >= {goal}): {'PASS' if ratio >= goal else 'BELOW GOAL'}")
print(f"\nLos caminos lentos, una firma por respuesta, contra la cota de "
      f"openssl speed -multi {cores} rsa2048 = {sign_s:.0f} firmas/s medida ahora:")
print(f"ratio OCSP con nonce / firmas RSA = {n_rps / sign_s:.2f}")
print(f"ratio OCSP {serials} series (sin caché) / firmas RSA = {s_rps / sign_s:.2f}")
PY
[[ $SERVER_RC == 0 ]] || die "el servidor no salió con estado 0 tras SIGTERM"
