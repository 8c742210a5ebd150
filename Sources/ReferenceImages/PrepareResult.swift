import ImageCodecs
import ImageCore

/// The result of preparing one image.
public struct PreparedImage: Sendable {
    /// The output bytes and their format.
    public var encoded: EncodedImage
    /// What was done, in order. Empty when the input was copied unchanged.
    public var actions: [PrepareAction]
    /// Output width in pixels.
    public var width: Int
    /// Output height in pixels.
    public var height: Int

    public init(encoded: EncodedImage, actions: [PrepareAction], width: Int, height: Int) {
        self.encoded = encoded
        self.actions = actions
        self.width = width
        self.height = height
    }
}

/// One thing ``ReferenceImagePreparer`` did to an image. ``description`` is the short phrase the
/// command line prints (`oriented(6)`, `padded 3000x1000->3000x1200`, `resized 200x200->300x300 lanczos3`,
/// `re-encoded jpeg q=86`, `stripped metadata`, …).
public enum PrepareAction: Sendable, Hashable, CustomStringConvertible {
    /// EXIF, XMP, text and other metadata removed (or an EXIF orientation consumed).
    case strippedMetadata
    /// The JPEG was decoded at `eighths`/8 of its size in the IDCT (1...7).
    case shrinkOnLoad(eighths: Int)
    /// The EXIF orientation (2...8) was applied to the pixels.
    case oriented(Int)
    /// Resampled from one size to another with `filter`.
    case resized(from: Size, to: Size, filter: ResampleFilter)
    /// Resampled smaller so the encoding fits `budget` bytes.
    case resizedToFit(from: Size, to: Size, filter: ResampleFilter, budget: Int)
    /// Cut to the allowed aspect ratio.
    case cropped(from: Size, to: Size)
    /// Placed on a larger canvas; `style` says what fills the borders.
    case padded(from: Size, to: Size, style: PrepareOptions.PadStyle)
    /// The ICC profile was left out, for `reason`.
    case droppedICCProfile(reason: String)
    /// The pixels were converted from their ICC profile to sRGB.
    case convertedToSRGB
    /// Transparency was composited over a colour (JPEG has no alpha).
    case flattenedAlpha(onto: Color)
    /// The container format changed.
    case converted(from: ImageFormat, to: ImageFormat)
    /// Encoded as JPEG at `quality` (1...100).
    case reencodedJPEG(quality: Int)
    /// Encoded as PNG.
    case reencodedPNG
    /// A HEIF/HEIC, AVIF or WebP input was decoded (the API takes only JPEG and PNG).
    case decoded(ConvertibleFormat)
    /// A converted format's container became JPEG or PNG.
    case convertedFrom(ConvertibleFormat, to: ImageFormat)
    /// An animation's default image (APNG) or first frame was written as a still.
    case stillFromAnimation(format: String, frames: Int)
    /// A fact the decoder reported about the input that shaped the output (`primary image of 2`,
    /// `first frame of 12`, a colour description it could not honour).
    case decoderNote(String)
    /// A profile could not be applied, so the decoded colours were kept as they are.
    case keptDecodedColours(reason: String)

    /// The reason given when a profile's colour space is not the pixels'.
    static let profileMismatch = PrepareAction.droppedICCProfile(reason: "colour space does not match")

    public var description: String {
        switch self {
        case .strippedMetadata: "stripped metadata"
        case .shrinkOnLoad(let eighths): "shrink-on-load \(PreparePlan.fraction(eighths: eighths))"
        case .oriented(let orientation): "oriented(\(orientation))"
        case .resized(let from, let to, let filter): "resized \(from)->\(to) \(filter)"
        case .resizedToFit(let from, let to, let filter, let budget): "resized \(from)->\(to) \(filter) to fit \(budget) bytes"
        case .cropped(let from, let to): "cropped \(from)->\(to)"
        case .padded(let from, let to, let style): "padded \(from)->\(to)" + (style == .color ? "" : " \(style.rawValue)")
        case .droppedICCProfile(let reason): "dropped ICC profile (\(reason))"
        case .convertedToSRGB: "converted colours to sRGB (ICC profile)"
        case .flattenedAlpha(let color): "flattened alpha onto \(Self.hex(color))"
        case .converted(let from, let to): "converted \(from.rawValue)->\(to.rawValue)"
        case .reencodedJPEG(let quality): "re-encoded jpeg q=\(quality)"
        case .reencodedPNG: "re-encoded png"
        case .decoded(let format): "decoded \(format.rawValue)"
        case .convertedFrom(let from, let to): "converted \(from.rawValue)->\(to.rawValue)"
        case .stillFromAnimation(let format, let frames): "animated \(format) (\(frames) frames): default image written as a still"
        case .decoderNote(let note): note
        case .keptDecodedColours(let reason): "colours kept as decoded (\(reason))"
        }
    }

