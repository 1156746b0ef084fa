/// "Did you mean" suggestions by edit distance, used by every layer that names things.
public enum Suggestions {
    /// Edit distance over Unicode scalars, case-insensitive, where swapping two neighbouring
    /// letters counts as one edit (optimal string alignment), as typos usually are.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased().unicodeScalars)
        let y = Array(b.lowercased().unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var beforePrevious = Array(repeating: 0, count: y.count + 1)
        var previous = Array(0...y.count)
        var current = Array(repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[y.count]
    }

    /// The closest candidate when it is close enough to be a plausible typo: at most a third of
    /// the word's length (at least 1, at most 3) edits away. Ties go to the earlier candidate.
    /// Candidates whose length differs from the word's by more than the limit are not measured
    /// (the distance is at least the difference), nor is a word longer than 100 characters (no
    /// name is; a huge key costs nothing here).
    public static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let length = word.unicodeScalars.count
        guard length <= 100 else { return nil }
        let limit = max(1, min(3, word.count / 3))
        var best: (String, Int)?
        for candidate in candidates {
            guard abs(candidate.unicodeScalars.count - length) <= limit else { continue }
            let distance = editDistance(word, candidate)
            if distance <= limit, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        return best?.0
    }
}
