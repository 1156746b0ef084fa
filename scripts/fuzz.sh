#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer: scripts/fuzz.sh TARGET [RUNS]
#   TARGET: yaml | expr | manifest | json   (fuzz/TARGET.swift is the entry point)
#   RUNS:   executions (default 1000000)
# Not part of `swift build` / `swift test`: the library targets a fuzz target needs are compiled
# straight from Sources/*/ with `swiftc -sanitize=fuzzer,address` into .build/fuzz/, holding the
# shared swift lock (/tmp/swift.lock) only while compiling; the fuzzer itself runs under
# `nice -n 19`. Seeds: YAML and expression strings of the test suite, manifests/, and
# ../shared (corpus, yaml-test-suite, cel-conformance) when present. A crash leaves its input
# in .build/fuzz/artifacts-TARGET/; turn it into a regression test and fix it. Findings and
# figures: docs/reliability.md.
set -euo pipefail

target="${1:-}"
runs="${2:-1000000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$(cd "$root/.." && pwd)/shared"
build="$root/.build/fuzz"
export PATH="/opt/swift/usr/bin:$PATH"

case "$target" in
    json) modules="JSON" ;;
    yaml) modules="JSON Diagnostics YAML" ;;
    expr) modules="JSON Diagnostics Expr" ;;
    manifest) modules="JSON Diagnostics YAML Expr Manifest" ;;
    *) echo "usage: scripts/fuzz.sh yaml|expr|manifest|json [RUNS]" >&2; exit 2 ;;
esac
mkdir -p "$build"
flags=(-O -swift-version 6 -package-name orchestrator -parse-as-library -sanitize=fuzzer,address -I "$build")

# Compile each module a target needs when a source file changed since its last build.
for module in $modules; do
    library="$build/lib$module.a"
    if [ ! -f "$library" ] || [ -n "$(find "$root/Sources/$module" -name '*.swift' -newer "$library" | head -1)" ]; then
        echo "compiling $module"
        flock /tmp/swift.lock swiftc "${flags[@]}" -module-name "$module" -emit-module \
            -emit-module-path "$build/$module.swiftmodule" -emit-library -static -o "$library" \
            "$root"/Sources/"$module"/*.swift
    fi
done
binary="$build/fuzz-$target"
if [ ! -f "$binary" ] || [ "$root/fuzz/$target.swift" -nt "$binary" ] || [ -n "$(for m in $modules; do [ "$build/lib$m.a" -nt "$binary" ] && echo x; done)" ]; then
    echo "linking fuzz-$target"
    libraries=()
    for module in $modules; do libraries=("-l$module" "${libraries[@]}"); done
    flock /tmp/swift.lock swiftc "${flags[@]}" "$root/fuzz/$target.swift" -L "$build" "${libraries[@]}" -o "$binary"
fi

# Seeds: one file per input, rebuilt each run.
seeds="$build/seeds-$target"
rm -rf "$seeds"
mkdir -p "$seeds" "$build/corpus-$target" "$build/artifacts-$target"
python3 - "$target" "$root" "$shared" "$seeds" <<'PY'
import glob, hashlib, json, os, re, sys
target, root, shared, out = sys.argv[1:]
seeds = []
def add(text):
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    if 0 < len(data) <= 65536: seeds.append(data)
def files(pattern):
    return sorted(glob.glob(pattern, recursive=True))
# String literals of the test suite: triple-quoted blocks and one-line strings.
literals = []
for path in files(os.path.join(root, "Tests", "**", "*.swift")):
    text = open(path, encoding="utf-8", errors="replace").read()
    for block in re.findall(r'"""\n(.*?)\n\s*"""', text, re.S):
        lines = block.split("\n")
        indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
        literals.append("\n".join(l[indent:] for l in lines) + "\n")
    literals += [s.encode().decode("unicode_escape", "replace") for s in re.findall(r'"((?:[^"\\\n]|\\.){1,400})"', text)]
if target in ("yaml", "manifest"):
    for s in literals:
        if ":" in s or "\n" in s: add(s)
    for pattern in ("manifests/**/*.yaml",):
        for path in files(os.path.join(root, pattern)): add(open(path, "rb").read())
    if os.path.isdir(shared):
        for path in files(os.path.join(shared, "corpus", "**", "*.y*ml")): add(open(path, "rb").read())
        if target == "yaml":
            for path in files(os.path.join(shared, "yaml-test-suite", "cases", "*", "in.yaml")): add(open(path, "rb").read())
elif target == "expr":
    for s in literals:
        if "\n" not in s: add(s)
    if os.path.isdir(shared):
        try:
            for case in json.load(open(os.path.join(shared, "cel-conformance", "tests.json"))): add(case.get("expr", ""))
        except Exception: pass
        for path in files(os.path.join(shared, "corpus", "**", "*.y*ml")):
            for line in open(path, encoding="utf-8", errors="replace"):
                match = re.match(r'\s*(?:when|convergence_expr|expr):\s*(.+)$', line)
                if match: add(match.group(1).strip().strip('"\''))
elif target == "json":
    for s in literals:
        if s.lstrip()[:1] in ("{", "["): add(s)
    if os.path.isdir(shared):
        for path in files(os.path.join(shared, "corpus", "**", "*.json")) + files(os.path.join(shared, "yaml-test-suite", "cases", "*", "in.json")):
            add(open(path, "rb").read())
for data in seeds:
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f: f.write(data)
print(f"{len(set(seeds))} seeds for {target}" + ("" if os.path.isdir(shared) else " (../shared absent: test-suite seeds only)"))
PY

echo "fuzzing $target for $runs runs"
# -detect_leaks=0: Swift globals and runtime caches live until exit and LeakSanitizer reports
# them at exit as leaks (the first expr run did, for the harness's `declarations` global).
nice -n 19 "$binary" -runs="$runs" -max_len=8192 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -detect_leaks=0 \
    -artifact_prefix="$build/artifacts-$target/" "$build/corpus-$target" "$seeds"
