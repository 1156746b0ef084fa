import Store
import Platform
// The Runner layer: executes a pinned step graph; see docs/architecture.md and docs/runner-processes.md.
