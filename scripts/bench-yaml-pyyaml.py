#!/usr/bin/env python3
"""Parse throughput of PyYAML's C loader (CSafeLoader) on a file, for comparison with
`orchestrator-bench yaml` (see docs/performance-yaml.md). Not needed by the build."""
import sys
import time

import yaml

path = sys.argv[1]
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 3
data = open(path, "rb").read()
times = []
for _ in range(iterations):
    start = time.perf_counter()
    documents = list(yaml.load_all(data, Loader=yaml.CSafeLoader))
    times.append(time.perf_counter() - start)
times.sort()
megabytes = len(data) / 1e6
print(f"pyyaml CSafeLoader {yaml.__version__} (libyaml {yaml.__with_libyaml__}): "
      f"best {megabytes / times[0]:.1f} MB/s ({times[0] * 1000:.0f} ms), "
      f"median {megabytes / times[len(times) // 2]:.1f} MB/s, {len(documents)} documents, {iterations} iterations")
