import Expr
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func seconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func matches(_ pattern: String, _ text: String) throws -> Bool {
    try Regex(pattern).matches(text)
}

@Suite struct RegexTests {
    @Test func searchSemanticsAndAnchors() throws {
        #expect(try matches("ubb", "hubba"))
        #expect(try matches("", "anything"))
        #expect(try !matches("^ubb", "hubba"))
        #expect(try matches("^hub", "hubba"))
        #expect(try matches("ba$", "hubba"))
        #expect(try !matches("b$", "hubba"))
        #expect(try matches("^$", ""))
        #expect(try !matches("^a$", "a\n"))
        #expect(try matches("(?m)^b$", "a\nb\nc"))
        #expect(try matches("\\Adocs/qa/.*\\.md\\z", "docs/qa/x.md"))
    }

    @Test func operators() throws {
        #expect(try matches("gr(a|e)y", "grey"))
        #expect(try matches("^ba(na)*$", "banana"))
        #expect(try !matches("^ba(na)+$", "ba"))
        #expect(try matches("^colou?r$", "color"))
        #expect(try matches("^a{3}$", "aaa"))
        #expect(try !matches("^a{3}$", "aaaa"))
        #expect(try matches("^a{2,}$", "aaaaa"))
        #expect(try matches("^a{2,3}$", "aaa"))
        #expect(try !matches("^a{2,3}$", "aaaa"))
        #expect(try matches("^a{,3}$", "a{,3}"))  // not a repetition: literal, as in RE2
        #expect(try matches("^a+?b*?$", "aab"))
        #expect(try matches("^(?:ab)+$", "abab"))
        #expect(try matches("^(?P<year>\\d{4})-(?<month>\\d\\d)$", "2024-05"))
        #expect(try matches("(a|😀){2}", "🐱😀😀"))
        #expect(try matches("a+ñ+a+", "mañana"))
    }

    @Test func classes() throws {
        #expect(try matches("^[a-c]+$", "abcabc"))
        #expect(try !matches("^[a-c]+$", "abd"))
        #expect(try matches("^[^0-9]+$", "abc"))
        #expect(try matches("^[-a]+$", "-a-"))
        #expect(try matches("^[a-]+$", "-a-"))
        #expect(try matches("^[]a]+$", "]a"))
        #expect(try matches("^\\d+\\s\\w+\\W$", "42 abc!"))
        #expect(try matches("^[\\d.]+$", "1.5"))
        #expect(try matches("^[[:alpha:]]+[[:digit:]]$", "abc1"))
        #expect(try matches("^[[:^space:]]+$", "abc"))
        #expect(try matches("^\\pL+$", "héllo"))
        #expect(try matches("^\\p{Lu}\\p{Ll}+$", "Émile"))
        #expect(try !matches("^\\PL+$", "a1"))
        #expect(try matches("^[\\p{N}]+$", "42"))
        #expect(try matches("^.$", "é"))
        #expect(try !matches("^.$", "\n"))
        #expect(try matches("(?s)^.$", "\n"))
        #expect(try matches("^\\x41\\x{1F431}\\t$", "A🐱\t"))
        #expect(try matches("^\\Q.*\\E$", ".*"))
        #expect(try matches("\\bword\\b", "a word here"))
        #expect(try !matches("\\bword\\b", "swordfish"))
        #expect(try matches("^[\\D]+$", "abc"))
    }

    @Test func caseInsensitivity() throws {
        #expect(try matches("(?i)^hello$", "HeLLo"))
        #expect(try matches("(?i)^[a-c]+$", "ABC"))
        #expect(try !matches("(?i)^[^a]$", "A"))
        #expect(try matches("(?i:ab)c", "ABc"))
        #expect(try !matches("(?i:ab)c", "ABC"))
        #expect(try matches("(?i)é", "É"))
    }

    @Test func invalidPatternsAreErrors() {
        for pattern in ["(", ")", "a**", "*a", "[a", "a{1001}", "(?x)", "\\1", "\\p{Greek}", "[z-a]", "\\", "x{2,1}", "(?i", "a{1000}{1000}"] {
            #expect(throws: RegexError.self, "\(pattern)") { _ = try Regex(pattern) }
        }
    }

    @Test func noBacktrackingBlowUp() throws {
        let text = String(repeating: "a", count: 5_000)
        let start = seconds()
        #expect(try !matches("^(a+)+$b", text))
        #expect(try !matches("(a*)*b", text))
        #expect(try !matches("(a|aa)+c", text))
        #expect(try !matches("(x+x+)+y", String(repeating: "x", count: 5_000)))
        #expect(try matches("^(a?){30}a{30}$", String(repeating: "a", count: 30)))
        let elapsed = seconds() - start
        #expect(elapsed < 5, "took \(elapsed) s")
    }
}
