// swift-tools-version: 6.0
// orchestrator: a declarative manifest compiler and runner for AI-agent workflows.
// Layers (a lower layer never imports a higher one):
//   JSON -> Diagnostics -> YAML, Expr -> Manifest -> Compiler -> Store (CSQLite) -> Runner -> CLI -> orchestrator
import PackageDescription

let package = Package(
    name: "orchestrator",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "orchestrator", targets: ["orchestrator"]),
        .library(name: "OrchestratorKit", targets: ["CLI"]),
    ],
    targets: [
        // An order-keeping JSON value, writer and parser (no Foundation JSON: key order matters).
        .target(name: "JSON"),
        // Shared by every layer: source positions, the one Diagnostic type, its renderers.
        .target(name: "Diagnostics", dependencies: ["JSON"]),
        // UTF-8 bytes -> documents of nodes with source ranges (hand-written YAML subset).
        .target(name: "YAML", dependencies: ["Diagnostics", "JSON"]),
        // The guard expression language (a CEL subset): parser, checker, evaluator, partial evaluator.
        .target(name: "Expr", dependencies: ["Diagnostics", "JSON"]),
        // Typed resources decoded from YAML nodes, with positioned diagnostics.
        .target(name: "Manifest", dependencies: ["JSON", "Diagnostics", "YAML", "Expr"]),
        // References -> step graph, planner, lint rules.
        .target(name: "Compiler", dependencies: ["Diagnostics", "YAML", "Expr", "Manifest"]),
        // The system SQLite library (Debian: libsqlite3-dev), the only outside code we use.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The embedded store: resources, revisions, projects (and later tasks and events) in SQLite.
        .target(name: "Store", dependencies: ["CSQLite", "JSON", "Diagnostics", "YAML", "Manifest", "Compiler"]),
        // Executes a pinned step graph: processes, items, cycles, events, drift.
        .target(name: "Runner", dependencies: ["JSON", "Diagnostics", "YAML", "Expr", "Manifest", "Compiler", "Store"]),
        // Commands and output formats; the executable is a thin shell around it.
        .target(name: "CLI", dependencies: ["JSON", "Diagnostics", "YAML", "Expr", "Manifest", "Compiler", "Store", "Runner"]),
        .executableTarget(name: "orchestrator", dependencies: ["CLI"]),
        // Release-build benchmarks: `swift run -c release orchestrator-bench --help`.
        .executableTarget(
            name: "orchestrator-bench",
            dependencies: ["Diagnostics", "YAML", "Expr", "Manifest", "Compiler", "Store", "Runner", "CLI", "JSON"],
            path: "Sources/Benchmarks"),

        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics", "JSON"]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "Diagnostics", "JSON"]),
        .testTarget(name: "ExprTests", dependencies: ["Expr", "Diagnostics", "JSON"]),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "YAML", "Diagnostics", "JSON"]),
        .testTarget(name: "CompilerTests", dependencies: ["Compiler", "Manifest", "YAML", "Expr", "Diagnostics"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "JSON"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "Store", "Compiler", "Manifest", "JSON"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "JSON"]),
    ],
    swiftLanguageModes: [.v6]
)
