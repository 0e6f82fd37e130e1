#!/usr/bin/env bash
# make mutants: breaks one rule of docs/architecture.md ("Rules and the tests
# that guard them") at a time, in a copy of the tree, and checks that the
# tests named for that rule fail. A mutation the tests do not notice is a
# rule nobody guards: it prints SURVIVED and the run exits 1.
#
#   bash scripts/mutants.sh [BUILD] [NAME...]
#
# BUILD (default build) is the repository's own build directory. The copy
# lives in $LLAVERO_MUTANTS (default build-mutants/): tree/ holds the
# sources, build/ its own persistent build, so each mutation recompiles one
# file and relinks. The first run seeds build/ from BUILD (the files copied
# with their times, the absolute paths in CMake's files rewritten) so that it
# does not start from nothing; if that fails, CMake configures it afresh.
# Each run first checks that the unmutated copy passes every selected test:
# a test that fails anyway would "catch" every mutation.
#
# Each mutation: a name, the file, a perl substitution (perl -0pe, the whole
# file as one string; it must change the file, or the mutation is stale and
# the run fails), and the ctest -R regex of the tests that guard the rule
# (its build has one ctest entry per gtest test: LLAVERO_CTEST_PER_TEST).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" 2>/dev/null && pwd) || {
  echo "mutants: no existe el directorio de compilación ${1:-build} (make build)" >&2
  exit 2
}
shift || true
only=("$@")
work=${LLAVERO_MUTANTS:-$root/build-mutants}
jobs=${JOBS:-2}

