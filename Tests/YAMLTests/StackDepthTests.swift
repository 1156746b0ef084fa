#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import YAML

/// The depth limit keeps recursion within a small thread stack: the deepest input the limit
/// accepts parses on a thread with a 512 KiB stack (the default for secondary threads on macOS)
/// in optimized builds, and on a 4 MiB stack in debug builds (whose frames are about ten times
/// larger). See docs/performance-yaml.md for the measured stack use per level.
@Suite struct StackDepthTests {
    final class Job: @unchecked Sendable {
        let input: [UInt8]
        var documents = 0
        var failure: String?
        init(input: [UInt8]) { self.input = input }
    }

    /// Runs the parse of `input` on a new thread with a `stackBytes` stack.
    static func parseOnSmallStack(_ input: [UInt8], stackBytes: Int) -> Job {
        let job = Job(input: input)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, stackBytes)
        let context = Unmanaged.passRetained(job).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let created = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            let job = Unmanaged<Job>.fromOpaque(raw).takeRetainedValue()
            do {
                job.documents = try YAMLParser.parse(job.input).count
            } catch {
                job.failure = "\(error)"
            }
            return nil
        }, context)
        if created == 0 {
            #if canImport(Glibc)
            pthread_join(thread, nil)
            #else
            if let thread { pthread_join(thread, nil) }
            #endif
        } else {
            job.failure = "pthread_create failed"
            Unmanaged<Job>.fromOpaque(context).release()
        }
        pthread_attr_destroy(&attributes)
        return job
    }

    @Test func deepestAcceptedNestingFitsInASmallStack() {
        let depth = YAMLLimits.standard.maxDepth
        var inputs: [(String, String)] = []
        // Flow lists and mappings, alternating.
        inputs.append(("flow", String(repeating: "[{a: ", count: depth / 2) + "x" + String(repeating: "}]", count: depth / 2)))
        // Block mappings, each nested one level deeper.
        var mapping = ""
        for level in 0..<(depth - 1) { mapping += String(repeating: " ", count: level) + "k:\n" }
        mapping += String(repeating: " ", count: depth - 1) + "k: v\n"
        inputs.append(("block mappings", mapping))
        // Compact block lists: `- - - x`.
        inputs.append(("compact lists", String(repeating: "- ", count: depth) + "x\n"))
        // Lists of mappings in block style.
        var mixed = ""
        for level in 0..<(depth / 2) { mixed += String(repeating: " ", count: level * 2) + "- k:\n" }
        inputs.append(("block lists of mappings", mixed))
        for (name, text) in inputs {
            #if DEBUG
            let stackBytes = 4 << 20
            #else
            let stackBytes = 512 << 10
            #endif
            let job = Self.parseOnSmallStack(Array(text.utf8), stackBytes: stackBytes)
            #expect(job.failure == nil, "\(name): \(job.failure ?? "")")
            #expect(job.documents == 1, "\(name)")
        }
    }
}
