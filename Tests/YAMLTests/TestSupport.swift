#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File access for the tests, written against the C library.
enum TestFiles {
    /// `../shared` next to the package root, derived from this file's path; nil when absent
    /// (a fresh clone without the shared material).
    static var sharedDirectory: String? {
        let path = packageRoot + "/../shared"
        return isDirectory(path) ? path : nil
    }

    /// Tests/YAMLTests/TestSupport.swift -> the package root.
    static var packageRoot: String {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/")
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    static func read(_ path: String) -> [UInt8]? {
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

    static func readText(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Entry names of a directory, sorted, without `.` and `..`.
    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Every file under `path` (recursively) whose name ends with `suffix`, sorted.
    static func files(under path: String, suffix: String) -> [String] {
        var result: [String] = []
        for name in list(path) {
            let full = path + "/" + name
            if isDirectory(full) {
                result += files(under: full, suffix: suffix)
            } else if name.hasSuffix(suffix) {
                result.append(full)
            }
        }
        return result.sorted()
    }
}

/// Environment variables, without Foundation.
enum ProcessInfoLite {
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
