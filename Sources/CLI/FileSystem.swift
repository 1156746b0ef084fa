import Diagnostics
import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an input could not be read (a usage error: exit 2).
public struct InputError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot read `\(path)`: \(reason)" }
}

/// File access for the CLI layer, written against the C library (no Foundation on the hot path).
public enum FileSystem {
    /// The largest input file (or standard input) read: the YAML layer's input limit (32 MiB).
    public static let inputLimit = YAMLLimits.standard.maxInputBytes

    /// Reads a file descriptor until end of file, or until `limit` bytes were read (pass one
    /// more than the largest size accepted to tell "exactly the limit" from "more").
    public static func readAll(fileDescriptor fd: Int32, limit: Int = Int.max, expectedSize: Int = 0) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(min(max(0, expectedSize), limit))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while result.count < limit {
            let wanted = min(chunk.count, limit - result.count)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    /// Reads a whole file of at most `limit` bytes. The size is checked by `fstat` before a byte is
    /// read, and reading stops after `limit + 1` bytes (a file that grows, a device), so a larger
    /// file is refused at once with constant memory.
    public static func readFile(_ path: String, limit: Int = inputLimit) throws(InputError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw InputError(path: path, reason: errorText()) }
        defer { close(fd) }
        var info = stat()
        var size = 0
        if fstat(fd, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw InputError(path: path, reason: "is a directory") }
            if (info.st_mode & S_IFMT) == S_IFREG { size = Int(info.st_size) }
        }
        if size > limit { throw tooLarge(path, size: size, limit: limit) }
        let bytes = readAll(fileDescriptor: fd, limit: limit + 1, expectedSize: size)
        if bytes.count > limit { throw tooLarge(path, size: nil, limit: limit) }
        return bytes
    }

    /// `readFile(path)`, its errors naming the path as the user wrote it.
    static func readFile(_ path: String, shownAs shown: String) throws(InputError) -> [UInt8] {
        do {
            return try readFile(path)
        } catch {
            throw InputError(path: shown, reason: error.reason)
        }
    }

    /// Standard input of at most `limit` bytes: `context.readStandardInput` reads it in bounded
    /// chunks, at most `limit + 1` bytes (`CommandContext.process`).
    public static func readStandardInput(_ context: CommandContext, limit: Int = inputLimit) throws(InputError) -> [UInt8] {
        let bytes = context.readStandardInput()
        if bytes.count > limit { throw tooLarge("-", size: nil, limit: limit) }
        return bytes
    }

    private static func tooLarge(_ path: String, size: Int?, limit: Int) -> InputError {
        let what = size.map { "it is \($0) bytes, more than" } ?? "it holds more than"
        return InputError(path: path, reason: "\(what) the input limit of \(limit) bytes (\(limit >> 20) MiB); split it into several files")
    }

    public static func errorText() -> String {
        String(cString: strerror(errno))
    }

    public enum EntryType { case file, directory, missing, other }

    public static func type(of path: String) -> EntryType {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        default: return .other
        }
    }

    /// Every `*.yaml` / `*.yml` file below `directory`, sorted by path (hidden folders skipped).
    public static func manifestFiles(under directory: String) -> [String] {
        var found: [String] = []
        collect(directory, into: &found)
        return found.sorted()
    }

    private static func collect(_ directory: String, into found: inout [String]) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        var children: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." || name.hasPrefix(".") { continue }
            children.append(name)
        }
        for name in children.sorted() {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            switch type(of: path) {
            case .directory: collect(path, into: &found)
            case .file:
                if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { found.append(path) }
            default: break
            }
        }
    }

    /// The inputs of `-f/--filename` (files, directories, `-` for stdin), read in order.
    /// A missing file or an empty directory is a usage error.
    public static func readInputs(_ paths: [String], context: CommandContext) throws(InputError) -> [SourceFile] {
        var sources: [SourceFile] = []
        var stdinRead = false
        for path in paths {
            if path == "-" {
                guard !stdinRead else { throw InputError(path: "-", reason: "standard input given twice") }
                stdinRead = true
                sources.append(SourceFile(path: "<stdin>", bytes: try readStandardInput(context)))
                continue
            }
            let resolved = path.hasPrefix("/") ? path : context.currentDirectory + "/" + path
            switch type(of: resolved) {
            case .directory:
                let files = manifestFiles(under: resolved)
                if files.isEmpty { throw InputError(path: path, reason: "the directory holds no *.yaml or *.yml file") }
                let prefixLength = resolved.count - path.count
                for file in files {
                    // Show paths as the user wrote them (relative stays relative).
                    let shown = path.hasPrefix("/") ? file : String(file.dropFirst(prefixLength))
                    sources.append(SourceFile(path: shown, bytes: try readFile(file, shownAs: shown)))
                }
            case .file:
                sources.append(SourceFile(path: path, bytes: try readFile(resolved, shownAs: path)))
            case .missing:
                throw InputError(path: path, reason: "no such file or directory")
            case .other:
                sources.append(SourceFile(path: path, bytes: try readFile(resolved, shownAs: path)))
            }
        }
        return sources
    }
}
