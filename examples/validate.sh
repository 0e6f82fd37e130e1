#!/usr/bin/env bash
# Validates comprobantes against the official v4.4 schemas (Ministerio de Hacienda) with
# xmllint, and checks that each Clave agrees with the document it is in (the clave's parts:
# docs/api.md, "Clave").
#
#   examples/validate.sh                 # the four examples in this directory
#   examples/validate.sh firmada.xml ... # any v4.4 FacturaElectronica, TiqueteElectronico,
#                                        # NotaCreditoElectronica or MensajeReceptor
#
# The schemas are the repository's own copies in schemas/hacienda/v4.4 (schemas/README.md);
# LLAVERO_XSD_DIR names another directory of *_V4.4.xsd files, as it does for `llavero serve`.
# They are never modified. Nothing outside the repository is read, and xmllint runs with
# --nonet.
#
# All four official schemas REQUIRE a ds:Signature as the last child of the root
# (<xs:element ref="ds:Signature" minOccurs="1" maxOccurs="1"/>). A signed document is
# validated against the official schema as it is. An unsigned one (the examples, before
# `llavero firmar`) is validated against a temporary copy of that schema whose only change is
# minOccurs="0" on that element; the output says so. Exit status: 0 if every file passes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
xsd_dir=${LLAVERO_XSD_DIR:-"$repo/schemas/hacienda/v4.4"}
# Every v4.4 schema imports the XML-Signature schema from "../../xmldsig-core-schema.xsd",
# relative to itself.
dsig_xsd="$xsd_dir/../../xmldsig-core-schema.xsd"
dsig_ns='http://www.w3.org/2000/09/xmldsig#'
required_sig='<xs:element ref="ds:Signature" minOccurs="1" maxOccurs="1"/>'
optional_sig='<xs:element ref="ds:Signature" minOccurs="0" maxOccurs="1"/>'

command -v xmllint >/dev/null || { echo "validate.sh: xmllint not found (apt-get install libxml2-utils)" >&2; exit 2; }
[[ -f "$dsig_xsd" && -d "$xsd_dir" ]] ||
  { echo "validate.sh: official schemas not found in $xsd_dir (or no ../../xmldsig-core-schema.xsd beside them)" >&2; exit 2; }

