import Diagnostics
import Testing
import YAML

/// Hostile and broken input: every input gives documents or a positioned error, never a crash or
/// a hang, and every range the parser reports is inside the input with line and column agreeing
/// with the byte offset.
@Suite struct RobustnessTests {
    /// SplitMix64: a small deterministic generator, so failures reproduce.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
    }

    /// Manifests used as seeds when ../shared is absent (and in addition to the corpus otherwise).
    static let builtInSeeds: [String] = [
        """
        apiVersion: orchestrator.dev/v2
        kind: Workflow
        metadata:
          name: guard_test   # trailing comment
        spec:
          steps:
            - id: run_qa
              type: qa
              guard: >-
                steps.build.status == "done" &&
                cycle < 3
            - {id: check, type: loop_guard, enabled: true}
          loop: {mode: infinite, max_cycles: 3}
        ---
        kind: Agent
        spec:
          command: "echo '{\\"confidence\\":0.9}' \\u00e9\\t"
          prompt: |
            line one
              indented
            line three
          tags: [a, 'b''c', "d", 1, 2.5, .inf, ~, null, true]
        ...
        """,
        """
        - a
        - - nested
          - list: [x, {y: z}]
        - key: value
          other:
          - at key column
        - 'single
          multi-line'
        - "double \\
          escaped break"
        - plain
          multi-line
        """,
    ]

    /// Bytes the mutations insert: YAML indicators, white space, line breaks, invalid UTF-8.
    static let interestingBytes: [UInt8] = Array(":-?,[]{}#&*!|>'\"%@`\\ \t\n\r.0~".utf8) + [0x00, 0x07, 0x80, 0xC3, 0xE2, 0xFF]

    static func mutate(_ seed: [UInt8], _ random: inout Random) -> [UInt8] {
        var bytes = seed
        let edits = 1 + random.below(4)
        for _ in 0..<edits {
            let position = random.below(bytes.count + 1)
            switch random.below(9) {
            case 0:  // replace a byte
                if position < bytes.count { bytes[position] = interestingBytes[random.below(interestingBytes.count)] }
            case 1:  // insert a byte
                bytes.insert(interestingBytes[random.below(interestingBytes.count)], at: position)
            case 2:  // delete a range
                let length = min(bytes.count - position, 1 + random.below(20))
                if length > 0 { bytes.removeSubrange(position..<(position + length)) }
            case 3:  // truncate
                bytes.removeSubrange(position...)
            case 4:  // a tab at a line start
                var lineStart = position
                while lineStart > 0, bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
                bytes.insert(0x09, at: lineStart)
            case 5:  // a random byte
                if position < bytes.count { bytes[position] = UInt8(truncatingIfNeeded: random.next()) }
            case 6:  // duplicate a slice elsewhere (duplicate keys, repeated structure)
                let start = random.below(bytes.count + 1)
                let length = min(bytes.count - start, random.below(80))
                bytes.insert(contentsOf: Array(bytes[start..<(start + length)]), at: position)
            case 7:  // change the indentation of a line
                var lineStart = position
                while lineStart > 0, bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
                if random.below(2) == 0 {
                    bytes.insert(contentsOf: [UInt8](repeating: 0x20, count: 1 + random.below(3)), at: lineStart)
                } else if lineStart < bytes.count, bytes[lineStart] == 0x20 {
                    bytes.remove(at: lineStart)
                }
            default:  // an indicator pair
                let pairs = ["\"", "'", "[", "{", ": ", "- ", "? ", "&a ", "*a", "!t ", "|", ">-\n", "\\u", "#"]
                bytes.insert(contentsOf: Array(pairs[random.below(pairs.count)].utf8), at: position)
            }
        }
        return bytes
    }

    /// Inputs that target the limits and the recursion.
    static var hostileInputs: [[UInt8]] {
        let deep = 100_000
        var inputs: [[UInt8]] = [
            [UInt8](repeating: UInt8(ascii: "["), count: deep),
            [UInt8](repeating: UInt8(ascii: "{"), count: deep),
            Array(String(repeating: "[a: ", count: deep).utf8),
            Array(String(repeating: "- ", count: deep).utf8),
            Array(String(repeating: "{a: [", count: deep / 2).utf8),
            [UInt8](repeating: UInt8(ascii: "\""), count: 1) + [UInt8](repeating: UInt8(ascii: "a"), count: deep),
            [UInt8](repeating: UInt8(ascii: "'"), count: deep + 1),
            [UInt8](repeating: UInt8(ascii: ":"), count: deep),
            [UInt8](repeating: UInt8(ascii: "\t"), count: deep),
            [UInt8](repeating: UInt8(ascii: "\n"), count: deep),
            [UInt8](repeating: UInt8(ascii: "#"), count: deep),
            [UInt8](repeating: 0xFF, count: 16),
            [0xFE, 0xFF, 0x00, 0x61],
            [0xEF, 0xBB, 0xBF] + Array("a: b".utf8),
            Array("a: \"\\".utf8),
            Array("|".utf8),
            Array(">-2".utf8),
            Array("- |\n  a\n\t".utf8),
            Array("\r".utf8),
            [],
        ]
        // Indentation nested deeper than the limit, block mappings and block lists.
        var mapping = ""
        var list = ""
        for level in 0..<400 {
            mapping += String(repeating: " ", count: level) + "k:\n"
            list += String(repeating: " ", count: level) + "-\n"
        }
        inputs.append(Array(mapping.utf8))
        inputs.append(Array(list.utf8))
        // A huge mapping (linear duplicate check) and a long line.
        var wide = ""
        for index in 0..<20_000 { wide += "key\(index): \(index)\n" }
        inputs.append(Array(wide.utf8))
        inputs.append(Array(("k: " + String(repeating: "x", count: 200_000)).utf8))
        return inputs
    }

    /// Checks one outcome; returns a description of the defect, nil when fine.
    static func defect(in input: [UInt8], lineStarts: [Int]) -> String? {
        func location(_ offset: Int) -> Diagnostics.SourceLocation {
            // The last line start at or before `offset`, then columns counted as Unicode scalars.
            var low = 0
            var high = lineStarts.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
            }
            var column = 1
            var index = lineStarts[low]
            while index < offset {
                if input[index] & 0xC0 != 0x80 { column += 1 }
                index += 1
            }
            return Diagnostics.SourceLocation(line: low + 1, column: column, offset: offset)
        }
        func check(_ range: SourceRange, _ what: String) -> String? {
            guard range.start.offset >= 0, range.start.offset <= range.end.offset, range.end.offset <= input.count else {
                return "\(what) range \(range) (offsets \(range.start.offset)..<\(range.end.offset)) outside the input of \(input.count) bytes"
            }
            if location(range.start.offset) != range.start { return "\(what) start \(range.start) should be \(location(range.start.offset))" }
            if location(range.end.offset) != range.end { return "\(what) end \(range.end) should be \(location(range.end.offset))" }
            return nil
        }
        func checkNode(_ node: Node) -> String? {
            if let problem = check(node.range, "node") { return problem }
            switch node.content {
            case .scalar: return nil
            case .sequence(let items):
                for item in items { if let problem = checkNode(item) { return problem } }
            case .mapping(let entries):
                for entry in entries {
                    if let problem = checkNode(entry.key) ?? checkNode(entry.value) { return problem }
                }
            }
            return nil
        }
        do {
            let documents = try YAMLParser.parse(input)
            for document in documents {
                if let problem = check(document.range, "document") { return problem }
                if let root = document.root, let problem = checkNode(root) { return problem }
            }
            return nil
        } catch {
            if error.help?.isEmpty ?? true { return "error without help: \(error)" }
            if !["yaml-syntax", "yaml-unsupported", "yaml-limit", "yaml-encoding"].contains(error.rule) {
                return "unknown rule: \(error)"
            }
            return check(error.range, "error \(error)")
        }
    }

    static func lineStarts(_ input: [UInt8]) -> [Int] {
        var starts = [0]
        for (index, byte) in input.enumerated() where byte == 0x0A { starts.append(index + 1) }
        return starts
    }

    @Test func mutatedManifestsGiveDocumentsOrPositionedErrors() {
        var seeds = Self.builtInSeeds.map { Array($0.utf8) }
        if let shared = TestFiles.sharedDirectory {
            for path in TestFiles.files(under: shared + "/corpus/anchor", suffix: ".yaml") {
                if let bytes = TestFiles.read(path) { seeds.append(bytes) }
            }
        } else {
            print("note: ../shared is absent; mutating the built-in seeds only")
        }
        var random = Random(state: 20_261_121)
        let total = 10_000
        var refused = 0
        var defects: [String] = []
        for index in 0..<total {
            let seed = seeds[index % seeds.count]
            let input = Self.mutate(seed, &random)
            if let problem = Self.defect(in: input, lineStarts: Self.lineStarts(input)) {
                defects.append("input \(index) (seed \(index % seeds.count)): \(problem)")
            }
            if (try? YAMLParser.parse(input)) == nil { refused += 1 }
        }
        print("robustness: \(total) mutated inputs from \(seeds.count) seeds, \(refused) refused with a positioned error, \(total - refused) parsed")
        for defect in defects.prefix(20) { print("  \(defect)") }
        #expect(defects.count == 0, "see the defects printed above")
        // The mutations must actually break things, and not always.
        #expect(refused > total / 10)
        #expect(refused < total)
    }

    @Test func hostileInputsHitTheLimitsCleanly() throws {
        for input in Self.hostileInputs {
            let problem = Self.defect(in: input, lineStarts: Self.lineStarts(input))
            if let problem { Issue.record("\(input.count)-byte hostile input: \(problem)") }
        }
        // 100k `[` stops at the depth limit with a yaml-limit error where the limit is crossed.
        let brackets = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: YAMLError.self) { try YAMLParser.parse(brackets) }
        do {
            _ = try YAMLParser.parse(brackets)
        } catch {
            #expect(error.rule == "yaml-limit")
            #expect(error.range.start.offset == YAMLLimits.standard.maxDepth)
        }
        // Deep block nesting too.
        var list = ""
        for level in 0..<400 { list += String(repeating: " ", count: level) + "-\n" }
        do {
            _ = try YAMLParser.parse(list)
            Issue.record("400 nested block lists were accepted")
        } catch {
            #expect(error.rule == "yaml-limit")
        }
        // Input and node limits.
        let small = YAMLLimits(maxInputBytes: 10, maxDepth: 4, maxNodes: 3)
        #expect(throws: YAMLError.self) { try YAMLParser.parse(Array("a: bbbbbbbbbbbbbb".utf8), limits: small) }
        do {
            _ = try YAMLParser.parse(Array("[1, 2, 3]".utf8), limits: small)
            Issue.record("a node limit of 3 accepted 4 nodes")
        } catch {
            #expect(error.rule == "yaml-limit")
            #expect(error.range.start.offset == 7)
        }
        let shallow = YAMLLimits(maxDepth: 4)
        #expect((try? YAMLParser.parse(Array("[[[[1]]]]".utf8), limits: shallow)) != nil)
        #expect((try? YAMLParser.parse(Array("[[[[[1]]]]]".utf8), limits: shallow)) == nil)
    }
}
