#if canImport(Glibc)
import Glibc
import Testing
import Triggers

/// Collects the batches a watcher fires, for the tests.
final class BatchLog: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var batches: [FileChangeBatch] = []

    init() { pthread_mutex_init(lock, nil) }

    deinit { lock.deallocate() }

    func add(_ batch: FileChangeBatch) {
        pthread_mutex_lock(lock)
        batches.append(batch)
        pthread_mutex_unlock(lock)
    }

    var all: [FileChangeBatch] {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return batches
    }

    /// Waits (polling, at most `seconds`) until `count` batches have fired.
    func wait(for count: Int, seconds: Int = 10) -> [FileChangeBatch] {
        for _ in 0..<(seconds * 100) where all.count < count { usleep(10_000) }
        return all
    }
}

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/triggers-watch-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { return "/tmp" }
    return String(cString: made)
}

func writeFile(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return }
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}

func removeTree(_ path: String) {
    guard path.hasPrefix("/tmp/triggers-watch-") else { return }
    if let dir = opendir(path) {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
        }
        closedir(dir)
    }
    rmdir(path)
}

@Suite(.serialized) struct FileWatcherTests {
    @Test func oneBurstFiresOnce() throws {
        let root = makeTemporaryDirectory()
        defer { removeTree(root) }
        mkdir(root + "/docs", 0o755)
        let log = BatchLog()
        let watcher = try FileWatcher(root: root, paths: ["docs"], debounceMilliseconds: 1000) { log.add($0) }
        try watcher.start()
        defer { watcher.stop() }
        for i in 0..<5 { writeFile(root + "/docs/note\(i).md", "v\(i)") }
        writeFile(root + "/docs/note0.md", "v1")
        let batches = log.wait(for: 1)
        // Nothing else arrives after the window closed.
        usleep(1_500_000)
        #expect(log.all.count == 1)
        let paths = Set(batches.first?.changes.map(\.path) ?? [])
        #expect(paths == Set((0..<5).map { root + "/docs/note\($0).md" }))
        #expect((batches.first?.eventCount ?? 0) >= 6)
    }

    @Test func twoBurstsFurtherApartThanTheWindowFireTwice() throws {
        let root = makeTemporaryDirectory()
        defer { removeTree(root) }
        let log = BatchLog()
        let watcher = try FileWatcher(root: root, paths: ["."], debounceMilliseconds: 600) { log.add($0) }
        try watcher.start()
        defer { watcher.stop() }
        writeFile(root + "/a.txt", "1")
        writeFile(root + "/b.txt", "1")
        #expect(log.wait(for: 1).count == 1)
        writeFile(root + "/a.txt", "2")
        let batches = log.wait(for: 2)
        #expect(batches.count == 2)
        #expect(batches.last?.changes == [FileChange(path: root + "/a.txt", kind: .modify)])
    }

    @Test func changesOutsideTheWatchedPathsDoNotFire() throws {
        let root = makeTemporaryDirectory()
        defer { removeTree(root) }
        mkdir(root + "/watched", 0o755)
        mkdir(root + "/other", 0o755)
        writeFile(root + "/watched/only.txt", "x")
        let log = BatchLog()
        let watcher = try FileWatcher(root: root, paths: ["watched/only.txt"], debounceMilliseconds: 100) { log.add($0) }
        try watcher.start()
        defer { watcher.stop() }
        writeFile(root + "/other/x.txt", "1")
        writeFile(root + "/watched/sibling.txt", "1")
        writeFile(root + "/top.txt", "1")
        usleep(600_000)
        #expect(log.all.isEmpty)
        // The watched file itself does fire, which shows the watch was live all along.
        writeFile(root + "/watched/only.txt", "y")
        #expect(log.wait(for: 1).first?.changes.map(\.path) == [root + "/watched/only.txt"])
    }

    @Test func newSubdirectoriesAreWatchedAndFiltersApply() throws {
        let root = makeTemporaryDirectory()
        defer { removeTree(root) }
        let log = BatchLog()
        let watcher = try FileWatcher(root: root, paths: ["."], events: [.delete], debounceMilliseconds: 150) { log.add($0) }
        try watcher.start()
        defer { watcher.stop() }
        mkdir(root + "/new", 0o755)
        mkdir(root + "/.git", 0o755)
        // The watcher adds the new directory when it sees it created.
        for _ in 0..<500 where !watcher.watchedDirectories.contains(root + "/new") { usleep(10_000) }
        #expect(watcher.watchedDirectories.contains(root + "/new"))
        #expect(!watcher.watchedDirectories.contains(root + "/.git"))
        writeFile(root + "/new/file.txt", "1")   // a create: filtered out
        writeFile(root + "/.git/index", "1")
        usleep(400_000)
        #expect(log.all.isEmpty)
        unlink(root + "/new/file.txt")
        #expect(log.wait(for: 1).first?.changes == [FileChange(path: root + "/new/file.txt", kind: .delete)])
    }

    @Test func pathsOutsideTheRootAreRefused() {
        let root = makeTemporaryDirectory()
        let outside = makeTemporaryDirectory()
        defer {
            removeTree(root)
            removeTree(outside)
        }
        #expect(throws: FileWatchError.self) { try FileWatcher(root: root, paths: ["../"], onFire: { _ in }) }
        #expect(throws: FileWatchError.self) { try FileWatcher(root: root, paths: [outside], onFire: { _ in }) }
        symlink(outside, root + "/escape")
        #expect(throws: FileWatchError.self) { try FileWatcher(root: root, paths: ["escape"], onFire: { _ in }) }
        #expect(throws: FileWatchError.self) { try FileWatcher(root: root, paths: ["missing"], onFire: { _ in }) }
        #expect(throws: FileWatchError.self) { try FileWatcher(root: root, paths: ["."], debounceMilliseconds: 60_001, onFire: { _ in }) }
        do {
            _ = try FileWatcher(root: root, paths: [outside], onFire: { _ in })
        } catch {
            #expect(error.message.contains("outside the workspace"))
        }
    }
}
#endif
