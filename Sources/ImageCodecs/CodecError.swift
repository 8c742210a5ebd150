/// An error from sniffing, probing, decoding or encoding an image.
///
/// ``code`` says what kind of failure it is (switch on it with `==`; new codes can be added without
/// breaking anyone); ``message`` keeps libjpeg's or libpng's own words verbatim.
public struct CodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. An open set of values: compare with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case corrupt, unsupported, tooManyPixels, unsupportedFormat, io, resourceLimit, invalidArgument
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The stream is damaged: truncated, bad Huffman/zlib data, bad CRC, impossible header.
        public static let corrupt = Code(.corrupt)
        /// A valid stream this build cannot decode (12-bit or lossless JPEG).
        public static let unsupported = Code(.unsupported)
        /// The header declares more pixels than ``DecodeOptions/maxPixels``.
        public static let tooManyPixels = Code(.tooManyPixels)
        /// The bytes are neither JPEG nor PNG.
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// Reading or writing a file failed.
        public static let io = Code(.io)
        /// A memory or work limit was reached (libjpeg working memory, progressive scan count).
        public static let resourceLimit = Code(.resourceLimit)
        /// The caller asked for something impossible (e.g. a JPEG wider than 65,500 px).
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The library's message, verbatim where there is one.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
