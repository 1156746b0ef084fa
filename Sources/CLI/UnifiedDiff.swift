/// A unified diff of two texts, line by line (longest common subsequence), with three lines of
/// context, as `diff -u` writes it.
enum UnifiedDiff {
    enum Line: Equatable {
        case same(String)
        case removed(String)
        case added(String)
    }

    static func lines(_ text: String) -> [String] {
        var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if result.last == "" { result.removeLast() }
        return result
    }

    /// The edit script from `old` to `new`.
    static func script(_ old: [String], _ new: [String]) -> [Line] {
        // Trim the common prefix and suffix first: resources usually differ in a few lines.
        var prefix = 0
        while prefix < old.count, prefix < new.count, old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < old.count - prefix, suffix < new.count - prefix,
            old[old.count - 1 - suffix] == new[new.count - 1 - suffix]
        { suffix += 1 }
        let a = Array(old[prefix..<(old.count - suffix)])
        let b = Array(new[prefix..<(new.count - suffix)])
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        if !a.isEmpty && !b.isEmpty {
            for i in stride(from: a.count - 1, through: 0, by: -1) {
                for j in stride(from: b.count - 1, through: 0, by: -1) {
                    table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
                }
            }
        }
        var result: [Line] = old[0..<prefix].map { .same($0) }
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                result.append(.same(a[i])); i += 1; j += 1
            } else if i < a.count, j == b.count || table[i + 1][j] >= table[i][j + 1] {
                // Removals before additions, as `diff -u` writes a changed line.
                result.append(.removed(a[i])); i += 1
            } else {
                result.append(.added(b[j])); j += 1
            }
        }
        result += old[(old.count - suffix)...].map { .same($0) }
        return result
    }

    static func render(old: String, new: String, oldLabel: String, newLabel: String, context: Int = 3) -> String {
        let edits = script(lines(old), lines(new))
        guard edits.contains(where: { if case .same = $0 { return false } else { return true } }) else { return "" }
        var out = "--- \(oldLabel)\n+++ \(newLabel)\n"
        // Positions (1-based line numbers) before each edit.
        var oldLine = [Int](), newLine = [Int]()
        var o = 1, n = 1
        for edit in edits {
            oldLine.append(o); newLine.append(n)
            switch edit {
            case .same: o += 1; n += 1
            case .removed: o += 1
            case .added: n += 1
            }
        }
        let changed = edits.indices.filter { if case .same = edits[$0] { return false } else { return true } }
        var index = 0
        while index < changed.count {
            let start = max(0, changed[index] - context)
            var end = min(edits.count - 1, changed[index] + context)
            index += 1
            while index < changed.count, changed[index] - context <= end + 1 {
                end = min(edits.count - 1, changed[index] + context)
                index += 1
            }
            let hunk = edits[start...end]
            let oldCount = hunk.filter { if case .added = $0 { return false } else { return true } }.count
            let newCount = hunk.filter { if case .removed = $0 { return false } else { return true } }.count
            let oldStart = oldCount == 0 ? oldLine[start] - 1 : oldLine[start]
            let newStart = newCount == 0 ? newLine[start] - 1 : newLine[start]
            out += "@@ -\(oldStart),\(oldCount) +\(newStart),\(newCount) @@\n"
            for edit in hunk {
                switch edit {
                case .same(let text): out += " \(text)\n"
                case .removed(let text): out += "-\(text)\n"
                case .added(let text): out += "+\(text)\n"
                }
            }
        }
        return out
    }
}
