// Fuzz target `json`: the JSON parser (there is no tasks.json reader yet; this is the parser it
// would use), and the writer on what it parsed (a round trip must parse again).
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let value = try? JSONParser.parse(bytes) {
        let written = JSONWriter().string(value)
        guard (try? JSONParser.parse(written)) != nil else { fatalError("the writer's output does not parse: \(written)") }
    }
    _ = try? JSONParser.parseSequence(bytes)
    return 0
}
