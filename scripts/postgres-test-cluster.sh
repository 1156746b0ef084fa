#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL tests (issue 19): created in a temporary
# directory, owned by an unprivileged user when run as root (initdb refuses root), listening on
# 127.0.0.1 only, with trust authentication for local connections and no data kept.
#
#   eval "$(scripts/postgres-test-cluster.sh start)"   # prints the export and the stop command
#   swift test                                          # the PostgreSQL tests now run
#   scripts/postgres-test-cluster.sh stop "$ORCHESTRATOR_TEST_POSTGRES_DIR"
#
# Without a cluster the PostgreSQL tests skip with a note. Needs Debian's `postgresql` package.
set -euo pipefail

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

case "${1:-}" in
start)
    bin=$(find_bin) || { echo "echo 'postgres-test-cluster: no initdb (apt-get install postgresql)' >&2"; exit 0; }
    port=${PGTEST_PORT:-$(( 20000 + RANDOM % 20000 ))}
    dir=$(mktemp -d /tmp/orchestrator-pg.XXXXXX)
    run=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir" 2>/dev/null || { echo "echo 'postgres-test-cluster: no postgres user' >&2"; exit 0; }
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U orchestrator -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
        echo "echo 'postgres-test-cluster: initdb failed, see $dir/initdb.log' >&2"; exit 0; }
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null 2>&1 || {
        echo "echo 'postgres-test-cluster: the server did not start, see $dir/server.log' >&2"; exit 0; }
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U orchestrator orchestrator_test 2>"$dir/createdb.log" || {
        "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        echo "echo 'postgres-test-cluster: createdb failed, see $dir/createdb.log' >&2"; exit 0; }
    echo "export ORCHESTRATOR_TEST_POSTGRES='postgres://orchestrator@127.0.0.1:$port/orchestrator_test'"
    echo "export ORCHESTRATOR_TEST_POSTGRES_DIR='$dir'"
    ;;
stop)
    dir=${2:?usage: postgres-test-cluster.sh stop DIR}
    bin=$(find_bin) || exit 0
    run=()
    if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); fi
    "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: scripts/postgres-test-cluster.sh start | stop DIR" >&2
    exit 2
    ;;
esac
