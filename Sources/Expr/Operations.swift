/// An evaluation error: a value of the evaluation, never a crash.
public struct EvalError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    static func noOverload(_ function: String, _ arguments: Value...) -> EvalError {
        EvalError("no matching overload for `\(function)` applied to (\(arguments.map(\.typeName).joined(separator: ", ")))")
    }

    static let divisionByZero = EvalError("division by zero")
    static let moduloByZero = EvalError("modulus by zero")
    static func overflow(_ operation: String) -> EvalError { EvalError("integer overflow in `\(operation)`") }
}

/// The functions of the language (grammar/expr.md, "Functions").
enum Builtin: String, Sendable {
    case size, startsWith, endsWith, contains, matches
    case toInt = "int", toUInt = "uint", toDouble = "double", toString = "string", toBool = "bool", toBytes = "bytes", toDyn = "dyn"

    static let conversions: [Builtin] = [.toInt, .toUInt, .toDouble, .toString, .toBool, .toBytes, .toDyn]

    /// Every function name, for suggestions.
    static let names: [String] = ["size", "startsWith", "endsWith", "contains", "matches", "int", "uint", "double", "string", "bool", "bytes", "dyn", "has"]

    /// The function a call means: `name(args)` when `isMethod` is false, `target.name(args)`
    /// otherwise; `argumentCount` counts the target. Nil when there is no such function.
    static func resolve(_ name: String, isMethod: Bool, argumentCount: Int) -> Builtin? {
        guard let builtin = Builtin(rawValue: name) else { return nil }
        switch builtin {
        case .size: return argumentCount == 1 ? .size : nil
        case .startsWith, .endsWith, .contains: return isMethod && argumentCount == 2 ? builtin : nil
        case .matches: return argumentCount == 2 ? .matches : nil
        default: return !isMethod && argumentCount == 1 ? builtin : nil
        }
    }

    /// What the call should look like, for messages.
    var usage: String {
        switch self {
        case .size: return "size(x) or x.size()"
        case .startsWith, .endsWith, .contains: return "text.\(rawValue)(\"...\")"
        case .matches: return "text.matches(\"regex\") or matches(text, \"regex\")"
        default: return "\(rawValue)(x)"
        }
    }
}

enum Operations {
    // MARK: arithmetic

    static func add(_ a: Value, _ b: Value) throws(EvalError) -> Value {
        switch (a, b) {
        case let (.int(x), .int(y)):
            let (r, o) = x.addingReportingOverflow(y)
            if o { throw .overflow("+") }
            return .int(r)
        case let (.uint(x), .uint(y)):
            let (r, o) = x.addingReportingOverflow(y)
            if o { throw .overflow("+") }
            return .uint(r)
        case let (.double(x), .double(y)): return .double(x + y)
        case let (.string(x), .string(y)): return .string(x + y)
        case let (.bytes(x), .bytes(y)): return .bytes(x + y)
        case let (.list(x), .list(y)): return .list(x + y)
        default: throw .noOverload("+", a, b)
        }
    }

    static func subtract(_ a: Value, _ b: Value) throws(EvalError) -> Value {
        switch (a, b) {
        case let (.int(x), .int(y)):
            let (r, o) = x.subtractingReportingOverflow(y)
            if o { throw .overflow("-") }
            return .int(r)
        case let (.uint(x), .uint(y)):
            let (r, o) = x.subtractingReportingOverflow(y)
            if o { throw .overflow("-") }
            return .uint(r)
        case let (.double(x), .double(y)): return .double(x - y)
        default: throw .noOverload("-", a, b)
        }
    }

    static func multiply(_ a: Value, _ b: Value) throws(EvalError) -> Value {
        switch (a, b) {
        case let (.int(x), .int(y)):
            let (r, o) = x.multipliedReportingOverflow(by: y)
            if o { throw .overflow("*") }
            return .int(r)
        case let (.uint(x), .uint(y)):
            let (r, o) = x.multipliedReportingOverflow(by: y)
            if o { throw .overflow("*") }
            return .uint(r)
        case let (.double(x), .double(y)): return .double(x * y)
        default: throw .noOverload("*", a, b)
        }
    }

    static func divide(_ a: Value, _ b: Value) throws(EvalError) -> Value {
        switch (a, b) {
        case let (.int(x), .int(y)):
            if y == 0 { throw .divisionByZero }
            let (r, o) = x.dividedReportingOverflow(by: y)
            if o { throw .overflow("/") }
            return .int(r)
        case let (.uint(x), .uint(y)):
            if y == 0 { throw .divisionByZero }
            return .uint(x / y)
        case let (.double(x), .double(y)): return .double(x / y)
        default: throw .noOverload("/", a, b)
        }
    }

    static func remainder(_ a: Value, _ b: Value) throws(EvalError) -> Value {
        switch (a, b) {
        case let (.int(x), .int(y)):
            if y == 0 { throw .moduloByZero }
            let (r, o) = x.remainderReportingOverflow(dividingBy: y)
            if o { throw .overflow("%") }
            return .int(r)
        case let (.uint(x), .uint(y)):
            if y == 0 { throw .moduloByZero }
            return .uint(x % y)
        default: throw .noOverload("%", a, b)
        }
    }

