import Foundation
import Store
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
