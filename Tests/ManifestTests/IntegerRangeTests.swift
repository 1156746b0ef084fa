import Diagnostics
import JSON
import Manifest
import Testing

/// Issue 23.3: every integer field has a range, checked at decode (validate) time at its position.
@Suite struct IntegerRangeTests {
    static func decode(_ yaml: String) -> [String] {
        let loaded = ManifestLoader.load([SourceFile(path: "m.yaml", text: yaml)], projectOverride: nil)
        return loaded.diagnostics.filter { $0.severity == .error }.map { "\($0.range?.start.line ?? 0):\($0.range?.start.column ?? 0) \($0.message)" }
    }

    @Test func extremesAreRefusedAtTheirLineAndEdgesAccepted() {
        let workflow = { (cycles: String, timeout: String, stagger: String) in
            """
            apiVersion: orchestrator.dev/v2
            kind: Workflow
            metadata: {name: w}
            spec:
              loop: {mode: fixed, max_cycles: \(cycles)}
              steps:
                - {id: a, command: "true", timeout_secs: \(timeout), stagger_delay_ms: \(stagger)}

            """
        }
        let extreme = Self.decode(workflow("9223372036854775807", "9223372036854775807", "9223372036854775807"))
        #expect(extreme.contains { $0.hasPrefix("5:35 `max_cycles` must be at most 4294967295") }, "\(extreme)")
        #expect(extreme.contains { $0.hasPrefix("7:46 `timeout_secs` must be at most 31536000") }, "\(extreme)")
        #expect(extreme.contains { $0.contains("`stagger_delay_ms` must be at most 86400000") }, "\(extreme)")
        let negative = Self.decode(workflow("-1", "-1", "-1"))
        #expect(negative.count == 3, "\(negative)")
        let edges = Self.decode(workflow("4294967295", "31536000", "86400000"))
        #expect(edges.isEmpty, "\(edges)")
        // One past the largest Int is not an integer at all.
        let overflow = Self.decode(workflow("9223372036854775808", "1", "0"))
        #expect(overflow.contains { $0.hasPrefix("5:35 ") }, "\(overflow)")
    }

    @Test func theExportedSchemaCarriesTheSameMaxima() {
        let text = JSONWriter(pretty: false).string(SchemaExport.schema(for: .workflow))
        #expect(text.contains("\"max_cycles\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":4294967295"), "\(text.prefix(400))")
        #expect(text.contains("\"stagger_delay_ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":86400000"))
    }
}
