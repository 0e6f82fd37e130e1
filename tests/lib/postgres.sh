# shellcheck shell=bash
# A throwaway PostgreSQL 15 cluster for the shell tests, the benchmarks and
# the several-server test: initdb + pg_ctl in a directory of their own,
# listening only on a unix socket there (and, when asked, on one loopback
# port), durability off since nothing outlives the test. As root the server
# runs as the user postgres, which refuses to run as root. The same recipe
# as tests/postgres_server.cc, for scripts.
#
#   source tests/lib/postgres.sh
#   pg_start DIR [PORT]    starts a cluster in DIR (made, must not exist);
#                          returns 77 when PostgreSQL is not installed
#   pg_url DIR DATABASE    the libpq URL of DATABASE in that cluster
#   pg_createdb DIR NAME [TEMPLATE]   a database (a copy of TEMPLATE if given)
#   pg_sql DIR DATABASE SQL           runs SQL, prints rows unaligned
#   pg_stop DIR            stops it (immediate) and removes DIR
#
# LLAVERO_PG_BIN overrides /usr/lib/postgresql/15/bin; LLAVERO_PG_OPTIONS,
# more server options (-c name=value ...), come after the defaults and win
# over them (a benchmark's store bigger than a test's wants more memory).

PG_BIN=${LLAVERO_PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_as() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  local dir=$1 port=${2:-}
  [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] || {
    echo "no hay PostgreSQL: falta $PG_BIN/initdb (paquete postgresql-15)" >&2
    return 77
  }
  mkdir -p "$dir" || return 1
  chmod 0700 "$dir"
  [[ $(id -u) == 0 ]] && chown postgres:postgres "$dir"
  # postgres must be able to reach DIR through its parents.
  local parent
  parent=$(dirname "$(realpath "$dir")")
  while [[ $parent != / ]]; do
    chmod o+x "$parent" 2>/dev/null || true
    parent=$(dirname "$parent")
  done
  _pg_as "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    return 1
  }
  local listen="''"
  [[ -n $port ]] && listen=127.0.0.1
  local options="-k $dir -c listen_addresses=$listen -c fsync=off -c synchronous_commit=off"
  options+=" -c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB"
  [[ -n $port ]] && options+=" -p $port"
  [[ -n ${LLAVERO_PG_OPTIONS:-} ]] && options+=" $LLAVERO_PG_OPTIONS"
  _pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -o "$options" -l "$dir/server.log" -w -t 60 start \
    >/dev/null 2>&1 || {
    tail -20 "$dir/server.log" >&2
    return 1
  }
  echo "${port:-5432}" >"$dir/port"
}

pg_url() {
  local dir=$1 database=$2
  echo "postgresql:///$database?host=$dir&port=$(cat "$dir/port")&user=postgres"
}

pg_sql() {
  local dir=$1 database=$2 sql=$3
  psql -X -q -At -v ON_ERROR_STOP=1 "$(pg_url "$dir" "$database")" -c "$sql"
}

pg_createdb() {
  local dir=$1 name=$2 template=${3:-}
  local sql="CREATE DATABASE \"$name\""
  [[ -n $template ]] && sql+=" TEMPLATE \"$template\""
  pg_sql "$dir" postgres "$sql"
}

pg_stop() {
  local dir=$1
  [[ -d $dir/data ]] && _pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
    >/dev/null 2>&1
  rm -rf "$dir"
}