    static func negate(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .int(let x):
            if x == Int64.min { throw .overflow("-") }
            return .int(-x)
        case .double(let x): return .double(-x)
        default: throw .noOverload("-", a)
        }
    }

    static func not(_ a: Value) throws(EvalError) -> Value {
        guard case .bool(let b) = a else { throw .noOverload("!", a) }
        return .bool(!b)
    }

    // MARK: relations

    static func relation(_ op: BinaryOperator, _ a: Value, _ b: Value) throws(EvalError) -> Value {
        switch op {
        case .equal: return .bool(a.celEquals(b))
        case .notEqual: return .bool(!a.celEquals(b))
        case .isIn: return .bool(try isIn(a, b))
        default:
            guard let order = a.celCompare(b) else { throw .noOverload(op.rawValue, a, b) }
            switch op {
            case .less: return .bool(order == .less)
            case .lessEqual: return .bool(order == .less || order == .equal)
            case .greater: return .bool(order == .greater)
            default: return .bool(order == .greater || order == .equal)
            }
        }
    }

    static func binary(_ op: BinaryOperator, _ a: Value, _ b: Value) throws(EvalError) -> Value {
        switch op {
        case .add: return try add(a, b)
        case .subtract: return try subtract(a, b)
        case .multiply: return try multiply(a, b)
        case .divide: return try divide(a, b)
        case .remainder: return try remainder(a, b)
        default: return try relation(op, a, b)
        }
    }

    static func isIn(_ element: Value, _ container: Value) throws(EvalError) -> Bool {
        switch container {
        case .list(let items):
            if case .string(let s) = element {
                // The common guard `path in list_of_paths`.
                for item in items {
                    if case .string(let t) = item, utf8Equal(s, t) { return true }
                }
                return false
            }
            for item in items where element.celEquals(item) { return true }
            return false
        case .map(let map):
            return map.contains(element)
        default:
            throw .noOverload("in", element, container)
        }
    }

    // MARK: access

    static func select(_ operand: Value, _ field: String) throws(EvalError) -> Value {
        guard case .map(let map) = operand else {
            throw EvalError("cannot select field `\(field)` of a value of type \(operand.typeName); only maps have fields")
        }
        guard let value = map[string: field] else { throw EvalError("no such key: `\(field)`") }
        return value
    }

    static func has(_ operand: Value, _ field: String) throws(EvalError) -> Value {
        guard case .map(let map) = operand else {
            throw EvalError("has(): cannot test field `\(field)` of a value of type \(operand.typeName); only maps have fields")
        }
        return .bool(map[string: field] != nil)
    }

    static func index(_ operand: Value, _ key: Value) throws(EvalError) -> Value {
        switch operand {
        case .list(let items):
            let position: Int64
            switch key {
            case .int(let i): position = i
            case .uint(let u):
                guard u <= UInt64(Int64.max) else { throw EvalError("index \(u) out of range for a list of size \(items.count)") }
                position = Int64(u)
            case .double(let d):
                guard d == d.rounded(.towardZero), d > -9.3e18, d < 9.3e18, let whole = Int64(exactly: d) else {
                    throw EvalError("invalid list index \(Value.double(d)): not a whole number")
                }
                position = whole
            default:
                throw EvalError("invalid list index of type \(key.typeName); an index is an int")
            }
            guard position >= 0, position < Int64(items.count) else {
                throw EvalError("index \(position) out of range for a list of size \(items.count)")
            }
            return items[Int(position)]
        case .map(let map):
            switch key {
            case .int, .uint, .double, .string, .bool: break
            default: throw EvalError("invalid map key type \(key.typeName)")
            }
            guard let value = map[key] else { throw EvalError("no such key: \(key)") }
            return value
        default:
            throw .noOverload("_[_]", operand, key)
        }
    }

    // MARK: functions

    static func size(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .string(let s): return .int(Int64(s.unicodeScalars.count))
        case .bytes(let b): return .int(Int64(b.count))
        case .list(let items): return .int(Int64(items.count))
        case .map(let map): return .int(Int64(map.count))
        default: throw .noOverload("size", a)
        }
    }

    static func call1(_ function: Builtin, _ a: Value) throws(EvalError) -> Value {
        switch function {
        case .size: return try size(a)
        case .toInt: return try toInt(a)
        case .toUInt: return try toUInt(a)
        case .toDouble: return try toDouble(a)
        case .toString: return try toString(a)
        case .toBool: return try toBool(a)
        case .toBytes: return try toBytes(a)
        case .toDyn: return a
        default: throw .noOverload(function.rawValue, a)
        }
    }

    static func call2(_ function: Builtin, _ a: Value, _ b: Value) throws(EvalError) -> Value {
        guard case .string(let s) = a, case .string(let t) = b else { throw .noOverload(function.rawValue, a, b) }
        switch function {
        case .startsWith: return .bool(utf8HasPrefix(s, t))
        case .endsWith: return .bool(utf8HasSuffix(s, t))
        case .contains: return .bool(utf8Contains(s, t))
        case .matches:
            do {
                return .bool(try Regex(t).matches(s))
            } catch {
                throw EvalError("invalid regular expression \(quoteLiteral(t)): \(error.message)")
            }
        default: throw .noOverload(function.rawValue, a, b)
        }
    }

    // MARK: conversions

    static func toInt(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .int: return a
        case .uint(let u):
            guard u <= UInt64(Int64.max) else { throw EvalError("range error: \(u)u does not fit an int") }
            return .int(Int64(u))
        case .double(let d):
            // CEL refuses the boundaries themselves (they do not round-trip).
            guard d.isFinite, d > -9223372036854775808.0, d < 9223372036854775808.0 else {
                throw EvalError("range error: \(Value.double(d)) does not fit an int")
            }
            return .int(Int64(d.rounded(.towardZero)))
        case .string(let s):
            guard let i = Int64(s) else { throw EvalError("cannot convert \(quoteLiteral(s)) to int") }
            return .int(i)
        default: throw .noOverload("int", a)
        }
    }

    static func toUInt(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .uint: return a
        case .int(let i):
            guard i >= 0 else { throw EvalError("range error: \(i) does not fit a uint") }
            return .uint(UInt64(i))
        case .double(let d):
            guard d.isFinite, d > -1, d < 18446744073709551616.0 else {
                throw EvalError("range error: \(Value.double(d)) does not fit a uint")
            }
            return .uint(UInt64(d.rounded(.towardZero)))
        case .string(let s):
            guard let u = UInt64(s), s.first != "+" else { throw EvalError("cannot convert \(quoteLiteral(s)) to uint") }
            return .uint(u)
        default: throw .noOverload("uint", a)
        }
    }

    static func toDouble(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .double: return a
        case .int(let i): return .double(Double(i))
        case .uint(let u): return .double(Double(u))
        case .string(let s):
            guard !s.isEmpty, !s.contains(" "), let d = Double(s) else { throw EvalError("cannot convert \(quoteLiteral(s)) to double") }
            return .double(d)
        default: throw .noOverload("double", a)
        }
    }

    static func toString(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .string: return a
        case .int(let i): return .string(String(i))
        case .uint(let u): return .string(String(u))
        case .double(let d): return .string(formatDouble(d))
        case .bool(let b): return .string(b ? "true" : "false")
        case .bytes(let b):
            guard let s = String(validating: b, as: UTF8.self) else { throw EvalError("invalid UTF-8 in bytes converted to string") }
            return .string(s)
        default: throw .noOverload("string", a)
        }
    }

    static func toBool(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .bool: return a
        case .string(let s):
            switch s {
            case "1", "t", "T", "true", "TRUE", "True": return .bool(true)
            case "0", "f", "F", "false", "FALSE", "False": return .bool(false)
            default: throw EvalError("cannot convert \(quoteLiteral(s)) to bool")
            }
        default: throw .noOverload("bool", a)
        }
    }

    static func toBytes(_ a: Value) throws(EvalError) -> Value {
        switch a {
        case .bytes: return a
        case .string(let s): return .bytes(Array(s.utf8))
        default: throw .noOverload("bytes", a)
        }
    }

    /// A double as `string()` writes it: the shortest digits that read back to the same
    /// double, as CEL's reference implementation (Go's `%g`) writes it: exponent form when the
    /// decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`), plain otherwise.
    static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        // Shortest round-trip digits from Swift's description.
        let text = d.magnitude.description
        var digits: [UInt8] = []
        var pointPosition: Int?
        var exponent = 0
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            let c = utf8[index]
            if c == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                exponent = Int(String(decoding: utf8[(index + 1)...], as: UTF8.self)) ?? 0
                break
            } else {
                digits.append(c)
            }
            index += 1
        }
        // value = 0.d1d2... * 10^dp
        var dp = (pointPosition ?? digits.count) + exponent
        while let first = digits.first, first == UInt8(ascii: "0") {
            digits.removeFirst()
            dp -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return "0" }
        let sign = d < 0 ? "-" : ""
        let e = dp - 1
        if e < -4 || e >= 6 {
            var out = sign + String(UnicodeScalar(digits[0]))
            if digits.count > 1 { out += "." + String(decoding: digits[1...], as: UTF8.self) }
            let magnitude = abs(e)
            out += (e < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + String(magnitude)
            return out
        }
        if dp <= 0 {
            return sign + "0." + String(repeating: "0", count: -dp) + String(decoding: digits, as: UTF8.self)
        }
        if dp >= digits.count {
            return sign + String(decoding: digits, as: UTF8.self) + String(repeating: "0", count: dp - digits.count)
        }
        return sign + String(decoding: digits[0..<dp], as: UTF8.self) + "." + String(decoding: digits[dp...], as: UTF8.self)
    }
}