    /// `#rrggbb`.
    static func hex(_ color: Color) -> String {
        func h(_ v: UInt8) -> String { let s = String(v, radix: 16); return s.count == 1 ? "0" + s : s }
        return "#" + h(color.red) + h(color.green) + h(color.blue)
    }
}

/// Why an image could not be prepared: the rule it breaks that no fix-up can cure, or the step that
/// failed, in one line.
///
/// ``code`` says which (compare with `==`; new codes break no one's `switch`); ``message`` names the
/// measured value and the limit where there is one; ``libraryMessage`` keeps libjpeg's or libpng's own
/// words when a codec failure caused this; ``file`` is the file or option concerned, when known.
public struct PrepareError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. An open set of values: compare with `==`. Its ``description`` is the rule
    /// name printed by the command line (a ``ValidationRule`` raw value where one applies).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case unsupportedFormat = "unsupported-format"
            case corrupt
            case tooManyPixels = "too-many-pixels"
            case fileSize = "file-size"
            case encode
            case io
            case options
            case output
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Not JPEG or PNG, or a variant that cannot be decoded (12-bit, lossless JPEG).
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// The file does not decode (truncated, damaged), or is refused by a decoder limit.
        public static let corrupt = Code(.corrupt)
        /// More pixels than the rules allow; not decoded.
        public static let tooManyPixels = Code(.tooManyPixels)
        /// Even the smallest legal size does not fit the byte budget, or the input is too large to read.
        public static let fileSize = Code(.fileSize)
        /// The encoder failed.
        public static let encode = Code(.encode)
        /// The file could not be opened, read or written.
        public static let io = Code(.io)
        /// The options ask for something the rules forbid.
        public static let options = Code(.options)
        /// The output would overwrite the input.
        public static let output = Code(.output)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong, naming the measured value and the limit where there is one.
    public var message: String
    /// The codec's own message (libjpeg's or libpng's words, verbatim) when a codec failure caused this.
    public var libraryMessage: String?
    /// The file or option this concerns, when known.
    public var file: String?

    public init(_ code: Code, _ message: String, libraryMessage: String? = nil, file: String? = nil) {
        self.code = code
        self.message = message
        self.libraryMessage = libraryMessage
        self.file = file
    }

    /// The rule name: ``code``'s description (`corrupt`, `file-size`, …).
    public var rule: String { code.description }

    public var description: String { "\(rule): \(message)" }

    /// The preparation error for a codec failure, keeping the codec's message.
    static func decoding(_ error: CodecError) -> PrepareError {
        switch error.code {
        case .tooManyPixels: PrepareError(.tooManyPixels, error.message, libraryMessage: error.message)
        case .unsupportedFormat: PrepareError(.unsupportedFormat, error.message, libraryMessage: error.message)
        case .unsupported: PrepareError(.unsupportedFormat, "a variant that cannot be decoded: \(error.message)",
                                        libraryMessage: error.message)
        case .io: PrepareError(.io, error.message, libraryMessage: error.message)
        default: PrepareError(.corrupt, "does not decode: \(error.message)", libraryMessage: error.message)
        }
    }

    /// The preparation error for an encoder failure.
    static func encoding(_ format: ImageFormat, _ error: CodecError) -> PrepareError {
        let name = format == .jpeg ? "JPEG" : "PNG"
        return PrepareError(.encode, "\(name) encoding failed: \(error.message)", libraryMessage: error.message)
    }
}
