#!/usr/bin/env bash
# Runs `orchestrator COMMAND [OPTIONS] -f FILE...` for the files pre-commit passes
# (.pre-commit-hooks.yaml). The command and its options come first, the file names after.
set -eu
args=()
while [ $# -gt 0 ] && [ "${1#-}" != "$1" -o ${#args[@]} -eq 0 ]; do args+=("$1"); shift; done
files=()
for file in "$@"; do files+=(-f "$file"); done
[ ${#files[@]} -gt 0 ] || exit 0
exec orchestrator "${args[@]}" "${files[@]}"
