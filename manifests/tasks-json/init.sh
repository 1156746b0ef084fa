#!/bin/sh
# The session's smoke check: the shell tools the tasks' verify steps use are there.
set -e
cd "$(dirname "$0")"
command -v grep >/dev/null
test -f tasks.json
