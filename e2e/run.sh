#!/usr/bin/env bash
# The browser tests of the portal (e2e/portal.test.mjs): node's test runner,
# npm playwright-core and Debian's chromium, against a `llavero serve` that
# the tests start themselves.
#   bash e2e/run.sh BUILD_DIR
# Screenshots go to BUILD_DIR/screenshots. Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?uso: bash e2e/run.sh BUILD_DIR}" && pwd)

export LLAVERO=${LLAVERO:-$build/llavero}
export SCREENSHOT_DIR=${SCREENSHOT_DIR:-$build/screenshots}

for need in node openssl sqlite3 python3; do
  command -v "$need" >/dev/null || { echo "falta $need (bash scripts/install-deps.sh)" >&2; exit 2; }
done
[[ -x /usr/bin/chromium || -n ${CHROMIUM:-} ]] || { echo "falta chromium (bash scripts/install-deps.sh)" >&2; exit 2; }
[[ -x $LLAVERO ]] || { echo "no es ejecutable: $LLAVERO" >&2; exit 2; }
if [[ ! -d $here/node_modules/playwright-core ]]; then
  echo "falta playwright-core en e2e/node_modules (bash scripts/install-deps.sh)" >&2
  exit 2
fi

rm -f "$SCREENSHOT_DIR"/*.png
mkdir -p "$SCREENSHOT_DIR"
cd "$here"
exec node --test --test-reporter=spec --test-concurrency=1 "$here"/*.test.mjs
