import Diagnostics

/// The encoding check done once before parsing: the input must be UTF-8 without control
/// characters other than tab and line breaks, and a carriage return must start a CR LF pair.
enum EncodingCheck {
    /// Throws on the first offending byte; returns true when the input is pure ASCII (columns are
    /// then byte distances, which makes locations cheaper).
    static func validate(_ input: UnsafeBufferPointer<UInt8>) throws(YAMLError) -> Bool {
        let count = input.count
        guard let base = input.baseAddress, count > 0 else { return true }
        var isASCII = true
        var index = 0
        while index < count {
            // Fast path: eight ASCII bytes at once, none a control character other than tab and LF.
            if index + 8 <= count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                let highBits: UInt64 = 0x8080_8080_8080_8080
                if word & highBits == 0 {
                    // Exact per-byte masks (no borrows between bytes): high bit set where the byte is zero.
                    func zeroBytes(_ x: UInt64) -> UInt64 {
                        ~(((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | x | 0x7F7F_7F7F_7F7F_7F7F)
                    }
                    let control = zeroBytes(word & 0xE0E0_E0E0_E0E0_E0E0)
                    let lineFeeds = zeroBytes(word ^ 0x0A0A_0A0A_0A0A_0A0A)
                    let tabs = zeroBytes(word ^ 0x0909_0909_0909_0909)
                    if control & ~(lineFeeds | tabs) == 0 {
                        index += 8
                        continue
                    }
                }
            }
            let byte = base[index]
            if byte < 0x80 {
                if byte < 0x20 {
                    switch byte {
                    case Byte.tab, Byte.lineFeed:
                        break
                    case Byte.carriageReturn:
                        if index + 1 >= count || base[index + 1] != Byte.lineFeed {
                            throw YAMLError.loneCarriageReturn(at: locate(input, offset: index), end: locate(input, offset: index + 1))
                        }
                    default:
                        throw YAMLError.controlCharacter(byte, at: locate(input, offset: index), end: locate(input, offset: index + 1))
                    }
                }
                index += 1
                continue
            }
            isASCII = false
            let length = sequenceLength(base, count, index)
            if length == 0 {
                throw YAMLError.invalidUTF8(
                    byte, at: locate(input, offset: index), end: locate(input, offset: index + 1),
                    startsWithUTF16Mark: startsWithUTF16Mark(input))
            }
            index += length
        }
        return isASCII
    }

    /// The length of the valid UTF-8 sequence at `index`, 0 when it is not valid.
    private static func sequenceLength(_ base: UnsafePointer<UInt8>, _ count: Int, _ index: Int) -> Int {
        let lead = base[index]
        func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            guard index + offset < count else { return false }
            let byte = base[index + offset]
            return byte >= low && byte <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? 2 : 0
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? 3 : 0
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? 3 : 0
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default:
            return 0
        }
    }

    private static func startsWithUTF16Mark(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        input.count >= 2 && ((input[0] == 0xFE && input[1] == 0xFF) || (input[0] == 0xFF && input[1] == 0xFE))
    }

    /// The location of a byte offset, counted from the start (used on error paths only).
    static func locate(_ input: UnsafeBufferPointer<UInt8>, offset: Int) -> SourceLocation {
        LineIndex.locate(offset, in: input)
    }
}
