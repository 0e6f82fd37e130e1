#!/usr/bin/env bash
# Installs the Debian 12 packages llavero builds, tests and runs with.
# Idempotent: packages already present are not touched, and apt-get is not
# called at all when nothing is missing. Uses sudo when not root.
set -euo pipefail

packages=(
  # toolchain; clang and its compiler-rt for the fuzz targets (`make fuzz`)
  build-essential cmake pkg-config clang libclang-rt-14-dev
  # HTTP (Beast, JSON, URL) — the 1.81 packages, not the default 1.74 ones
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  # crypto, PKI, storage, passwords
  libssl-dev openssl libsqlite3-dev sqlite3 libsodium-dev
  # the shared store (libpq) and the PostgreSQL server its tests start
  libpq-dev postgresql-15
  # several servers on one PostgreSQL behind a load balancer (docs/deploy.md,
  # tests/deploy/, `make bench`)
  haproxy
  # XML signatures (XAdES) and schema validation of invoices
  libxml2-dev libxmlsec1-dev libxmlsec1-openssl xmlsec1 libxml2-utils
  # the reception's callbacks (HTTP client) and RFC 3339 dates
  libcurl4-openssl-dev libhowardhinnant-date-dev
  # logging, formatting, command line, templates
  libfmt-dev libspdlog-dev libcli11-dev libkainjow-mustache-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  # what the tests drive and check with: keytool, curl, python3 (JSON, raw
  # sockets), wrk (load for `make bench`)
  openjdk-17-jre-headless curl python3 wrk
  # the metrics test parses /metrics with Prometheus' own text parser
  python3-prometheus-client
  # the browser tests (e2e/): Debian's Chromium, driven by npm playwright-core
  # (which never downloads a browser of its own), and fonts for readable
  # screenshots
  chromium fonts-dejavu-core fonts-liberation
  # the PDF of an emitted comprobante (Cairo, Pango, the clave's QR code) and
  # what its tests read it back with (pdftotext, pdfinfo)
  libcairo2-dev libpango1.0-dev libqrencode-dev poppler-utils
  # CA keys in a PKCS#11 token (`llavero init --pkcs11`): libp11 and the
  # SoftHSM2 token its tests use, pkcs11-tool to look into the token, and
  # the PKCS#11 C header (p11-kit's) for making non-extractable keys
  libp11-dev softhsm2 opensc libp11-kit-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: todo instalado"
else
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

  echo "install-deps: instalando ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser tests' npm dependencies (playwright-core and axe-core, pinned by
# e2e/package-lock.json), installed only when one is missing.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -f "$root/e2e/package.json" ] && { [ ! -d "$root/e2e/node_modules/playwright-core" ] ||
  [ ! -d "$root/e2e/node_modules/axe-core" ]; }; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: falta npm (y node): las pruebas de navegador (e2e/) lo necesitan para instalar playwright-core" >&2
    exit 1
  fi
  echo "install-deps: npm ci en e2e/ (playwright-core, axe-core)"
  npm ci --prefix "$root/e2e" --no-audit --no-fund
fi

# The signature tests' second XAdES implementation (npm xadesjs and
# @xmldom/xmldom, pinned by tests/xades/package-lock.json), installed only
# when it is missing. Offline, the install fails with a warning and the tests
# that need it are reported as skipped.
if [ -f "$root/tests/xades/package.json" ] && [ ! -d "$root/tests/xades/node_modules/xadesjs" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "install-deps: npm ci en tests/xades/ (xadesjs)"
    npm ci --prefix "$root/tests/xades" --no-audit --no-fund ||
      echo "install-deps: no se pudo instalar xadesjs (¿sin red?); las pruebas xades.xadesjs se omitirán" >&2
  else
    echo "install-deps: falta npm; las pruebas xades.xadesjs se omitirán" >&2
  fi
fi