MUTANTS=(
  # name | file | perl substitution (no "|" in it) | ctest -R (the rest of the line).
  # CMake's regular expressions take at most 9 groups in parentheses, and the
  # first check joins every regex in one: name several tests with ^A$|^B$.
  "01-auditoria-sin-at|src/store/audit.cc|s/\n  field\(row\.at\);//|^AuditLog\.|^Stores\.ChangedRow|^Stores\.Deleted|^Stores\.ARowWith|^Stores\.IntactChain"
  "02-auditoria-sin-seq|src/store/audit.cc|s/\n  field\(std::to_string\(row\.seq\)\);//|^AuditLog\.|^Stores\.ChangedRow|^Stores\.Deleted|^Stores\.ARowWith|^Stores\.IntactChain"
  "03-auditoria-sin-actor|src/store/audit.cc|s/\n  field\(row\.actor\);//|^AuditLog\.|^Stores\.ChangedRow|^Stores\.Deleted|^Stores\.ARowWith|^Stores\.IntactChain"
  "04-ocsp-cache-no-se-limpia|src/service/publication.cc|s/(if \(\*epoch != epoch_\) \{)\n    answers_\.clear\(\);/\$1/|^OcspCache\."
  "05-crl-no-se-reconstruye|src/service/publication.cc|s/i\.crl && i\.crl_epoch == \*epoch && now/i.crl \&\& now/|^CrlPublication\."
  "06-sin-indice-una-activa|src/store/migrations.cc|s/CREATE UNIQUE INDEX certificates_one_active(\n[^\n]*\nCREATE UNIQUE INDEX certificates_one_pending)/CREATE INDEX certificates_one_active\$1/|^Stores\.TheDatabase|^PendingKey\.TheDatabase"
  "07-serie-repetible|src/store/migrations.cc|s/  UNIQUE \(authority_id, serial_hex\),\n(  CHECK \(status = 'reserved' OR certificate_der IS NOT NULL\),\n  CHECK \(\(status = 'revoked'\) = \(revoked_at IS NOT NULL\)\),\n  CHECK \(status <> 'pending')/\$1/|^Stores\.ASerialIs|^Stores\.TheDatabaseItselfRefusesADuplicateSerial"
  "08-pin-de-cinco|src/pki/pin.cc|s/typed\.size\(\) == 4;/typed.size() >= 4 and typed.size() <= 5;/|^Pin\."
  "09-xades-sin-resumen|src/xades/signature.cc|s/result\.reference_ok\.push_back\(ref != nullptr && ref->status == xmlSecDSigStatusSucceeded\);/result.reference_ok.push_back(ref != nullptr);/|^Xades\.Tampering"
  "10-descarga-no-se-borra|src/service/downloads.cc|s/  return store_\.delete_download\(token_hash\);/  (void)token_hash;\n  return Ok{};/|^Downloads\."
  "11-token-de-otro-ambiente|src/service/token_service.cc|s/if \(realm\.environment != env\)/if (false \&\& realm.environment != env)/|^TokenService\.TokenOfTheOther"
  "12-espera-sin-direccion|src/service/login_throttle.cc|s/\n  key\.append\(address\);//|^(LoginThrottle|TokenThrottle)\."
  "13-espera-sin-cuenta|src/service/login_throttle.cc|s/key\.append\(account\)\.push_back/key.push_back/|^(LoginThrottle|TokenThrottle)\."
  "14-pendiente-no-vence|src/service/key_service.cc|s/auto expired = store_\.pending_before\(now - kPendingGraceSeconds\);/auto expired = store_.pending_before(now - 50 * 365 * 86400);/|^PendingKey\."
  # Costa Rica's time (UTC-6) where a person or the clave reads it
  "15-hora-firmada-en-utc|src/xades/dates.cc|s/static_cast<std::time_t>\(t \+ kCostaRicaOffset\)/static_cast<std::time_t>(t)/|^Xades\.TimesAreWrittenInCostaRicaTime$"
  "16-fecha-de-la-clave-en-utc|src/service/fecha.cc|s/const auto local = instant - std::chrono::hours\(6\);/const auto local = instant;/|^Fecha\.CostaRicaDateIsUtcMinusSix$"
  "17-hora-de-pantalla-en-utc|src/util/clock.cc|s/static_cast<std::time_t>\(t \+ kCostaRicaOffsetSeconds\)/static_cast<std::time_t>(t)/|^CostaRicaTime\."
  # what makes a comprobante aceptado or rechazado
  "18-firma-rota-aceptada|src/service/processing.cc|s/    reasons\.push_back\(failed->reason\);\n/    (void)failed;\n/|^Processing\.ChangedAfterSigningIsRejected$|^Processing\.UnsignedComprobanteIsRejected$|^Processing\.RevokedKeyIsRejected$"
  "19-firmante-no-es-el-emisor|src/service/processing.cc|s/signer->digits\(\) != expected\)/false)/|^Processing\.SignedBySomeoneOtherThanTheEmisorIsRejected$|^Processing\.MensajeReceptorSignedBySomeoneOtherThanTheReceptorIsRejected$"
  "20-consecutivo-repetido-aceptado|src/service/document_rules.cc|s/  if \(!\*other\) return Ok\{\};\n/  return Ok{};\n/|^ProcessingRules\.AConsecutivoUsedBeforeIsMinusNinetyNine$"
  "21-totales-sin-revisar|src/service/document_rules.cc|s/if \(config\.rule_totales\) totals_rules/if (false) totals_rules/|^ProcessingRules\.TotalsThatDoNotAddUpAreRejected$"
  "22-fecha-futura-aceptada|src/service/document_rules.cc|s/if \(at > now \+ config\.fecha_future_seconds\)/if (false)/|^ProcessingRules\.FechaEmisionTooOldOrInTheFutureIsMinusSixteen$"
  "23-nota-de-otro-emisor|src/service/document_rules.cc|s/if \(\(\*referenced\)->emisor_numero != c\.emisor_numero\)/if (false)/|^ProcessingRules\.ANotaMustReferenceADocumentOfItsEmisor$"
  "24-almacen-caido-decide|src/service/document_rules.cc|s/  if \(!other\) return other\.error\(\);\n  if \(!\*other\)/  if (!other) return Ok{};\n  if (!*other)/|^ProcessingRules\.AStoreThatDoesNotAnswerDecidesNothing$"
  # the HTTP framing and limits
  "25-http-te-con-content-length|src/http/http.cc|s/  if \(header\.count\(http::field::content_length\) != 0\)\n    return \"Content-Length y Transfer-Encoding juntos\.\";\n//|^FramingProblem\.ContentLengthWithTransferEncodingIsNamed$|^Server\.TransferEncodingOtherThanAFinalChunkedIsRefusedAndTheConnectionClosed$"
  "26-http-te-no-chunked|src/http/http.cc|s/if \(value != \"chunked\"\)/if (value.empty())/|^FramingProblem\.OnlyAPlainChunkedTransferEncodingIsTaken$|^Server\.TransferEncodingOtherThanAFinalChunkedIsRefusedAndTheConnectionClosed$"
  "27-http-cabecera-sin-plazo|src/http/server.cc|s/\.expires_after\(timeout\);/.expires_after(timeout * 1000);/|^Server\.AHeaderTrickledByteByByteMeetsItsDeadline$"
  "28-http-cabecera-sin-limite|src/http/server.cc|s/\n    parser_->header_limit\(static_cast<std::uint32_t>\(server_\.options\.header_limit\)\);//|^Server\.AHeaderBeyondTheConfiguredLimitIs431$"
  "29-http-content-length-sin-limite|src/http/server.cc|s/length && \*length > limit\)/length \&\& false)/|^Server\.ABodyBeyondTheLimitOfItsRouteIs413AnnouncedOrChunked$"
  "30-http-chunked-sin-limite|src/http/server.cc|s/parser_->body_limit\(limit\);/parser_->body_limit(boost::none);/|^Server\.ABodyBeyondTheLimitOfItsRouteIs413AnnouncedOrChunked$"
  "31-http-una-conexion-de-mas|src/http/client_limits.cc|s/client\.connections >= options_\.connections_per_address/client.connections > options_.connections_per_address/|^ClientLimits\.AnAddressHoldsAtMostItsShareOfConnections$|^Server\.OneAddressCannotTakeEveryConnection$"
  "32-http-sin-ritmo|src/http/client_limits.cc|s/if \(bucket\.tokens >= 1\) \{/if (bucket.tokens >= 0) {/|^ClientLimits\.ABurstThenTheSteadyRateAndRetryAfterSaysWhen$|^Server\.RequestsBeyondTheRateOfAnAddressGet429WithRetryAfter$"
  "33-formulario-de-diecisiete|src/http/http.cc|s/form\.size\(\) >= max_fields/form.size() > max_fields/|^ParseForm\.SixteenFieldsAreAcceptedAndSeventeenAreNot$|^ParseForm\.SeventeenPairsAreRefusedEvenWhenOneRepeatsAKey$"
  "34-revocacion-sin-esperar-el-arriendo|src/store/postgres/postgres_store.cc|s/if \(moved_epoch\) std::this_thread::sleep_for/if (false) std::this_thread::sleep_for/|^Stores\.ARevocationThroughAnotherStoreMovesTheEpochAtOnce/Postgres"
)

