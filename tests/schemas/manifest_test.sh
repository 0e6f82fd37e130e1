#!/usr/bin/env bash
# The official XML schemas shipped in schemas/ (schemas/README.md):
#  - every file of schemas/MANIFEST.tsv is there, with the size and SHA-256
#    the manifest gives, and every .xsd under schemas/ is in the manifest;
#  - the schemas are marked `-text` for Git, so no line ending is converted;
#  - every schemaLocation resolves to a file of the manifest, and each v4.4
#    schema compiles with `xmllint --nonet` (no network, no catalog);
#  - examples/validate.sh validates the four examples against them;
#  - nothing in the repository, and nothing in the built program, points at
#    schemas outside the repository.
#
#   bash tests/schemas/manifest_test.sh build/llavero
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" "$@"

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SCHEMAS=$REPO/schemas
MANIFEST=$SCHEMAS/MANIFEST.tsv
HEADER=$'path\tbytes\tsha256\tofficial_url\talt_url\tsource'
# The schemas the reception needs, one per root element (docs/api.md).
REQUIRED=(FacturaElectronica TiqueteElectronico NotaCreditoElectronica NotaDebitoElectronica
  FacturaElectronicaCompra FacturaElectronicaExportacion ReciboElectronicoPago MensajeReceptor
  MensajeHacienda)

require_tools xmllint sha256sum find grep

# --- the manifest ----------------------------------------------------------------------

section "MANIFEST.tsv: formato"
assert_exists "existe schemas/MANIFEST.tsv" "$MANIFEST"
[[ -f $MANIFEST ]] || finish

