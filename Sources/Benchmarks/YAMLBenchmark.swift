// `orchestrator-bench yaml`: YAML parse throughput on a generated stream of realistic manifests.

import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum YAMLBenchmark {
    static let help = "YAML parse throughput (MB/s) on a generated manifest stream"

    static func run(_ arguments: [String]) -> Int32 {
        let options = BenchmarkOptions(arguments, suite: "yaml", declared: [
            BenchmarkOption(name: "--size", value: "MB", help: "size of the generated stream (default 8)"),
            BenchmarkOption(name: "--iterations", value: "N", help: "timed parses (default 10); the best and the median are reported"),
            BenchmarkOption(name: "--write", value: "FILE", help: "also write the generated stream to FILE (to compare with other parsers)"),
            BenchmarkOption(name: "--file", value: "FILE", help: "parse FILE instead of a generated stream"),
        ])
        let sizeMB = options.double("--size", 8)
        let iterations = options.int("--iterations", 10)
        let writePath = options.string("--write")
        let filePath = options.string("--file")

        let bytes: [UInt8]
        if let filePath {
            guard let read = readFile(filePath) else {
                print("cannot read \(filePath)")
                return 1
            }
            bytes = read
        } else {
            var generator = ManifestStreamGenerator(seed: 42)
            bytes = generator.generate(bytes: Int(sizeMB * 1_000_000))
        }
        if let writePath, !writeFile(writePath, bytes) {
            print("cannot write \(writePath)")
            return 1
        }

        // Warm up and count.
        let documents: [Document]
        do {
            documents = try YAMLParser.parse(bytes)
        } catch {
            print("parse error: \(error)")
            return 1
        }
        var nodes = 0
        for document in documents { nodes += document.root?.nodeCount ?? 0 }

        var seconds: [Double] = []
        for _ in 0..<iterations {
            let start = now()
            let parsed = try? YAMLParser.parse(bytes)
            seconds.append(now() - start)
            if parsed?.count != documents.count {
                print("unexpected parse result")
                return 1
            }
        }
        seconds.sort()
        let megabytes = Double(bytes.count) / 1_000_000
        let best = seconds[0]
        let median = seconds[seconds.count / 2]
        print("input: \(bytes.count) bytes, \(documents.count) documents, \(nodes) nodes")
        print("yaml parse: best \(format(megabytes / best)) MB/s (\(format(best * 1000)) ms), median \(format(megabytes / median)) MB/s (\(format(median * 1000)) ms), \(iterations) iterations")
        return 0
    }

    static func format(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return "\(scaled)"
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        defer { fclose(file) }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        return written == bytes.count
    }
}

/// Generates a deterministic stream of manifests shaped like real ones: nested mappings, lists of
/// steps, plain, quoted and escaped strings, literal and folded block scalars, flow lists,
/// numbers, booleans and comments.
struct ManifestStreamGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        // SplitMix64.
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    static let words = [
        "build", "review", "deploy", "test", "plan", "summarize", "agent", "workspace", "ticket", "report",
        "implement", "verify", "the", "changes", "files", "repository", "quality", "loop", "guard", "step",
        "output", "result", "analysis", "context", "prompt", "template", "profile", "secret", "store", "cycle",
    ]

    mutating func word() -> String { Self.words[below(Self.words.count)] }

    mutating func sentence(_ count: Int) -> String {
        var parts: [String] = []
        for _ in 0..<count { parts.append(word()) }
        return parts.joined(separator: " ")
    }

    mutating func manifest(_ index: Int) -> String {
        var out = "---\n"
        out += "# manifest \(index): \(sentence(4))\n"
        out += "apiVersion: orchestrator.dev/v2\n"
        switch below(3) {
        case 0:
            out += "kind: Agent\nmetadata:\n  name: agent_\(index)\n  labels:\n    team: \(word())\n    tier: \"\(below(5))\"\n"
            out += "spec:\n  command: \"claude -p '{prompt}' --model \\\"opus\\\" --max-turns \(below(50))\"\n"
            out += "  capabilities: [\(word()), \(word()), \(word())_\(below(9))]\n"
            out += "  metadata:\n    cost: \(below(100))\n    temperature: 0.\(below(10))\n    enabled: \(below(2) == 0 ? "true" : "false")\n"
            out += "  system_prompt: |\n"
            for _ in 0..<(2 + below(6)) { out += "    \(sentence(6 + below(8)))\n" }
        case 1:
            out += "kind: Workflow\nmetadata:\n  name: workflow_\(index)\n  description: '\(sentence(5)) ''quoted'' \(word())'\n"
            out += "spec:\n  steps:\n"
            for step in 0..<(3 + below(6)) {
                out += "    - id: step_\(step)\n      type: \(word())\n      enabled: true\n"
                if below(2) == 0 {
                    out += "      guard: >-\n        steps.\(word()).status == \"done\" &&\n        cycle < \(below(10))\n"
                }
                if below(3) == 0 { out += "      repeatable: false  # \(sentence(3))\n" }
                out += "      template: \"\(word())/\(word()).md\"\n"
            }
            out += "  loop:\n    mode: infinite\n    max_cycles: \(below(20))\n"
        default:
            out += "kind: Workspace\nmetadata:\n  name: ws_\(index)\n"
            out += "spec:\n  root_path: \"./\(word())/\(word())\"\n  qa_targets:\n"
            for _ in 0..<(1 + below(4)) { out += "    - docs/\(word())/\(word())\n" }
            out += "  ticket_dir: fixtures/\(word())\n  env:\n"
            for variable in 0..<(1 + below(4)) { out += "    \(word().uppercased())_\(variable): \"\(sentence(2))\"\n" }
            out += "  notes: \(sentence(8))\n"
        }
        return out
    }

    /// Manifests appended until the stream holds at least `bytes` bytes.
    mutating func generate(bytes: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 4096)
        var index = 0
        while out.count < bytes {
            out.append(contentsOf: manifest(index).utf8)
            index += 1
        }
        return out
    }
}
