#!/usr/bin/env bash
# Runs our release benchmarks next to their baselines in one run and prints the ratios
# (issue 20.4; the figures go to docs/performance.md with the machine):
#   yaml    our parser against PyYAML's C loader (python3 with PyYAML built on libyaml), and
#           rapidyaml (`pip install rapidyaml`) when it is installed;
#   runner  1,000 steps and 1,000 items against a loop of the same shell (`bash -c true`);
#   store   apply of 1,000 resources against the sqlite3 shell inserting the same rows;
#   daemon  task create -> first step, task list over the socket, the daemon's memory;
#   scale   pages of 100,000 tasks and 1,000,000 events against the process floor.
# Usage: scripts/bench-compare.sh [SUITE...]   (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(yaml runner store daemon scale)
swift build -c release >/dev/null
bench=.build/release/orchestrator-bench
summary=$(mktemp /tmp/bench-compare.XXXXXX)
trap 'rm -f "$summary"' EXIT
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
for suite in "${suites[@]}"; do
    echo
    echo "== $suite"
    case "$suite" in
    yaml)
        file=$(mktemp /tmp/yaml-bench.XXXXXX.yaml)
        "$bench" yaml --size 8 --iterations 10 --write "$file" | tee -a "$summary"
        if python3 -c 'import yaml; yaml.CSafeLoader' 2>/dev/null; then
            python3 scripts/bench-yaml-pyyaml.py "$file" 3 | tee -a "$summary"
        else
            echo "PyYAML with its C loader is not installed: no PyYAML baseline" | tee -a "$summary"
        fi
        if python3 -c 'import ryml' 2>/dev/null; then
            python3 - "$file" <<'PY' | tee -a "$summary"
import sys, time, ryml
data = open(sys.argv[1], "rb").read()
best = min((lambda t0: (ryml.parse_in_arena(data), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(3))
print(f"rapidyaml parse_in_arena: {len(data) / best / 1e6:.1f} MB/s")
PY
        else
            echo "rapidyaml is not installed (pip install rapidyaml): no rapidyaml baseline" | tee -a "$summary"
        fi
        # Whole processes on the real-manifest stream (issue 20's figures): time and peak
        # memory of `orchestrator parse -o summary` against processes that load and parse the
        # same file with rapidyaml and with PyYAML's C loader; best of 3 each.
        stream=$(mktemp /tmp/yaml-stream.XXXXXX.yaml)
        "$bench" yaml --size 24 --iterations 1 --write "$stream" >/dev/null
        bytes=$(stat -c %s "$stream")
        best() {  # best wall time and its peak RSS of 3 runs of "$@"
            for _ in 1 2 3; do /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1; done | sort -n | head -n 1
        }
        read -r ours_s ours_kb < <(best .build/release/orchestrator parse -o summary "$stream")
        echo "process: orchestrator parse -o summary: ${ours_s} s, ${ours_kb} KB peak (input $bytes bytes)" | tee -a "$summary"
        if python3 -c 'import ryml' 2>/dev/null; then
            read -r ryml_s ryml_kb < <(best python3 -c 'import sys, ryml; ryml.parse_in_arena(open(sys.argv[1], "rb").read())' "$stream")
            echo "process: python3 + rapidyaml parse_in_arena: ${ryml_s} s, ${ryml_kb} KB peak" | tee -a "$summary"
        fi
        if python3 -c 'import yaml; yaml.CSafeLoader' 2>/dev/null; then
            read -r py_s py_kb < <(best python3 -c 'import sys, yaml; list(yaml.load_all(open(sys.argv[1], "rb").read(), Loader=yaml.CSafeLoader))' "$stream")
            echo "process: python3 + PyYAML CSafeLoader: ${py_s} s, ${py_kb} KB peak" | tee -a "$summary"
        fi
        rm -f "$file" "$stream"
        ;;
    *)
        "$bench" "$suite" | tee -a "$summary"
        ;;
    esac
done
echo
echo "== ratios (same run)"
ours=$(sed -n 's/^yaml parse: best \([0-9.]*\) MB\/s.*/\1/p' "$summary")
pyyaml=$(sed -n 's/^pyyaml CSafeLoader.*best \([0-9.]*\) MB\/s.*/\1/p' "$summary")
ryml=$(sed -n 's/^rapidyaml parse_in_arena: \([0-9.]*\) MB\/s.*/\1/p' "$summary")
[ -n "$ours" ] && [ -n "$pyyaml" ] && awk -v a="$ours" -v b="$pyyaml" 'BEGIN { printf "yaml: %.1f MB/s, %.1fx PyYAML'"'"'s C loader\n", a, a / b }'
[ -n "$ours" ] && [ -n "$ryml" ] && awk -v a="$ours" -v b="$ryml" 'BEGIN { printf "yaml: %.2fx rapidyaml\n", a / b }'
p_ours=$(sed -n 's/^process: orchestrator parse -o summary: \([0-9.]*\) s, \([0-9]*\) KB peak (input \([0-9]*\) bytes).*/\1 \2 \3/p' "$summary")
p_ryml=$(sed -n 's/^process: python3 + rapidyaml parse_in_arena: \([0-9.]*\) s.*/\1/p' "$summary")
p_py=$(sed -n 's/^process: python3 + PyYAML CSafeLoader: \([0-9.]*\) s.*/\1/p' "$summary")
if [ -n "$p_ours" ]; then
    read -r t kb input <<<"$p_ours"
    awk -v kb="$kb" -v input="$input" 'BEGIN { printf "yaml process: peak memory %.2fx the input\n", kb * 1024 / input }'
    [ -n "$p_ryml" ] && awk -v a="$t" -v b="$p_ryml" 'BEGIN { printf "yaml process: %.2fx the time of python3 + rapidyaml (below 1: faster)\n", a / b }'
    [ -n "$p_py" ] && awk -v a="$t" -v b="$p_py" 'BEGIN { printf "yaml process: %.1fx faster than python3 + PyYAML CSafeLoader\n", b / a }'
fi
apply=$(sed -n 's/^apply 1,000 resources (fresh store): median \([0-9.]*\) ms.*/\1/p' "$summary")
sqlite=$(sed -n 's/^baseline: sqlite3 shell inserting 1,000 rows in one transaction: median \([0-9.]*\) ms.*/\1/p' "$summary")
[ -n "$apply" ] && [ -n "$sqlite" ] && awk -v a="$apply" -v b="$sqlite" 'BEGIN { printf "store: apply of 1,000 resources %.2fx the sqlite3 shell\n", a / b }'
apply1=$(sed -n 's/^apply 1,000 resources (fresh store, one core): median \([0-9.]*\) ms.*/\1/p' "$summary")
[ -n "$apply1" ] && [ -n "$sqlite" ] && awk -v a="$apply1" -v b="$sqlite" 'BEGIN { printf "store: apply of 1,000 resources parsed on one core %.2fx the sqlite3 shell\n", a / b }'
grep -E "^runner, |create process start|over the socket|^  .task list --limit|^  .event list --task BIG --limit" "$summary" || true
