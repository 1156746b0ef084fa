// Fuzz target `manifest`: parse + decode (ManifestLoader) on arbitrary bytes, findings rendered
// in every format under the default --max-errors limit.
import Diagnostics
import Manifest

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let source = SourceFile(path: "fuzz.yaml", bytes: Array(UnsafeBufferPointer(start: data, count: size)))
    let loaded = ManifestLoader.load([source], projectOverride: nil, limit: .standard)
    let renderer = DiagnosticRenderer(sources: [source])
    for format in DiagnosticFormat.allCases {
        _ = renderer.render(loaded.diagnostics, format: format, files: 1, skipped: loaded.skipped)
    }
    return 0
}
