import Store
import Platform
// Shell quoting of one value for each position a placeholder can stand in (execution.md "Quoting").

/// Shell quoting of one value for each position a placeholder can stand in.
public enum ShellQuoting {
    /// One single-quoted word: `'it'"'"'s'`. The empty string is `''`.
    public static func singleQuoted(_ value: String) -> String {
        "'" + insideSingleQuotes(value) + "'"
    }

    /// For use between single quotes: each `'` closes the quote, is quoted as `"'"`, and reopens.
    public static func insideSingleQuotes(_ value: String) -> String {
        String(decoding: insideSingleQuotes(Array(value.utf8)), as: UTF8.self)
    }

    /// For use between double quotes: `\`, `"`, `$` and `` ` `` each get a backslash.
    public static func insideDoubleQuotes(_ value: String) -> String {
        String(decoding: escaping(Array(value.utf8), Array("\\\"$`".utf8)), as: UTF8.self)
    }

    static func insideSingleQuotes(_ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.count + 2)
        for byte in value {
            if byte == UInt8(ascii: "'") {
                out.append(contentsOf: Array("'\"'\"'".utf8))
            } else {
                out.append(byte)
            }
        }
        return out
    }

    static func escaping(_ value: [UInt8], _ special: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.count + 2)
        for byte in value {
            if special.contains(byte) { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        return out
    }
}
