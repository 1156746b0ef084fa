// The Compiler layer; see docs/architecture.md.