if (($# == 0)); then
  set -- "$here/factura-electronica.xml" "$here/tiquete-electronico.xml" \
         "$here/nota-credito-electronica.xml" "$here/mensaje-receptor.xml"
fi

echo "schemas: ${xsd_dir#"$repo/"}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The copy keeps the layout of schemas/ so that the schemas' own
# schemaLocation="../../xmldsig-core-schema.xsd" resolves to the (unchanged) copy beside it.
mkdir -p "$tmp/hacienda/v4.4"
cp "$dsig_xsd" "$tmp/xmldsig-core-schema.xsd"

# relaxed_schema NAME: path of a copy of NAME with ds:Signature optional.
relaxed_schema() {
  local out="$tmp/hacienda/v4.4/$1"
  if [[ ! -f $out ]]; then
    # sed works on the raw bytes (FacturaElectronica_V4.4.xsd has bare-CR line endings).
    sed "s|$required_sig|$optional_sig|" "$xsd_dir/$1" >"$out"
    if [[ $(grep -o -F "$optional_sig" "$out" | wc -l) -ne 1 ]]; then
      echo "validate.sh: could not make ds:Signature optional in $1" >&2
      return 1
    fi
  fi
  printf '%s\n' "$out"
}

# sig_line NAME: line of the ds:Signature declaration (CR, LF and CRLF all end a line).
sig_line() {
  awk 'BEGIN { RS = "\r\n|\r|\n" } index($0, "ref=\"ds:Signature\"") { print NR; exit }' "$xsd_dir/$1"
}

xp() { xmllint --nonet --xpath "$1" "$2" 2>/dev/null || true; }
child() { xp "string(/*/*[local-name()='$1'])" "$2"; }

# check_clave FILE ROOT: the parts of the Clave against the rest of the document.
check_clave() {
  local f=$1 root=$2 clave id fecha consecutivo want_tipo problems=()
  clave=$(child Clave "$f")
  if [[ ! $clave =~ ^[0-9]{50}$ ]]; then
    echo "clave '$clave' is not 50 digits"
    return
  fi
  [[ ${clave:0:3} == 506 ]] || problems+=("country ${clave:0:3} is not 506")
  [[ ${clave:41:1} =~ [123] ]] || problems+=("situación ${clave:41:1} is not 1, 2 or 3")
  if [[ $root == MensajeReceptor ]]; then
    # The Clave is that of the invoice being answered: its identification is the seller's.
    id=$(child NumeroCedulaEmisor "$f")
    consecutivo=$(child NumeroConsecutivoReceptor "$f")
    case $(child Mensaje "$f") in 1) want_tipo=05 ;; 2) want_tipo=06 ;; *) want_tipo=07 ;; esac
    [[ ${consecutivo:8:2} == "$want_tipo" ]] ||
      problems+=("NumeroConsecutivoReceptor type ${consecutivo:8:2}, expected $want_tipo for Mensaje $(child Mensaje "$f")")
  else
    id=$(xp "string(/*/*[local-name()='Emisor']/*[local-name()='Identificacion']/*[local-name()='Numero'])" "$f")
    fecha=$(child FechaEmision "$f")
    consecutivo=$(child NumeroConsecutivo "$f")
    case $root in
      FacturaElectronica) want_tipo=01 ;;
      NotaCreditoElectronica) want_tipo=03 ;;
      TiqueteElectronico) want_tipo=04 ;;
    esac
    local ddmmyy="${fecha:8:2}${fecha:5:2}${fecha:2:2}"
    [[ ${clave:3:6} == "$ddmmyy" ]] || problems+=("date ${clave:3:6} is not FechaEmision's $ddmmyy")
    [[ ${clave:21:20} == "$consecutivo" ]] || problems+=("consecutivo ${clave:21:20} is not NumeroConsecutivo $consecutivo")
    [[ ${consecutivo:8:2} == "$want_tipo" ]] ||
      problems+=("NumeroConsecutivo type ${consecutivo:8:2}, expected $want_tipo for $root")
  fi
  if [[ $id =~ ^[0-9]{1,12}$ ]]; then
    local padded
    padded=$(printf '%012d' "$((10#$id))")
    [[ ${clave:9:12} == "$padded" ]] || problems+=("identification ${clave:9:12} is not the emisor's $padded")
  else
    problems+=("the emisor's identification '$id' is not 1 to 12 digits")
  fi
  if ((${#problems[@]})); then
    local IFS=';'
    echo "${problems[*]}"
  fi
}

failures=0
for f in "$@"; do
  name=${f#"$repo/"}
  if [[ ! -f $f ]]; then
    echo "FAIL $name: no such file"
    failures=$((failures + 1))
    continue
  fi
  root=$(xp 'local-name(/*)' "$f")
  case $root in
    FacturaElectronica | TiqueteElectronico | NotaCreditoElectronica | MensajeReceptor)
      xsd_name="${root}_V4.4.xsd" ;;
    *)
      echo "FAIL $name: root element '$root' is not a supported v4.4 document"
      failures=$((failures + 1))
      continue ;;
  esac
  signed=$(xp "count(/*/*[local-name()='Signature' and namespace-uri()='$dsig_ns'])" "$f")
  schema="$xsd_dir/$xsd_name"
  how="official $xsd_name"
  if [[ $signed == 0 ]] && grep -q -F "$required_sig" "$schema"; then
    schema=$(relaxed_schema "$xsd_name")
    how="$xsd_name with ds:Signature made optional (temporary copy; the official schema requires it at line $(sig_line "$xsd_name")) - document is unsigned"
  fi
  if ! out=$(xmllint --nonet --noout --schema "$schema" "$f" 2>&1); then
    echo "FAIL $name against $how:"
    printf '%s\n' "$out" | grep -v ' validates$' | sed 's/^/     /'
    failures=$((failures + 1))
    continue
  fi
  clave_problems=$(check_clave "$f" "$root")
  if [[ -n $clave_problems ]]; then
    echo "FAIL $name: valid against $how, but its Clave disagrees: $clave_problems"
    failures=$((failures + 1))
    continue
  fi
  echo "OK   $name: valid against $how; Clave consistent"
done

if ((failures)); then
  echo "$failures of $# file(s) failed"
  exit 1
fi
echo "all $# file(s) valid"
