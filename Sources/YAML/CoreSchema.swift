/// The YAML 1.2 core schema: how a plain scalar's text resolves to null, a boolean, an integer, a
/// float or (everything else) a string. Quoted and block scalars are always strings.
enum CoreSchema {
    /// Resolves the plain scalar `bytes[start..<end]` whose text is `text`.
    static func resolve(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, text: String) -> ScalarValue {
        let length = end - start
        if length == 0 { return .null }
        let first = bytes[start]
        switch first {
        case Byte.tilde:
            return length == 1 ? .null : .string(text)
        case 0x6E, 0x4E:  // n N
            return text == "null" || text == "Null" || text == "NULL" ? .null : .string(text)
        case 0x74, 0x54:  // t T
            return text == "true" || text == "True" || text == "TRUE" ? .bool(true) : .string(text)
        case 0x66, 0x46:  // f F
            return text == "false" || text == "False" || text == "FALSE" ? .bool(false) : .string(text)
        case Byte.zero...Byte.nine, Byte.plus, Byte.minus, Byte.dot:
            return number(bytes, start, end, text: text) ?? .string(text)
        default:
            return .string(text)
        }
    }

    /// Whether the plain scalar `bytes[start..<end]` resolves to a string for sure (no null, no
    /// boolean, no number), decided on the bytes alone: `resolve` would give `.string`.
    static func isString(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        let length = end - start
        guard length > 0 else { return false }
        func word(_ text: StaticString) -> Bool {
            guard text.utf8CodeUnitCount == length else { return false }
            let expected = text.utf8Start
            for index in 0..<length where bytes[start + index] != expected[index] { return false }
            return true
        }
        switch bytes[start] {
        case Byte.tilde, Byte.zero...Byte.nine, Byte.plus, Byte.minus, Byte.dot: return false
        case 0x6E, 0x4E: return !(word("null") || word("Null") || word("NULL"))
        case 0x74, 0x54: return !(word("true") || word("True") || word("TRUE"))
        case 0x66, 0x46: return !(word("false") || word("False") || word("FALSE"))
        default: return true
        }
    }

    /// Resolves a text the same way (for callers that hold a String).
    static func resolve(_ text: String) -> ScalarValue {
        var copy = text
        return copy.withUTF8 { resolve($0, 0, $0.count, text: text) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= Byte.zero && byte <= Byte.nine }

    private static func hexValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case 0x30...0x39: return UInt64(byte - 0x30)
        case 0x41...0x46: return UInt64(byte - 0x41 + 10)
        case 0x61...0x66: return UInt64(byte - 0x61 + 10)
        default: return nil
        }
    }

    /// ints `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`; floats
    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `[-+]?\.(inf|Inf|INF)`, `\.(nan|NaN|NAN)`.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, text: String) -> ScalarValue? {
        var index = start
        // 0x / 0o (no sign allowed by the core schema)
        if end - start > 2, bytes[start] == Byte.zero {
            let marker = bytes[start + 1]
            if marker == 0x78 || marker == 0x6F {  // x o
                let radix: UInt64 = marker == 0x78 ? 16 : 8
                var value: UInt64 = 0
                var overflow = false
                for position in (start + 2)..<end {
                    guard let digit = hexValue(bytes[position]), digit < radix else { return nil }
                    let (multiplied, o1) = value.multipliedReportingOverflow(by: radix)
                    let (added, o2) = multiplied.addingReportingOverflow(digit)
                    if o1 || o2 { overflow = true }
                    value = added
                }
                if overflow || value > UInt64(Int64.max) {
                    return .float(radix == 16 ? largeValue(bytes, start + 2, end, radix: 16) : largeValue(bytes, start + 2, end, radix: 8))
                }
                return .int(Int64(value))
            }
        }
        var negative = false
        if bytes[index] == Byte.plus || bytes[index] == Byte.minus {
            negative = bytes[index] == Byte.minus
            index += 1
            if index == end { return nil }
        }
        // .inf / .nan
        if bytes[index] == Byte.dot, end - index == 4 {
            let word = String(decoding: UnsafeBufferPointer(rebasing: bytes[(index + 1)..<end]), as: UTF8.self)
            if word == "inf" || word == "Inf" || word == "INF" { return .float(negative ? -.infinity : .infinity) }
            if index == start, word == "nan" || word == "NaN" || word == "NAN" { return .float(.nan) }
        }
        let integerStart = index
        while index < end, isDigit(bytes[index]) { index += 1 }
        let integerDigits = index - integerStart
        if index == end {
            guard integerDigits > 0 else { return nil }
            var value: Int64 = 0
            for position in integerStart..<end {
                let digit = Int64(bytes[position] - Byte.zero)
                let (multiplied, o1) = value.multipliedReportingOverflow(by: 10)
                let (added, o2) = negative ? multiplied.subtractingReportingOverflow(digit) : multiplied.addingReportingOverflow(digit)
                if o1 || o2 { return Double(text).map { .float($0) } }
                value = added
            }
            return .int(value)
        }
        var fractionDigits = 0
        if bytes[index] == Byte.dot {
            index += 1
            let fractionStart = index
            while index < end, isDigit(bytes[index]) { index += 1 }
            fractionDigits = index - fractionStart
        }
        if integerDigits == 0 && fractionDigits == 0 { return nil }
        if index < end, bytes[index] == 0x65 || bytes[index] == 0x45 {  // e E
            index += 1
            if index < end, bytes[index] == Byte.plus || bytes[index] == Byte.minus { index += 1 }
            let exponentStart = index
            while index < end, isDigit(bytes[index]) { index += 1 }
            if index == exponentStart { return nil }
        }
        guard index == end else { return nil }
        // Swift's parser does not take a leading `+` or a bare trailing `.` everywhere; normalize.
        var normalized = text
        if bytes[start] == Byte.plus { normalized.removeFirst() }
        if let value = Double(normalized) { return .float(value) }
        return nil
    }

    private static func largeValue(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, radix: Double) -> Double {
        var value = 0.0
        for position in start..<end {
            value = value * radix + Double(hexValue(bytes[position]) ?? 0)
        }
        return value
    }
}
