import JSON

/// A value of the guard expression language (grammar/expr.md, "Values").
///
/// Strings compare by Unicode scalars (code points), never by Swift's canonical equivalence:
/// `"\u{E9}"` and `"e\u{301}"` are different strings, as CEL requires.
public enum Value: Sendable {
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case bool(Bool)
    case null
    case list([Value])
    /// A map keeps the order its keys were inserted in; keys are int, uint, bool or string.
    case map(ValueMap)

    /// The type's name as the `expr` command prints it: int, uint, double, string, bytes, bool,
    /// null, list or map.
    public var typeName: String {
        switch self {
        case .int: return "int"
        case .uint: return "uint"
        case .double: return "double"
        case .string: return "string"
        case .bytes: return "bytes"
        case .bool: return "bool"
        case .null: return "null"
        case .list: return "list"
        case .map: return "map"
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

// MARK: - Structural equality (for tests and callers; CEL's `==` is `Value.celEquals`)

extension Value: Equatable {
    /// Structural equality: same kind and same content. Unlike CEL's `==`, `1 == 1.0` is false
    /// here and NaN equals NaN. Maps compare as sets of entries, lists element by element.
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case let (.int(a), .int(b)): return a == b
        case let (.uint(a), .uint(b)): return a == b
        case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.string(a), .string(b)): return utf8Equal(a, b)
        case let (.bytes(a), .bytes(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        case let (.list(a), .list(b)):
            guard a.count == b.count else { return false }
            for index in 0..<a.count where !(a[index] == b[index]) { return false }
            return true
        case let (.map(a), .map(b)):
            guard a.count == b.count else { return false }
            for (key, value) in a.entries {
                guard let other = b[key], other == value else { return false }
            }
            return true
        default: return false
        }
    }
}

// MARK: - CEL equality and ordering

extension Value {
    /// CEL's `==`: numbers compare by value across int, uint and double (NaN equals nothing);
    /// values of different kinds are unequal (never an error); lists element-wise; maps by keys.
    public func celEquals(_ other: Value) -> Bool {
        switch (self, other) {
        case let (.int(a), .int(b)): return a == b
        case let (.uint(a), .uint(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return utf8Equal(a, b)
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        case let (.bytes(a), .bytes(b)): return a == b
        case let (.int(a), .uint(b)): return compareIntUInt(a, b) == .equal
        case let (.uint(a), .int(b)): return compareIntUInt(b, a) == .equal
        case let (.int(a), .double(b)): return compareIntDouble(a, b) == .equal
        case let (.double(a), .int(b)): return compareIntDouble(b, a) == .equal
        case let (.uint(a), .double(b)): return compareUIntDouble(a, b) == .equal
        case let (.double(a), .uint(b)): return compareUIntDouble(b, a) == .equal
        case let (.list(a), .list(b)):
            guard a.count == b.count else { return false }
            for index in 0..<a.count where !a[index].celEquals(b[index]) { return false }
            return true
        case let (.map(a), .map(b)):
            guard a.count == b.count else { return false }
            for (key, value) in a.entries {
                guard let other = b[key], value.celEquals(other) else { return false }
            }
            return true
        default: return false
        }
    }

    /// CEL's ordering for `< <= > >=`: int and uint compare exactly, with a double after
    /// converting to double;
    /// strings by code points, bytes by bytes, `false < true`. Nil when the kinds have no order
    /// (an error); `.unordered` when a NaN is involved (every comparison is false).
    func celCompare(_ other: Value) -> Ordering? {
        switch (self, other) {
        case let (.int(a), .int(b)): return Ordering(a, b)
        case let (.uint(a), .uint(b)): return Ordering(a, b)
        case let (.double(a), .double(b)):
            if a.isNaN || b.isNaN { return .unordered }
            return Ordering(a, b)
        case let (.string(a), .string(b)): return utf8Compare(a, b)
        case let (.bytes(a), .bytes(b)): return bytesCompare(a, b)
        case let (.bool(a), .bool(b)): return Ordering(a ? 1 : 0, b ? 1 : 0)
        case let (.int(a), .uint(b)): return compareIntUInt(a, b)
        case let (.uint(a), .int(b)): return compareIntUInt(b, a).reversed
        case let (.int(a), .double(b)): return compareIntDouble(a, b)
        case let (.double(a), .int(b)): return compareIntDouble(b, a).reversed
        case let (.uint(a), .double(b)): return compareUIntDouble(a, b)
        case let (.double(a), .uint(b)): return compareUIntDouble(b, a).reversed
        default: return nil
        }
    }
}

enum Ordering: Sendable, Equatable {
    case less, equal, greater, unordered

    init<T: Comparable>(_ a: T, _ b: T) {
        self = a < b ? .less : (a == b ? .equal : .greater)
    }

    var reversed: Ordering {
        switch self {
        case .less: return .greater
        case .greater: return .less
        case .equal, .unordered: return self
        }
    }
}

func compareIntUInt(_ a: Int64, _ b: UInt64) -> Ordering {
    if a < 0 { return .less }
    return Ordering(UInt64(a), b)
}

/// An int against a double as CEL compares them: the int converted to the nearest double
/// (so `9223372036854775807 < 9223372036854775808.0` is false, as the conformance suite wants).
func compareIntDouble(_ a: Int64, _ b: Double) -> Ordering {
    if b.isNaN { return .unordered }
    return Ordering(Double(a), b)
}

/// A uint against a double, the uint converted to the nearest double.
func compareUIntDouble(_ a: UInt64, _ b: Double) -> Ordering {
    if b.isNaN { return .unordered }
    return Ordering(Double(a), b)
}

/// Byte-wise equality of the UTF-8 encodings (code-point equality).
@inline(__always)
func utf8Equal(_ a: String, _ b: String) -> Bool {
    let ua = a.utf8, ub = b.utf8
    guard ua.count == ub.count else { return false }
    if let result = ua.withContiguousStorageIfAvailable({ pa in
        ub.withContiguousStorageIfAvailable { pb in pa.elementsEqual(pb) }
    }), let value = result {
        return value
    }
    return ua.elementsEqual(ub)
}

/// Code-point order (UTF-8 byte order is the same as code-point order).
func utf8Compare(_ a: String, _ b: String) -> Ordering {
    var ia = a.utf8.makeIterator(), ib = b.utf8.makeIterator()
    while true {
        switch (ia.next(), ib.next()) {
        case (nil, nil): return .equal
        case (nil, _): return .less
        case (_, nil): return .greater
        case let (x?, y?):
            if x != y { return x < y ? .less : .greater }
        }
    }
}

func bytesCompare(_ a: [UInt8], _ b: [UInt8]) -> Ordering {
    let count = min(a.count, b.count)
    for index in 0..<count where a[index] != b[index] {
        return a[index] < b[index] ? .less : .greater
    }
    return Ordering(a.count, b.count)
}

func utf8HasPrefix(_ s: String, _ prefix: String) -> Bool {
    let us = s.utf8, up = prefix.utf8
    let n = up.count
    guard n <= us.count else { return false }
    if let result = us.withContiguousStorageIfAvailable({ ps in
        up.withContiguousStorageIfAvailable { pp in UnsafeBufferPointer(rebasing: ps[0..<n]).elementsEqual(pp) }
    }), let value = result {
        return value
    }
    return us.prefix(n).elementsEqual(up)
}

func utf8HasSuffix(_ s: String, _ suffix: String) -> Bool {
    let us = s.utf8, up = suffix.utf8
    let n = up.count, total = us.count
    guard n <= total else { return false }
    if let result = us.withContiguousStorageIfAvailable({ ps in
        up.withContiguousStorageIfAvailable { pp in UnsafeBufferPointer(rebasing: ps[(total - n)..<total]).elementsEqual(pp) }
    }), let value = result {
        return value
    }
    return us.suffix(n).elementsEqual(up)
}

func utf8Contains(_ s: String, _ needle: String) -> Bool {
    let hay = Array(s.utf8), pin = Array(needle.utf8)
    if pin.isEmpty { return true }
    guard pin.count <= hay.count else { return false }
    let first = pin[0]
    var index = 0
    let last = hay.count - pin.count
    while index <= last {
        if hay[index] == first {
            var matched = 1
            while matched < pin.count, hay[index + matched] == pin[matched] { matched += 1 }
            if matched == pin.count { return true }
        }
        index += 1
    }
    return false
}

// MARK: - Maps

/// A map key normalised so that `1`, `1u` and (for look-ups) `1.0` are the same key, and
/// strings compare by code points.
enum MapKey: Hashable, Sendable {
    case int(Int64)
    /// Only for uints above Int64.max (smaller ones are `.int`).
    case uint(UInt64)
    case bool(Bool)
    case string(ScalarString)

    /// The key a value is stored under; nil for kinds that cannot be keys.
    init?(storing value: Value) {
        switch value {
        case .int(let i): self = .int(i)
        case .uint(let u): self = u <= UInt64(Int64.max) ? .int(Int64(u)) : .uint(u)
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(ScalarString(s))
        default: return nil
        }
    }

    /// The key a value finds: also a double with a whole value (CEL's numeric equality).
    init?(lookingUp value: Value) {
        if case .double(let d) = value {
            guard d == d.rounded(.towardZero) else { return nil }
            if d >= -9223372036854775808.0, d < 9223372036854775808.0 {
                self = .int(Int64(d))
            } else if d >= 0, d < 18446744073709551616.0 {
                self = .uint(UInt64(d))
            } else {
                return nil
            }
            return
        }
        self.init(storing: value)
    }
}

/// A string hashed and compared by its UTF-8 bytes (code points), not by canonical equivalence.
struct ScalarString: Hashable, Sendable {
    let string: String
    init(_ string: String) { self.string = string }

    static func == (lhs: ScalarString, rhs: ScalarString) -> Bool { utf8Equal(lhs.string, rhs.string) }

    func hash(into hasher: inout Hasher) {
        let utf8 = string.utf8
        if utf8.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) }) == nil {
            for byte in utf8 { hasher.combine(byte) }
        }
        hasher.combine(utf8.count)
    }
}

/// An insertion-ordered map from int, uint, bool or string keys to values. Look-ups treat
/// `1`, `1u` and `1.0` as the same key. Small maps scan; larger ones keep a hash index.
public struct ValueMap: Sendable {
    public private(set) var entries: [(key: Value, value: Value)] = []
    private var keys: [MapKey] = []
    private var index: [MapKey: Int]?

