#!/usr/bin/env bash
# The PostgreSQL cluster that one ctest run shares (tests/lib/postgres.sh),
# and the PostgreSQL twin of the "plantilla" data directory. ctest runs these
# as the set-up and clean-up of its fixtures (tests/CMakeLists.txt):
#
#   bash tests/lib/pg_cluster.sh build/llavero DIR start
#       fixture "postgres": a cluster in DIR (one left by a run that was
#       killed is stopped and replaced); DIR/url is the URL of its database
#       "postgres", which the gtest binary reads as LLAVERO_TEST_POSTGRES.
#   bash tests/lib/pg_cluster.sh build/llavero DIR template DATA
#       fixture "plantilla_pg": `llavero init --db` into the database
#       "plantilla" of that cluster, its data directory DATA. The shell
#       tests on PostgreSQL (LLAVERO_TEST_PG=DIR, tests/lib/lib.sh) copy DATA
#       and make their database with CREATE DATABASE ... TEMPLATE plantilla,
#       a copy of a few milliseconds instead of six RSA-4096 keys.
#   bash tests/lib/pg_cluster.sh build/llavero DIR stop
#       stops the cluster and removes DIR.
#
# Without PostgreSQL installed, start and template say so and succeed, so
# that nothing else fails for it: the gtest binary then reports its
# PostgreSQL instances SKIPPED, and the shell tests on PostgreSQL exit 77
# (skipped) as they find no cluster (lib.sh, init_template).
# shellcheck source=tests/lib/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@"
# shellcheck source=tests/lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/postgres.sh"

DIR=${ARGS[1]:-}
ACTION=${ARGS[2]:-}
if [[ -z $DIR || -z $ACTION ]]; then
  echo "uso: bash $0 /ruta/a/llavero DIRECTORIO start|template DATOS|stop" >&2
  exit 2
fi

case $ACTION in
  start)
    section "un servidor PostgreSQL para esta corrida de ctest en $DIR"
    [[ -d $DIR ]] && pg_stop "$DIR"
    pg_start "$DIR"
    RC=$? OUT="" ERR="pg_start $DIR"
    if ((RC == 77)); then
      rm -rf "$DIR"
      finish
    fi
    assert_rc "initdb y pg_ctl start" 0
    pg_url "$DIR" postgres >"$DIR/url"
    assert_eq "el servidor responde" 1 "$(pg_sql "$DIR" postgres "SELECT 1" 2>&1)"
    ;;
  template)
    DATA=${ARGS[3]:-}
    [[ -n $DATA ]] || { echo "falta DATOS" >&2; exit 2; }
    section "llavero init --db en la base plantilla de $DIR"
    if [[ ! -d $DIR/data ]]; then
      echo "no hay servidor PostgreSQL en $DIR (¿falta postgresql-15?): sin plantilla"
      finish
    fi
    pg_sql "$DIR" postgres "DROP DATABASE IF EXISTS plantilla" >/dev/null 2>&1
    assert_ok "CREATE DATABASE plantilla" pg_createdb "$DIR" plantilla
    NEW=$DATA.new.$$
    rm -rf "$NEW" "$DATA"
    mkdir -p "$(dirname "$DATA")"
    # Six RSA-4096 keys may take longer than run's 120 s on a busy machine;
    # the fixture's TIMEOUT (300 s) is the limit.
    OUT=$(timeout 280 "$LLAVERO" --data "$NEW" init --db "$(pg_url "$DIR" plantilla)" 2>&1 </dev/null)
    RC=$? ERR=""
    assert_rc "llavero init --db postgresql://… crea el directorio de datos" 0
    assert_absent "la plantilla no tiene llavero.db" "$NEW/llavero.db"
    assert_ok "la bitácora de la plantilla es íntegra" "$LLAVERO" --data "$NEW" auditoria verificar
    assert_ge "la plantilla tiene sus autoridades en PostgreSQL" 6 \
      "$(pg_sql "$DIR" plantilla "SELECT count(*) FROM authorities" 2>&1)"
    if ((FAILED == 0)); then mv "$NEW" "$DATA"; else rm -rf "$NEW"; fi
    ;;
  stop)
    section "parar el servidor PostgreSQL de $DIR"
    pg_stop "$DIR"
    assert_absent "el directorio del servidor ya no existe" "$DIR"
    ;;
  *)
    echo "acción desconocida: $ACTION" >&2
    exit 2
    ;;
esac
finish
