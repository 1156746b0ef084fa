#!/bin/sh
# The baseline of the store benchmark (docs/performance.md): the sqlite3 shell inserting ROWS
# rows shaped like StepTemplates into a fresh WAL database, in one transaction.
# Usage: scripts/sqlite3-baseline.sh DATABASE [ROWS]
set -eu
database=$1
rows=${2:-1000}
{
    echo "PRAGMA journal_mode = WAL;"
    echo "PRAGMA synchronous = NORMAL;"
    echo "CREATE TABLE r (kind TEXT, project TEXT, name TEXT, spec TEXT, UNIQUE(kind, project, name));"
    echo "BEGIN;"
    i=0
    while [ "$i" -lt "$rows" ]; do
        echo "INSERT INTO r VALUES ('StepTemplate', 'default', 't$i', '{\"prompt\":\"Implement the plan at {plan_output_path} for {goal}, part $i, and report what changed.\"}');"
        i=$((i + 1))
    done
    echo "COMMIT;"
} > "$database.sql"
sqlite3 "$database" < "$database.sql"