say() { printf '%s\n' "$*"; }

# sync_tree: the repository's files (tracked and new, not ignored) into
# tree/, copying only those whose bytes differ so that make's times stay
# right and a second run rebuilds only what changed. A file new to tree/
# keeps its time (the seeded build's objects match it); one that differs
# gets a new time.
sync_tree() {
  local f
  mkdir -p "$work/tree"
  while IFS= read -r -d '' f; do
    [[ -f "$root/$f" ]] || continue
    if [[ ! -e "$work/tree/$f" ]]; then
      mkdir -p "$work/tree/$(dirname "$f")"
      cp -p "$root/$f" "$work/tree/$f"
    elif ! cmp -s "$root/$f" "$work/tree/$f"; then
      # A new time, not the repository's: the copy may be a mutant that an
      # interrupted run left behind, compiled after the repository's file
      # was last changed.
      cp "$root/$f" "$work/tree/$f"
    fi
  done < <(git -C "$root" ls-files -z --cached --others --exclude-standard)
}

# seed_build: build/ from BUILD, its absolute paths rewritten (text files
# only; objects keep their times, so make sees them up to date).
seed_build() {
  [[ -f "$build/CMakeCache.txt" ]] || return 1
  say "mutants: copiando $build a $work/build (primera vez)"
  cp -a "$build" "$work/build" || return 1
  rm -rf "$work/build/tests/plantilla-datos"
  # The build directory may lie inside the repository: mark it first.
  # Each file keeps its time: objects depend on flags.make and the like, and
  # a newer one would make make rebuild everything.
  local f when
  while IFS= read -r -d '' f; do
    when=$(stat -c %Y "$f")
    sed -i -e "s|$build|@MUTANTS_BUILD@|g" -e "s|$root|$work/tree|g" \
      -e "s|@MUTANTS_BUILD@|$work/build|g" "$f"
    touch -d "@$when" "$f"
  done < <(grep -rlIZ -e "$root" "$work/build")
}