    private static let indexThreshold = 8

    public init() {}

    /// A map from pairs; for a repeated key the last value wins; pairs whose key is not an int,
    /// uint, bool or string are dropped. (Map literals in expressions report both as errors.)
    public init(_ pairs: [(key: Value, value: Value)]) {
        for pair in pairs { set(pair.key, pair.value) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Sets `key` (replacing an existing value). False when the key's kind cannot be a key.
    @discardableResult
    public mutating func set(_ key: Value, _ value: Value) -> Bool {
        guard let mapKey = MapKey(storing: key) else { return false }
        if let position = position(of: mapKey) {
            entries[position].value = value
            return true
        }
        append(mapKey, key, value)
        return true
    }

    enum InsertOutcome { case inserted, duplicate, invalidKey }

    /// Inserts a new key; reports a repeated key instead of replacing it.
    mutating func insertNew(_ key: Value, _ value: Value) -> InsertOutcome {
        guard let mapKey = MapKey(storing: key) else { return .invalidKey }
        if position(of: mapKey) != nil { return .duplicate }
        append(mapKey, key, value)
        return .inserted
    }

    private mutating func append(_ mapKey: MapKey, _ key: Value, _ value: Value) {
        entries.append((key, value))
        keys.append(mapKey)
        if index != nil {
            index?[mapKey] = keys.count - 1
        } else if keys.count > ValueMap.indexThreshold {
            var built: [MapKey: Int] = [:]
            built.reserveCapacity(keys.count * 2)
            for (position, k) in keys.enumerated() { built[k] = position }
            index = built
        }
    }

    private func position(of key: MapKey) -> Int? {
        if let index { return index[key] }
        for position in 0..<keys.count where keys[position] == key { return position }
        return nil
    }

    /// The value under `key` (with numeric keys matching across int, uint and whole doubles).
    public subscript(key: Value) -> Value? {
        guard let mapKey = MapKey(lookingUp: key), let position = position(of: mapKey) else { return nil }
        return entries[position].value
    }

    /// The value under a string key (the fast path of `a.b`).
    public subscript(string key: String) -> Value? {
        if let index {
            guard let position = index[.string(ScalarString(key))] else { return nil }
            return entries[position].value
        }
        for position in 0..<keys.count {
            if case .string(let s) = keys[position], utf8Equal(s.string, key) { return entries[position].value }
        }
        return nil
    }

    public func contains(_ key: Value) -> Bool { self[key] != nil }

    /// The keys in insertion order.
    public var keyList: [Value] { entries.map(\.key) }
}

// MARK: - JSON

extension Value {
    /// A value from JSON: integers (no fraction or exponent) become int, other numbers double,
    /// arrays lists, objects maps with string keys (a repeated key: the last one wins).
    public init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map(Value.init(json:)))
        case .object(let pairs):
            var map = ValueMap()
            for pair in pairs { map.set(.string(pair.key), Value(json: pair.value)) }
            self = .map(map)
        }
    }

