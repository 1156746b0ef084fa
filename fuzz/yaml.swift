// Fuzz target `yaml`: the YAML parser on arbitrary bytes; a parse error is rendered in every
// format against the same bytes (snippet window, escaping, the SecretStore pre-scan).
import Diagnostics
import JSON
import YAML

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let source = SourceFile(path: "fuzz.yaml", bytes: bytes)
    do {
        let documents = try YAMLParser.parse(bytes)
        for document in documents { _ = JSONWriter().string(document.root?.json ?? .null) }
    } catch {
        let renderer = DiagnosticRenderer(sources: [source])
        for format in DiagnosticFormat.allCases { _ = renderer.render([error.diagnostic(file: source.path)], format: format, files: 1) }
    }
    return 0
}
