// The Manifest layer; see docs/architecture.md.
