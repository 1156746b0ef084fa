// swift-tools-version: 6.0
// orchestrator: a declarative manifest compiler and runner for AI-agent workflows.
// Layers (a lower layer never imports a higher one):
//   JSON -> Diagnostics -> YAML, Expr -> Manifest -> Compiler -> Store (CSQLite, CCrypto, CPostgres) -> Runner -> CLI -> orchestrator
//   JSON, Diagnostics -> Control (transport) -> CLI (the client side: forwarding, `daemon` commands)
//   Control, CLI, Runner, Store -> Daemon (runs forwarded commands, restarts in place) -> orchestratord
//   Hashing (SHA-256, HMAC) sits below Compiler and Triggers; Triggers (cron, webhooks, file watch) needs only
//   JSON, Diagnostics and Hashing.
//   Compiler, Store, Runner, Triggers (its HTTP server) -> Dashboard (the web pages) -> CLI (`dashboard`), Daemon (`--http`)
import PackageDescription

let package = Package(
    name: "orchestrator",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "orchestrator", targets: ["orchestrator"]),
        .executable(name: "orchestratord", targets: ["orchestratord"]),
        .library(name: "OrchestratorKit", targets: ["CLI"]),
    ],
    targets: [
        // The shared POSIX primitives (a mutex box, threads, a parallel map, the monotonic clock, errno text, file reads).
        .target(name: "Platform"),
        // An order-keeping JSON value, writer and parser (no Foundation JSON: key order matters).
        .target(name: "JSON"),
        // Shared by every layer: source positions, the one Diagnostic type, its renderers.
        .target(name: "Diagnostics", dependencies: ["JSON"]),
        // UTF-8 bytes -> documents of nodes with source ranges (hand-written YAML subset).
        .target(name: "YAML", dependencies: ["Diagnostics", "JSON"]),
        // The guard expression language (a CEL subset): parser, checker, evaluator, partial evaluator.
        .target(name: "Expr", dependencies: ["Diagnostics", "JSON"]),
        // Typed resources decoded from YAML nodes, with positioned diagnostics.
        .target(name: "Manifest", dependencies: ["JSON", "Diagnostics", "YAML", "Expr", "Platform"]),
        // SHA-256 and HMAC-SHA256, hex, constant-time comparison (no crypto library).
        .target(name: "Hashing"),
        // The trigger engine's blocks: cron schedules in IANA time zones, webhook verification and its
        // HTTP listener, the inotify file watcher.
        .target(name: "Triggers", dependencies: ["JSON", "Diagnostics", "Hashing", "Platform"]),
        // References -> step graph, planner, lint rules.
        .target(name: "Compiler", dependencies: ["Diagnostics", "YAML", "Expr", "Manifest", "Hashing", "Triggers"]),
        // The system SQLite library (Debian: libsqlite3-dev).
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The system libcrypto (Debian: libssl-dev): AES-256-GCM and HMAC-SHA256 for secrets at rest.
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", providers: [.apt(["libssl-dev"])]),
        // The system libpq (Debian: libpq-dev): the PostgreSQL client of the scale-out store.
        .systemLibrary(name: "CPostgres", path: "Sources/CPostgres", providers: [.apt(["libpq-dev"])]),
        // The embedded store: resources, revisions, projects (and later tasks and events) in SQLite.
        .target(name: "Store", dependencies: ["CSQLite", "CCrypto", "CPostgres", "JSON", "Diagnostics", "YAML", "Manifest", "Compiler", "Hashing", "Platform"]),
        // Executes a pinned step graph: processes, items, cycles, events, drift.
        .target(name: "Runner", dependencies: ["JSON", "Diagnostics", "YAML", "Expr", "Manifest", "Compiler", "Store", "Platform"]),
        // Triggers executed: the applied Triggers armed, a fire claimed once with its task, the
        // daemon's engine (cron by the trigger clock, task ends, webhooks, file changes).
        .target(name: "Automation", dependencies: ["JSON", "Diagnostics", "Expr", "Manifest", "Store", "Runner", "Triggers", "Platform"]),
        // The read-only web dashboard the daemon serves (`--http`): pages, the step graph as SVG,
        // server-sent events, the token; on the Triggers' HTTP server.
        .target(name: "Dashboard", dependencies: ["JSON", "Manifest", "Compiler", "Store", "Runner", "Triggers", "Hashing", "Platform"]),
        // Commands and output formats; the executable is a thin shell around it.
        .target(name: "CLI", dependencies: ["JSON", "Diagnostics", "YAML", "Expr", "Manifest", "Compiler", "Store", "Runner", "Automation", "Triggers", "Control", "Dashboard", "Platform"]),
        .executableTarget(name: "orchestrator", dependencies: ["CLI"]),
        // The daemon's transport: protocol, Unix-socket server and client, lock, log, detaching.
        // It knows nothing of tasks: verbs are plugged in by the layer that serves them.
        .target(name: "Control", dependencies: ["JSON", "Diagnostics", "Platform"]),
        // The daemon itself: options, the verbs it serves, signals and drain (CLI level).
        .target(name: "Daemon", dependencies: ["Control", "CLI", "Runner", "Store", "Automation", "Triggers", "Dashboard", "JSON", "Diagnostics", "Platform"]),
        .executableTarget(name: "orchestratord", dependencies: ["Daemon"]),
        // Release-build benchmarks: `swift run -c release orchestrator-bench --help`.
        .executableTarget(
            name: "orchestrator-bench",
            dependencies: ["Diagnostics", "YAML", "Expr", "Manifest", "Compiler", "Store", "Runner", "CLI", "Control", "Platform", "JSON"],
            path: "Sources/Benchmarks"),

        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics", "JSON"]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "Diagnostics", "JSON"]),
        .testTarget(name: "ExprTests", dependencies: ["Expr", "Diagnostics", "JSON"]),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "YAML", "Diagnostics", "JSON", "Platform"]),
        .testTarget(name: "CompilerTests", dependencies: ["Compiler", "Manifest", "YAML", "Expr", "Diagnostics"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Hashing", "JSON", "Platform"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "Store", "Compiler", "Manifest", "Expr", "JSON"]),
        .testTarget(name: "CLITests", dependencies: ["CLI", "Store", "JSON"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "Daemon", "CLI", "Store", "Runner", "Automation", "Triggers", "Dashboard", "Hashing", "JSON", "Platform"]),
        .testTarget(name: "TriggersTests", dependencies: ["Triggers", "Hashing", "JSON", "Diagnostics", "Platform"]),
    ],
    swiftLanguageModes: [.v6]
)
