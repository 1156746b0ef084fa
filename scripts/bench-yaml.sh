#!/usr/bin/env bash
# Runs the YAML parse benchmark and PyYAML's C loader on the same generated file, in one run.
# Usage: scripts/bench-yaml.sh [SIZE_MB]   (needs python3 with PyYAML built against libyaml)
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-8}"
file="$(mktemp /tmp/yaml-bench.XXXXXX.yaml)"
trap 'rm -f "$file"' EXIT
swift build -c release --product orchestrator-bench >/dev/null
.build/release/orchestrator-bench yaml --size "$size" --iterations 10 --write "$file"
python3 scripts/bench-yaml-pyyaml.py "$file" 3
