// The guard expression language; see grammar/expr.md.