declare -A LISTED=()  # path (relative to schemas/) -> "bytes sha256"
header_seen=""
line_no=0
while IFS= read -r line || [[ -n $line ]]; do
  line_no=$((line_no + 1))
  [[ -z $line || $line == \#* ]] && continue
  if [[ -z $header_seen ]]; then
    header_seen=$line
    assert_eq "MANIFEST.tsv: encabezado (línea $line_no)" "$HEADER" "$line"
    continue
  fi
  IFS=$'\t' read -r -a f <<<"$line"
  if ((${#f[@]} != 6)); then
    fail "MANIFEST.tsv línea $line_no: seis columnas separadas por tabuladores" "6" "${#f[@]}: $line"
    continue
  fi
  path=${f[0]} bytes=${f[1]} sha=${f[2]} url=${f[3]} alt=${f[4]} source=${f[5]}
  assert_match "línea $line_no: ruta relativa dentro de schemas/" "$path" '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$'
  assert_no_match "línea $line_no: la ruta no sube de directorio" "$path" '(^|/)\.\.(/|$)'
  assert_match "línea $line_no: bytes es un número" "$bytes" '^[0-9]+$'
  assert_match "línea $line_no: sha256 en hexadecimal (64)" "$sha" '^[0-9a-f]{64}$'
  assert_match "línea $line_no: official_url" "$url" '^https?://[^[:space:]]+$'
  assert_match "línea $line_no: alt_url ('-' o una dirección)" "$alt" '^(-|https?://[^[:space:]]+)$'
  assert_match "línea $line_no: source github:<dueño>/<repo>@<commit>:<ruta>" "$source" \
    '^github:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[0-9a-f]{40}:.+$'
  if [[ -n ${LISTED[$path]+x} ]]; then
    fail "línea $line_no: cada archivo una sola vez" "una línea para $path" "repetido"
  fi
  LISTED[$path]="$bytes $sha"
done <"$MANIFEST"
assert_ne "MANIFEST.tsv tiene encabezado" "" "$header_seen"
assert_ge "MANIFEST.tsv lista archivos" 1 "${#LISTED[@]}"

for name in "${REQUIRED[@]}"; do
  if [[ -n ${LISTED[hacienda/v4.4/${name}_V4.4.xsd]+x} ]]; then pass; else
    fail "el manifiesto lista el esquema que la recepción necesita" \
      "hacienda/v4.4/${name}_V4.4.xsd" "ausente"
  fi
done
if [[ -n ${LISTED[xmldsig-core-schema.xsd]+x} ]]; then pass; else
  fail "el manifiesto lista el esquema XML-DSig que importan los v4.4" "xmldsig-core-schema.xsd" "ausente"
fi

section "los archivos: existen, con el tamaño y el SHA-256 del manifiesto"
for path in "${!LISTED[@]}"; do
  read -r bytes sha <<<"${LISTED[$path]}"
  file=$SCHEMAS/$path
  if [[ ! -f $file || -L $file ]]; then
    fail "$path existe (archivo regular)" "$file" "no existe o no es un archivo regular"
    continue
  fi
  pass
  assert_eq "$path: bytes" "$bytes" "$(wc -c <"$file" | tr -d ' ')"
  assert_eq "$path: sha256" "$sha" "$(sha256sum <"$file" | cut -d' ' -f1)"
done

section "cada .xsd de schemas/ está en el manifiesto"
found=0
while IFS= read -r -d '' file; do
  found=$((found + 1))
  rel=${file#"$SCHEMAS/"}
  if [[ -n ${LISTED[$rel]+x} ]]; then pass; else
    fail "schemas/$rel está en MANIFEST.tsv" "una línea para $rel" "no está"
  fi
done < <(find "$SCHEMAS" -type f -name '*.xsd' -print0)
assert_eq "tantos .xsd como líneas del manifiesto" "${#LISTED[@]}" "$found"

section "Git no convierte los finales de línea"
assert_contains "schemas/.gitattributes marca *.xsd -text" \
  "$(grep -v '^#' "$SCHEMAS/.gitattributes" 2>/dev/null)" '*.xsd -text'
# Needs git and a checkout (not a source tarball): else skipped, and seen so.
if ! command -v git >/dev/null; then
  skip_check "git check-attr text (FacturaElectronica_V4.4.xsd)" "falta git"
elif ! git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  skip_check "git check-attr text (FacturaElectronica_V4.4.xsd)" "$REPO no es un checkout de git"
else
  attr=$(git -C "$REPO" check-attr text -- schemas/hacienda/v4.4/FacturaElectronica_V4.4.xsd)
  assert_eq "git check-attr text (FacturaElectronica_V4.4.xsd)" \
    "schemas/hacienda/v4.4/FacturaElectronica_V4.4.xsd: text: unset" "$attr"
fi
# FacturaElectronica_V4.4.xsd is published with bare CR line endings: a
# conversion would show here even before the SHA-256.
if [[ -f $SCHEMAS/hacienda/v4.4/FacturaElectronica_V4.4.xsd ]]; then
  assert_eq "FacturaElectronica_V4.4.xsd conserva sus CR sin LF" 0 \
    "$(tr -cd '\n' <"$SCHEMAS/hacienda/v4.4/FacturaElectronica_V4.4.xsd" | wc -c | tr -d ' ')"
fi

# --- the schemas compile offline ---------------------------------------------------------

section "cada schemaLocation apunta a un archivo del manifiesto"
while IFS= read -r -d '' file; do
  rel=${file#"$SCHEMAS/"}
  while IFS= read -r location; do
    [[ -z $location ]] && continue
    if [[ $location =~ ^[A-Za-z][A-Za-z0-9+.-]*: ]]; then
      fail "$rel: schemaLocation local (sin red)" "una ruta relativa" "$location"
      continue
    fi
    target=$(realpath -m "$(dirname "$file")/$location")
    target_rel=${target#"$SCHEMAS/"}
    if [[ $target != "$SCHEMAS/"* ]]; then
      fail "$rel: $location queda dentro de schemas/" "$SCHEMAS/..." "$target"
    elif [[ -z ${LISTED[$target_rel]+x} ]]; then
      fail "$rel: $location es un archivo del manifiesto" "$target_rel en MANIFEST.tsv" "no está"
    else
      pass
    fi
  done < <(grep -ao 'schemaLocation="[^"]*"' "$file" | sed 's/^schemaLocation="//; s/"$//')
done < <(find "$SCHEMAS" -type f -name '*.xsd' -print0)

section "cada esquema v4.4 compila sin red (xmllint --nonet)"
# A document no schema declares: xmllint exits 3 (document invalid) when the
# schema compiled, 5 when it did not.
printf '<ninguno/>\n' >"$TMP/ninguno.xml"
for name in "${REQUIRED[@]}"; do
  xsd=$SCHEMAS/hacienda/v4.4/${name}_V4.4.xsd
  [[ -f $xsd ]] || continue
  (cd "$TMP" && timeout 120 xmllint --noout --nonet --schema "$xsd" ninguno.xml) \
    >"$TMP/.out" 2>"$TMP/.err"
  RC=$?
  OUT=$(cat "$TMP/.out") ERR=$(cat "$TMP/.err")
  assert_rc "$name compila (xmllint sale con 3: esquema bien, documento ajeno)" 3
  assert_not_contains "$name: sin errores al cargar o compilar" "$ERR" "failed to"
  assert_not_contains "$name: ninguna importación omitida" "$ERR" "Skipping the import"
  want="https://cdn.comprobanteselectronicos.go.cr/xml-schemas/v4.4/${name,}"
  got=$(grep -ao 'targetNamespace="[^"]*"' "$xsd" | head -n 1 | sed 's/^targetNamespace="//; s/"$//')
  assert_eq "$name: targetNamespace" "$want" "$got"
done

# The check above can fail: a schema alone, without the XML-DSig schema it
# imports, does not compile.
if [[ -f $SCHEMAS/hacienda/v4.4/MensajeReceptor_V4.4.xsd ]]; then
  mkdir -p "$TMP/solo/a/b"
  cp "$SCHEMAS/hacienda/v4.4/MensajeReceptor_V4.4.xsd" "$TMP/solo/a/b/"
  (cd "$TMP" && timeout 120 xmllint --noout --nonet --schema solo/a/b/MensajeReceptor_V4.4.xsd \
    ninguno.xml) >/dev/null 2>&1
  RC=$? OUT="" ERR="" # for assert_rc
  assert_rc "sin xmldsig-core-schema.xsd al lado, el esquema no compila (control)" 5
fi

section "examples/validate.sh valida los ejemplos con estos esquemas"
assert_exists "examples/validate.sh existe" "$REPO/examples/validate.sh"
if [[ -f $REPO/examples/validate.sh ]]; then
  run env -u LLAVERO_XSD_DIR bash "$REPO/examples/validate.sh"
  assert_rc "examples/validate.sh" 0
  assert_contains "validate.sh usa schemas/hacienda/v4.4" "$OUT" "schemas: schemas/hacienda/v4.4"
  assert_contains "validate.sh: los cuatro ejemplos" "$OUT" "all 4 file(s) valid"
fi

# --- nothing outside the repository --------------------------------------------------------

section "nada en el repositorio busca esquemas fuera de él"
# The developers' reference material beside the repository is not part of it.
# (The patterns are written so that they do not match this file.)
outside=$(grep -rIn -E '\.\./share[d]|LLAVERO_SHARE[D]|share[d]/hacienda' \
  --exclude-dir=.git --exclude-dir='build*' --exclude-dir=node_modules \
  --exclude-dir=llavero-data --exclude-dir=out "$REPO" 2>/dev/null | sed "s|^$REPO/||")
assert_eq "ningún archivo nombra esquemas fuera del repositorio" "" "$outside"

section "el programa no nombra esquemas fuera del repositorio"
embedded=$(grep -aoE '[[:print:]]*(\.\./share[d]|share[d]/hacienda)[[:print:]]*' "$LLAVERO" | head -n 5)
assert_eq "$1 no contiene rutas a esquemas fuera del repositorio" "" "$embedded"

finish
