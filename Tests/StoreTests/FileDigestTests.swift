import Foundation
import Store
import Hashing
import JSON
import Testing

@Suite struct FileDigestTests {
    @Test("FileDigest matches the FIPS 180-4 example and coreutils' sha256sum on a file of several blocks")
    func matchesKnownDigests() throws {
        let directory = NSTemporaryDirectory() + "/digest-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "abc".write(toFile: directory + "/abc", atomically: true, encoding: .utf8)
        #expect(FileDigest.sha256(ofFile: directory + "/abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // 3 MiB + 7 bytes: more than one read block, and a partial last one.
        let big = Data((0..<(3 << 20) + 7).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try big.write(to: URL(fileURLWithPath: directory + "/big"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [directory + "/big"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let expected = String(printed.prefix { $0 != " " })
        #expect(expected.count == 64)
        #expect(FileDigest.sha256(ofFile: directory + "/big") == expected)
        #expect(FileDigest.sha256(ofFile: directory + "/missing") == nil)
    }
}

@Suite struct ContentDigestTests {
    @Test("the content hash through libcrypto equals the Hashing module's SHA-256 (so stored hashes stay valid)")
    func textDigestMatchesTheSwiftImplementation() {
        let texts = [
            "", "abc", String(repeating: "a", count: 55), String(repeating: "b", count: 56), String(repeating: "c", count: 64),
            "{\"apiVersion\":\"orchestrator.dev/v2\",\"kind\":\"Agent\",\"metadata\":{},\"spec\":{\"command\":\"ünïcode ✓\"}}",
            String(repeating: "0123456789", count: 1000),
        ]
        #expect(FileDigest.sha256(of: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        for text in texts {
            #expect(FileDigest.sha256(of: text) == SHA256.hex(text), "\(text.prefix(20))")
        }
    }

    @Test("store timestamps: UTC, ISO 8601 with milliseconds, zero-padded")
    func timestampsAreZeroPadded() {
        #expect(StoreClock.timestamp(epochMilliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(StoreClock.timestamp(epochMilliseconds: 1_733_274_131_007) == "2024-12-04T01:02:11.007Z")
        #expect(StoreClock.timestamp(epochMilliseconds: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        let now = StoreClock.timestamp()
        #expect(now.count == 24 && now.hasSuffix("Z") && now.hasPrefix("20"))
    }

    @Test("a process's start time is read from /proc and is stable for the process")
    func startTimeOfThisProcess() {
        let first = RunnerIdentity.current
        #expect(first.start != nil)
        #expect(first.start.map { !$0.isEmpty && $0.allSatisfy(\.isNumber) } == true)
        #expect(RunnerIdentity.startTime(of: first.pid) == first.start)
        #expect(RunnerIdentity.startTime(of: -5) == nil)
    }
}

@Suite struct CanonicalTextTests {
    @Test("the canonical text sorts keys at every depth (inside arrays too) and keeps array order: the content hash of a stored resource")
    func keysSortedAtEveryDepth() throws {
        let spec = try JSONParser.parse(#"{"z":1,"a":{"y":[{"k":2,"b":null}],"c":"d"},"m":[3,1],"é":true,"e":1.5}"#)
        let metadata = try JSONParser.parse(#"{"labels":{"team":"core","app":"x"}}"#)
        let text = ManifestRecords.canonicalText(kind: "Agent", apiVersion: "orchestrator.dev/v2", metadata: metadata, spec: spec)
        #expect(
            text
                == #"{"apiVersion":"orchestrator.dev/v2","kind":"Agent","metadata":{"labels":{"app":"x","team":"core"}},"spec":{"a":{"c":"d","y":[{"b":null,"k":2}]},"e":1.5,"m":[3,1],"z":1,"é":true}}"#)
        #expect(
            ManifestRecords.contentHash(kind: "Agent", apiVersion: "orchestrator.dev/v2", metadata: metadata, spec: spec)
                == SHA256.hex(text))
    }
}