    /// The value as JSON (CEL's JSON mapping): a uint above Int64.max becomes a double, bytes
    /// a base64 string, map keys their string form (`1`, `true`). `writeJSON` keeps uints exact.
    public var jsonValue: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .uint(let u): return u <= UInt64(Int64.max) ? .int(Int64(u)) : .double(Double(u))
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(base64(b))
        case .list(let items): return .array(items.map(\.jsonValue))
        case .map(let map):
            return .object(map.entries.map { (key: $0.key.keyText, value: $0.value.jsonValue) })
        }
    }

    /// A map key's JSON object key.
    var keyText: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .bool(let b): return b ? "true" : "false"
        default: return description
        }
    }

    /// Compact JSON text of the value, exact for every uint (JSON numbers have no size limit).
    /// Doubles follow `JSONWriter.number` (NaN and infinities as the strings ".nan", ".inf").
    public func writeJSON(into out: inout String) {
        switch self {
        case .uint(let u): out += String(u)
        case .list(let items):
            out += "["
            for (position, item) in items.enumerated() {
                if position > 0 { out += "," }
                item.writeJSON(into: &out)
            }
            out += "]"
        case .map(let map):
            out += "{"
            for (position, entry) in map.entries.enumerated() {
                if position > 0 { out += "," }
                JSONWriter.quote(entry.key.keyText, into: &out)
                out += ":"
                entry.value.writeJSON(into: &out)
            }
            out += "}"
        default:
            JSONWriter().write(jsonValue, into: &out, depth: 0)
        }
    }

    public var jsonText: String {
        var out = ""
        writeJSON(into: &out)
        return out
    }
}

