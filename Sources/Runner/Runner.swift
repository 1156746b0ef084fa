// The Runner layer: executes a pinned step graph; see docs/architecture.md.
