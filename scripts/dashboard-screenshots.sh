#!/usr/bin/env bash
# Regenerates docs/images/dashboard-tasks.png and docs/images/dashboard-task.png: a real daemon
# with the dashboard (`orchestratord --http`) runs the demo workflow, then headless chromium
# photographs the tasks page and the task page. Run from the repository after `swift build`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/debug
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "dashboard-screenshots: chromium is not installed (apt-get install chromium)" >&2; exit 1; }
work=$(mktemp -d /tmp/dashboard-shots.XXXXXX)
cp -r manifests/demo "$work/demo"
sed "s|root_path: manifests/demo|root_path: $work/demo|" manifests/demo.yaml > "$work/demo.yaml"
"$bin/orchestrator" apply -f "$work/demo.yaml" --data-dir "$work/data" > /dev/null
"$bin/orchestratord" --foreground --data-dir "$work/data" --http 127.0.0.1:0 2> "$work/daemon.log" &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -f "$work/data/dashboard.json" ] && break; sleep 0.1; done
url=$("$bin/orchestrator" dashboard --no-open --data-dir "$work/data")
"$bin/orchestrator" task create -n nightly-docs -W demo -g "check the docs" --data-dir "$work/data" > /dev/null
id=$("$bin/orchestrator" task create -n demo-release -W demo -g "ship 1.2" --data-dir "$work/data" | head -1 | cut -d' ' -f2)
for _ in $(seq 100); do
  "$bin/orchestrator" task info "$id" --data-dir "$work/data" | grep -q 'status: *completed' && break
  sleep 0.1
done
base=${url%%\?*}
token=${url#*token=}
shoot() { "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size="$2" --screenshot="$1" "$3" 2> /dev/null; }
shoot docs/images/dashboard-tasks.png 1280,520 "${base}?token=${token}"
shoot docs/images/dashboard-task.png 1280,1500 "${base}tasks/${id}?token=${token}"
echo "dashboard-screenshots: wrote docs/images/dashboard-tasks.png and docs/images/dashboard-task.png (task $id)"
