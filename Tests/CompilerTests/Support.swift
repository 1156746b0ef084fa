import Compiler
import Diagnostics
import Manifest

/// Loads and compiles YAML text as files named `name` (one per text).
func compile(_ texts: [(name: String, text: String)], store: StoreView = .notRead) -> (Compilation, LoadedManifests) {
    let sources = texts.map { SourceFile(path: $0.name, text: $0.text) }
    let loaded = ManifestLoader.load(sources, projectOverride: nil)
    return (Compiler.compile(loaded.resources, sources: loaded.sources, store: store), loaded)
}

func compile(_ text: String, store: StoreView = .notRead) -> Compilation {
    compile([(name: "test.yaml", text: text)], store: store).0
}

/// The diagnostics of loading and compiling `text`.
func diagnostics(_ text: String) -> [Diagnostic] {
    let (compilation, loaded) = compile([(name: "test.yaml", text: text)])
    return loaded.diagnostics + compilation.diagnostics
}

func document(_ kind: String, _ name: String, _ spec: String) -> String {
    "---\napiVersion: orchestrator.dev/v2\nkind: \(kind)\nmetadata:\n  name: \(name)\nspec:\n" + spec
}

func agent(_ name: String, capabilities: [String], cost: Int? = nil, enabled: Bool = true) -> String {
    var spec = "  command: run \(name)\n  capabilities:\n" + capabilities.map { "    - \($0)\n" }.joined()
    if let cost { spec += "  metadata:\n    cost: \(cost)\n" }
    if !enabled { spec += "  enabled: false\n" }
    return document("Agent", name, spec)
}

/// `../shared` beside the project root, if present.
let sharedDirectory: String? = {
    var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    components.removeLast(3)  // Tests/CompilerTests/Support.swift
    let shared = components.joined(separator: "/") + "/../shared"
    return readFile(shared + "/corpus/anchor/docs/workflow/self-bootstrap.yaml") != nil ? shared : nil
}()

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