func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index + 3 <= bytes.count {
        let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
        out.append(alphabet[Int(n >> 18 & 63)])
        out.append(alphabet[Int(n >> 12 & 63)])
        out.append(alphabet[Int(n >> 6 & 63)])
        out.append(alphabet[Int(n & 63)])
        index += 3
    }
    let rest = bytes.count - index
    if rest == 1 {
        let n = UInt32(bytes[index]) << 16
        out.append(alphabet[Int(n >> 18 & 63)])
        out.append(alphabet[Int(n >> 12 & 63)])
        out.append(contentsOf: Array("==".utf8))
    } else if rest == 2 {
        let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
        out.append(alphabet[Int(n >> 18 & 63)])
        out.append(alphabet[Int(n >> 12 & 63)])
        out.append(alphabet[Int(n >> 6 & 63)])
        out.append(UInt8(ascii: "="))
    }
    return String(decoding: out, as: UTF8.self)
}

// MARK: - Display

extension Value: CustomStringConvertible {
    /// The value written as an expression literal would write it (`1u`, `"a"`, `b"\xff"`).
    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .uint(let u): return String(u) + "u"
        case .double(let d):
            if d.isNaN { return "double(\"NaN\")" }
            if d.isInfinite { return d < 0 ? "double(\"-Inf\")" : "double(\"Inf\")" }
            let text = d.description
            return text
        case .string(let s): return quoteLiteral(s)
        case .bytes(let b):
            var out = "b\""
            for byte in b {
                if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
                    out.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let hex = String(byte, radix: 16)
                    out += "\\x" + (hex.count == 1 ? "0" : "") + hex
                }
            }
            return out + "\""
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .map(let map):
            return "{" + map.entries.map { "\($0.key.description): \($0.value.description)" }.joined(separator: ", ") + "}"
        }
    }
}

func quoteLiteral(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
