internal import CFastBase64

/// Why base64 text was rejected, and where.
///
/// `offset` counts bytes from the start of the input (from the start of the whole stream when
/// decoding incrementally), so a caller can point at the exact character.
public struct Base64Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of problem. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// A byte outside the alphabet (including whitespace without ``Base64Options/ignoreWhitespace``).
        public static let invalidCharacter = Code("invalid-character")
        /// `=` where it cannot be (before the last group, after a single data character, with
        /// ``Base64Options/omitPadding``), data after the padding, or a padded group cut short.
        public static let invalidPadding = Code("invalid-padding")
        /// The input ends inside a 4-character group (a length of 4n+1, or unpadded without
        /// ``Base64Options/omitPadding``); `offset` is where that group starts.
        public static let invalidLength = Code("invalid-length")
        /// The last data character carries non-zero bits that no byte uses (RFC 4648 section 3.5).
        public static let nonCanonical = Code("non-canonical")
        public var description: String { name }
    }

    /// The class of problem.
    public var code: Code
    /// Byte offset of the offending character (or of the incomplete group, for ``Code/invalidLength``).
    public var offset: Int
    /// The offending byte, when the offset points at one inside the input.
    public var byte: UInt8?

    public init(code: Code, offset: Int, byte: UInt8? = nil) {
        self.code = code
        self.offset = offset
        self.byte = byte
    }

    init(status: Int32, offset: Int, byte: UInt8?) {
        let code: Code
        switch status {
        case Int32(KLINGKIT_B64_INVALID_CHARACTER): code = .invalidCharacter
        case Int32(KLINGKIT_B64_INVALID_PADDING): code = .invalidPadding
        case Int32(KLINGKIT_B64_INVALID_LENGTH): code = .invalidLength
        default: code = .nonCanonical
        }
        self.init(code: code, offset: offset, byte: code == .invalidLength ? nil : byte)
    }

    init(status: Int32, offset: Int, input: UnsafeRawBufferPointer) {
        let byte = offset >= 0 && offset < input.count ? input[offset] : nil
        self.init(status: status, offset: offset, byte: byte)
    }

    /// One line, e.g. `invalid base64 character 0x0A (line feed) at offset 76`.
    public var description: String {
        let what = byte.map { Self.describe($0) } ?? ""
        switch code {
        case .invalidCharacter:
            return "invalid base64 character \(what) at offset \(offset)"
        case .invalidPadding:
            if let byte, byte == UInt8(ascii: "=") { return "misplaced base64 padding '=' at offset \(offset)" }
            if byte == nil { return "base64 padding incomplete at offset \(offset) (input ends before the group's last '=')" }
            return "base64 data \(what) after the padding at offset \(offset)"
        case .invalidLength:
            return "base64 input ends inside the 4-character group starting at offset \(offset) (truncated, or padding missing)"
        case .nonCanonical:
            return "non-canonical base64 at offset \(offset): character \(what) carries non-zero unused bits"
        default:
            return "invalid base64 (\(code)) at offset \(offset)"
        }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    static func describe(_ byte: UInt8) -> String {
        let hex = "0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        switch byte {
        case 0x0A: return "\(hex) (line feed)"
        case 0x0D: return "\(hex) (carriage return)"
        case 0x09: return "\(hex) (tab)"
        case 0x20: return "\(hex) (space)"
        case 0x21...0x7E: return "\(hex) ('\(Character(Unicode.Scalar(byte)))')"
        default: return hex
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