configure() {
  if [[ ! -f "$work/build/CMakeCache.txt" ]]; then
    seed_build || rm -rf "$work/build"
  fi
  if ! cmake -S "$work/tree" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLAVERO_CTEST_PER_TEST=ON \
    >"$work/configure.log" 2>&1; then
    say "mutants: el seed no sirvió; se configura de nuevo"
    rm -rf "$work/build"
    cmake -S "$work/tree" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLAVERO_CTEST_PER_TEST=ON \
      >"$work/configure.log" 2>&1 || {
      cat "$work/configure.log" >&2
      exit 2
    }
  fi
}

build_tests() {
  cmake --build "$work/build" -j "$jobs" --target llavero_tests >"$work/build.log" 2>&1
}

# run_tests REGEX : 0 when every test of REGEX passes; 3 when none matches.
run_tests() {
  local n
  n=$(cd "$work/build" && ctest -N -R "$1" | sed -n 's/^Total Tests: //p')
  [[ "${n:-0}" -gt 0 ]] || return 3
  (cd "$work/build" && ctest -R "$1" -j "$jobs" --timeout 300 >"$work/ctest.log" 2>&1)
}

selected() {
  local name=$1 o
  [[ ${#only[@]} -eq 0 ]] && return 0
  for o in "${only[@]}"; do [[ "$name" == "$o"* ]] && return 0; done
  return 1
}

mkdir -p "$work"
sync_tree
configure

# The unmutated copy first.
regexes=()
for m in "${MUTANTS[@]}"; do
  IFS='|' read -r name _ _ regex <<<"$m"
  selected "$name" && regexes+=("$regex")
done
all=$(IFS='|'; echo "${regexes[*]}")
if ! build_tests; then
  tail -n 40 "$work/build.log" >&2
  say "mutants: la copia sin mutar no compila" >&2
  exit 2
fi
run_tests "$all"
rc=$?
if [[ $rc -eq 3 ]]; then
  say "mutants: la unión de las expresiones no elige ninguna prueba (¿más de 9 grupos entre paréntesis?)" >&2
  exit 2
fi
if [[ $rc -ne 0 ]]; then
  tail -n 40 "$work/ctest.log" >&2
  say "mutants: sin mutar, las pruebas ya fallan (o ninguna coincide): nada que medir" >&2
  exit 2
fi

caught=0 survived=0 broken=0
for m in "${MUTANTS[@]}"; do
  IFS='|' read -r name file subst regex <<<"$m"
  selected "$name" || continue
  target="$work/tree/$file"
  perl -0pe "$subst" "$root/$file" >"$target.mutant"
  if cmp -s "$root/$file" "$target.mutant"; then
    rm -f "$target.mutant"
    say "STALE     $name ($file: la sustitución ya no cambia nada)"
    broken=$((broken + 1))
    continue
  fi
  mv "$target.mutant" "$target"
  # Interrupted now, the next run's sync_tree puts the original back.
  if ! build_tests; then
    say "NOBUILD   $name (el mutante no compila; $work/build.log)"
    broken=$((broken + 1))
  else
    run_tests "$regex"
    case $? in
      0) say "SURVIVED  $name  (ctest -R '$regex' pasa)"; survived=$((survived + 1)) ;;
      3) say "NOTESTS   $name  (ctest -R '$regex' no elige ninguna prueba)"; broken=$((broken + 1)) ;;
      *) say "caught    $name  ($(grep -o '[0-9]* tests failed out of [0-9]*' "$work/ctest.log"); ctest -R '$regex')"
         caught=$((caught + 1)) ;;
    esac
  fi
  # The original back, with a new time so that make recompiles it.
  cp "$root/$file" "$target"
done

say "mutants: $caught caught, $survived survived, $broken sin medir (de $((caught + survived + broken)))"
[[ $survived -eq 0 && $broken -eq 0 ]]
