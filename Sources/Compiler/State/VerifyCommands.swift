// How a task's `verify` reads: the commands it runs (the first word of each simple command) and
// whether it is prose rather than commands. Shared by the `tasks-verify-not-executable` rule and
// `state status`.
public enum VerifyCommands {
    /// Shell builtins and keywords: they run although no file on PATH has their name.
    static let builtins: Set<String> = [
        "cd", "test", "[", "[[", "true", "false", ":", ".", "source", "export", "set", "unset", "exit", "echo", "printf",
        "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "!", "{", "}", "(", ")",
        "eval", "exec", "command", "type", "read", "wait", "trap", "return", "shift", "ulimit", "umask", "pwd",
    ]
    /// Words that start a command but run the next one (`env X=1 make`, `time swift test`).
    static let prefixes: Set<String> = ["env", "time", "nice", "nohup", "timeout", "xvfb-run"]

    /// Phrases that mark a step as prose for people, not a command (matched at the step's start,
    /// ignoring case), and endings that say so anywhere.
    static let prosePrefixes = [
        "confirm", "make sure", "ensure", "check that", "check if", "check whether", "verify that", "verify the", "verify it",
        "test that", "test the", "test it", "see that", "see if", "manually", "open the", "open a browser", "click", "visit",
        "look at", "observe", "it should", "should", "the ", "all ", "確認", "确认", "检查", "验证", "确保", "手动", "打开",
    ]
    static let proseContains = ["it works", "works correctly", "works as expected", "looks good", "looks right", "正常工作"]

    /// The steps of `verify`: each list entry, each line of a string.
    public static func steps(_ verify: [String]) -> [String] {
        verify.flatMap { $0.split(separator: "\n").map { String($0).trimmingBlanks } }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// The phrase that makes `step` prose, or nil.
    public static func prose(_ step: String) -> String? {
        let lowered = step.lowercased()
        if let phrase = prosePrefixes.first(where: { lowered.hasPrefix($0) }) { return phrase.trimmingBlanks }
        return proseContains.first(where: { lowered.contains($0) })
    }

    /// The first word of every simple command of `step` (split at `&&`, `||`, `;`, `|` and
    /// parentheses outside quotes), after variable assignments and prefixes such as `env`.
    public static func commandWords(_ step: String) -> [String] {
        var commands: [[String]] = [[]]
        var word = ""
        var quote: Character?
        var hasWord = false
        func endWord() {
            if hasWord { commands[commands.count - 1].append(word) }
            word = ""
            hasWord = false
        }
        let characters = Array(step)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            index += 1
            if let open = quote {
                if character == open { quote = nil } else { word.append(character) }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                hasWord = true
            case "\\":
                if index < characters.count { word.append(characters[index]); index += 1 }
                hasWord = true
            case " ", "\t":
                endWord()
            case ";", "&", "|", "(", ")":
                endWord()
                if commands[commands.count - 1].isEmpty == false { commands.append([]) }
            default:
                word.append(character)
                hasWord = true
            }
        }
        endWord()
        return commands.compactMap { words in
            var rest = words[...]
            while let first = rest.first, isAssignment(first) || prefixes.contains(first) {
                rest = rest.dropFirst()
                // `timeout 30 cmd`: skip the duration too.
                if first == "timeout", let next = rest.first, next.first?.isNumber == true { rest = rest.dropFirst() }
            }
            return rest.first
        }
    }

    static func isAssignment(_ word: String) -> Bool {
        guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { return false }
        return word[..<eq].allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    public static func isBuiltin(_ word: String) -> Bool { builtins.contains(word) }
}
