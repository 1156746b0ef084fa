#if canImport(Glibc)
import Glibc
import Platform

/// The kinds of change a filesystem trigger can listen for (`events:`; none listed = all).
public enum FileChangeKind: String, Sendable, CaseIterable {
    case create
    case modify
    case delete
    /// A rename or move into, out of or inside the watched tree. A filter that lists `modify`
    /// also matches moves (an editor's atomic save is a rename), so the replaced system's three
    /// names (create, modify, delete) see them.
    case move
}

/// One change inside the watched tree.
public struct FileChange: Sendable, Hashable {
    /// Absolute path (under the resolved root).
    public var path: String
    public var kind: FileChangeKind

    public init(path: String, kind: FileChangeKind) {
        self.path = path
        self.kind = kind
    }
}

/// What one debounce window collected: the trigger fires once for it.
public struct FileChangeBatch: Sendable {
    /// The distinct changes, in the order first seen (at most `FileWatcher.maxChangesPerBatch`).
    public var changes: [FileChange]
    /// Changes seen in the window, duplicates included.
    public var eventCount: Int
    /// True when the kernel's queue overflowed: changes were lost, the batch stands for "something changed".
    public var overflowed: Bool
}

/// Why a watch could not be set up.
public struct FileWatchError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Watches paths under a root with Linux inotify: directories recursively (new subdirectories are
/// added as they appear; symbolic links are not followed; `.git` and `.orchestrator` are skipped),
/// single files through their directory. Matching changes are collected in debounce windows: the
/// first change opens a window of `debounceMilliseconds`, every change until it closes joins it,
/// and when it closes `onFire` is called once with the batch. The next change opens a new window.
public final class FileWatcher: Sendable {
    public static let maxChangesPerBatch = 1000
    public static let defaultExcludedDirectories: Set<String> = [".git", ".orchestrator"]

    public let root: String
    /// The resolved watched paths (absolute, inside `root`), and whether each is a directory.
    public let targets: [(path: String, isDirectory: Bool)]
    private let kinds: Set<FileChangeKind>
    private let debounceMilliseconds: Int
    private let excluded: Set<String>
    private let onFire: @Sendable (FileChangeBatch) -> Void
    private let inotify: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Locked(WatchState())

    private struct WatchState {
        var directories: [Int32: String] = [:]
        var started = false
        var stopped = false
        var loopDone = false
        var problems: [String] = []
    }

    private static let directoryMask = UInt32(IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

    /// - Parameters:
    ///   - root: the workspace root; every path must resolve inside it.
    ///   - paths: files or directories, relative to `root` or absolute.
    ///   - events: the kinds to fire on; empty means all.
    public init(
        root: String, paths: [String], events: Set<FileChangeKind> = [], debounceMilliseconds: Int = 500,
        excludedDirectories: Set<String> = defaultExcludedDirectories,
        onFire: @escaping @Sendable (FileChangeBatch) -> Void
    ) throws(FileWatchError) {
        guard let resolvedRoot = FileWatcher.realPath(root) else {
            throw FileWatchError(message: "the workspace root '\(root)' does not exist")
        }
        guard !paths.isEmpty else { throw FileWatchError(message: "no paths to watch; list files or directories inside the workspace") }
        guard debounceMilliseconds >= 0, debounceMilliseconds <= 60_000 else {
            throw FileWatchError(message: "debounce_ms must be between 0 and 60000, got \(debounceMilliseconds)")
        }
        var targets: [(String, Bool)] = []
        for path in paths {
            let joined = path.hasPrefix("/") ? path : resolvedRoot + "/" + path
            guard let resolved = FileWatcher.realPath(joined) else {
                throw FileWatchError(message: "the watched path '\(path)' does not exist under \(resolvedRoot)")
            }
            guard resolved == resolvedRoot || resolved.hasPrefix(resolvedRoot == "/" ? "/" : resolvedRoot + "/") else {
                throw FileWatchError(message: "the watched path '\(path)' resolves to \(resolved), outside the workspace \(resolvedRoot); watch paths inside it only")
            }
            var info = stat()
            guard stat(resolved, &info) == 0 else { throw FileWatchError(message: "cannot read '\(path)': \(errnoDescription(errno))") }
            targets.append((resolved, (info.st_mode & S_IFMT) == S_IFDIR))
        }
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw FileWatchError(message: "inotify is not available: \(errnoDescription(errno))") }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw FileWatchError(message: "cannot create a wake-up pipe: \(errnoDescription(errno))")
        }
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        self.root = resolvedRoot
        self.targets = targets
        self.kinds = events
        self.debounceMilliseconds = debounceMilliseconds
        self.excluded = excludedDirectories
        self.onFire = onFire
        self.inotify = fd
        self.wakeRead = pipeFDs[0]
        self.wakeWrite = pipeFDs[1]
    }

    deinit {
        close(inotify)
        close(wakeRead)
        close(wakeWrite)
    }

    /// Adds the watches and starts the watching thread. Changes before `start` returns are not seen.
    public func start() throws(FileWatchError) {
        let go = state.withLock { s -> Bool in
            guard !s.started, !s.stopped else { return false }
            s.started = true
            return true
        }
        guard go else { return }
        for target in targets {
            if target.isDirectory {
                _ = addTree(target.path, reportContents: false)
            } else {
                let parent = String(target.path[..<(target.path.lastIndex(of: "/") ?? target.path.startIndex)])
                _ = addWatch(parent.isEmpty ? "/" : parent)
            }
        }
        if let problem = state.withLock({ $0.problems.first }) { throw FileWatchError(message: problem) }
        guard Threads.start({ [self] in loop() }) != nil else {
            state.withLock { $0.loopDone = true }
            throw FileWatchError(message: "cannot start the watcher thread")
        }
    }

    /// Stops watching; a window still open is dropped. Waits for the watching thread to end.
    public func stop() {
        let wasStarted = state.withLock { s -> Bool in
            let was = s.started && !s.stopped
            s.stopped = true
            return was
        }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        guard wasStarted else { return }
        while !state.withLock({ $0.loopDone }) { usleep(1000) }
    }

    /// Directories watched now.
    public var watchedDirectories: [String] { state.withLock { Array($0.directories.values).sorted() } }

    /// Problems met while watching (a directory that could not be added, a queue overflow).
    public var problems: [String] { state.withLock { $0.problems } }

    // MARK: watches

    @discardableResult
    private func addWatch(_ directory: String) -> Bool {
        let wd = inotify_add_watch(inotify, directory, FileWatcher.directoryMask)
        guard wd >= 0 else {
            let text = "cannot watch \(directory): \(errnoDescription(errno))" + (errno == ENOSPC ? "; raise fs.inotify.max_user_watches" : "")
            state.withLock { $0.problems.append(text) }
            return false
        }
        state.withLock { $0.directories[wd] = directory }
        return true
    }

    /// Watches `directory` and every directory below it (not through symbolic links). With
    /// `reportContents`, returns the entries found (they appeared before their watch existed).
    private func addTree(_ directory: String, reportContents: Bool) -> [FileChange] {
        var found: [FileChange] = []
        var pending = [directory]
        while let current = pending.popLast() {
            guard addWatch(current) else { continue }
            guard let dir = opendir(current) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let path = current + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
                if isDirectory, !excluded.contains(name) { pending.append(path) }
                if reportContents, !(isDirectory && excluded.contains(name)) { found.append(FileChange(path: path, kind: .create)) }
            }
        }
        return found
    }

    private func isRecursive(_ directory: String) -> Bool {
        targets.contains { $0.isDirectory && (directory == $0.path || directory.hasPrefix($0.path + "/")) }
    }

    private func covers(_ path: String) -> Bool {
        for target in targets {
            if path == target.path { return true }
            if target.isDirectory, path.hasPrefix(target.path == "/" ? "/" : target.path + "/") {
                let relative = path.dropFirst(target.path.count).split(separator: "/")
                if relative.dropLast().contains(where: { excluded.contains(String($0)) }) { return false }
                if let last = relative.last, excluded.contains(String(last)) { return false }
                return true
            }
        }
        return false
    }

    private func wanted(_ kind: FileChangeKind) -> Bool {
        kinds.isEmpty || kinds.contains(kind) || (kind == .move && kinds.contains(.modify))
    }

    // MARK: the loop

    private func loop() {
        defer { state.withLock { $0.loopDone = true } }
        var windowCloses: Int64?
        var batch: [FileChange] = []
        var seen: Set<FileChange> = []
        var count = 0
        var overflowed = false
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !state.withLock({ $0.stopped }) {
            var timeout: Int32 = 1000
            if let closes = windowCloses { timeout = Int32(max(0, min(1000, closes - monotonicMilliseconds()))) }
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, timeout)
            if ready < 0, errno != EINTR { return }
            if fds[1].revents != 0 { return }
            if ready > 0, fds[0].revents & Int16(POLLIN) != 0 {
                let length = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
                if length > 0 {
                    for change in decode(buffer, length: length, overflowed: &overflowed) where wanted(change.kind) && covers(change.path) {
                        count += 1
                        if windowCloses == nil { windowCloses = monotonicMilliseconds() + Int64(debounceMilliseconds) }
                        if batch.count < FileWatcher.maxChangesPerBatch, seen.insert(change).inserted { batch.append(change) }
                    }
                    if overflowed, windowCloses == nil { windowCloses = monotonicMilliseconds() + Int64(debounceMilliseconds) }
                }
            }
            if let closes = windowCloses, monotonicMilliseconds() >= closes {
                onFire(FileChangeBatch(changes: batch, eventCount: count, overflowed: overflowed))
                windowCloses = nil
                batch = []
                seen = []
                count = 0
                overflowed = false
            }
        }
    }

    /// The changes in `length` bytes of inotify events; new directories are watched on the way.
    private func decode(_ buffer: [UInt8], length: Int, overflowed: inout Bool) -> [FileChange] {
        var changes: [FileChange] = []
        var offset = 0
        let headerSize = 16
        while offset + headerSize <= length {
            func word(_ at: Int) -> UInt32 {
                UInt32(buffer[at]) | UInt32(buffer[at + 1]) << 8 | UInt32(buffer[at + 2]) << 16 | UInt32(buffer[at + 3]) << 24
            }
            let wd = Int32(bitPattern: word(offset))
            let mask = word(offset + 4)
            let nameLength = Int(word(offset + 12))
            let nameBytes = buffer[(offset + headerSize)..<min(length, offset + headerSize + nameLength)]
            let name = String(decoding: nameBytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            offset += headerSize + nameLength
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                overflowed = true
                state.withLock { $0.problems.append("the inotify queue overflowed; changes were lost") }
                continue
            }
            if mask & UInt32(IN_IGNORED) != 0 {
                state.withLock { _ = $0.directories.removeValue(forKey: wd) }
                continue
            }
            guard let directory = state.withLock({ $0.directories[wd] }), !name.isEmpty else { continue }
            let path = directory == "/" ? "/" + name : directory + "/" + name
            let isDirectory = mask & UInt32(IN_ISDIR) != 0
            let kind: FileChangeKind
            if mask & UInt32(IN_CREATE) != 0 {
                kind = .create
            } else if mask & UInt32(IN_DELETE) != 0 {
                kind = .delete
            } else if mask & UInt32(IN_MOVED_FROM | IN_MOVED_TO) != 0 {
                kind = .move
            } else if mask & UInt32(IN_MODIFY) != 0 {
                kind = .modify
            } else {
                continue
            }
            changes.append(FileChange(path: path, kind: kind))
            if isDirectory, kind == .create || (kind == .move && mask & UInt32(IN_MOVED_TO) != 0),
                !excluded.contains(name), isRecursive(directory)
            {
                changes += addTree(path, reportContents: true)
            }
        }
        return changes
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
#endif
