import ImageCore

/// A container format KlingKit reads and writes. Detected from content, never from a file name.
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    case jpeg
    case png

    /// The IANA media type (`image/jpeg`, `image/png`).
    public var mediaType: String { "image/\(rawValue)" }
    /// The usual file extension, without the dot (`jpg`, `png`).
    public var fileExtension: String { self == .jpeg ? "jpg" : "png" }
}

/// Encoded image bytes together with their format.
public struct EncodedImage: Sendable, Equatable {
    /// The container format of ``bytes``.
    public let format: ImageFormat
    /// The complete file contents.
    public let bytes: [UInt8]

    public init(format: ImageFormat, bytes: [UInt8]) {
        self.format = format
        self.bytes = bytes
    }
}

/// The colour model a header declares, as stored (before any decoder conversion).
public enum ImageColorType: Sendable, Hashable, CustomStringConvertible {
    /// Luminance only (JPEG 1 component, PNG colour type 0).
    case gray
    /// Luminance and alpha (PNG colour type 4).
    case grayAlpha
    /// RGB (JPEG without colour transform, PNG colour type 2).
    case rgb
    /// RGB and alpha (PNG colour type 6).
    case rgba
    /// Palette indices (PNG colour type 3).
    case palette
    /// JPEG luma and chroma.
    case ycbcr
    /// JPEG CMYK (4 components, no Adobe transform).
    case cmyk
    /// JPEG YCCK (4 components, Adobe transform 2).
    case ycck
    /// A JPEG with another number of components.
    case components(Int)

    /// Whether the colour channels are luminance only (gray or gray+alpha).
    public var isGray: Bool { self == .gray || self == .grayAlpha }

    /// `gray`, `grayAlpha`, `rgb`, `rgba`, `palette`, `ycbcr`, `cmyk`, `ycck` or `N-component`.
    public var description: String {
        switch self {
        case .gray: "gray"
        case .grayAlpha: "grayAlpha"
        case .rgb: "rgb"
        case .rgba: "rgba"
        case .palette: "palette"
        case .ycbcr: "ycbcr"
        case .cmyk: "cmyk"
        case .ycck: "ycck"
        case .components(let count): "\(count)-component"
        }
    }
}

/// What a header says about an image, read without decoding pixels.
public struct ImageHeader: Sendable, Equatable {
    /// The container format.
    public var format: ImageFormat
    /// Width in pixels as stored (before EXIF orientation).
    public var width: Int
    /// Height in pixels as stored (before EXIF orientation).
    public var height: Int
    /// Bits per sample as stored: JPEG 8 (12 and 16 exist but are not decodable here); PNG 1, 2, 4, 8 or 16.
    public var bitDepth: Int
    /// The stored colour model: JPEG gray, ycbcr, rgb, cmyk, ycck; PNG gray, grayAlpha, rgb, rgba, palette.
    public var colorType: ImageColorType
    /// Whether the image carries alpha (PNG alpha channel or `tRNS`).
    public var hasAlpha: Bool
    /// A progressive JPEG (SOF2/6/10/14) or an Adam7-interlaced PNG.
    public var isProgressive: Bool
    /// The EXIF orientation, 1...8; 1 when absent or out of range.
    public var orientation: Int
    /// A JPEG's first COM segment as UTF-8 (invalid bytes replaced); `nil` when it has none, and for
    /// PNG (whose text chunks are not read here).
    public var comment: String?

    public init(format: ImageFormat, width: Int, height: Int, bitDepth: Int, colorType: ImageColorType,
                hasAlpha: Bool, isProgressive: Bool, orientation: Int, comment: String? = nil) {
        self.comment = comment
        self.format = format
        self.width = width
        self.height = height
        self.bitDepth = bitDepth
        self.colorType = colorType
        self.hasAlpha = hasAlpha
        self.isProgressive = isProgressive
        self.orientation = orientation
    }

    /// Whether applying the orientation swaps width and height (orientations 5...8).
    public var orientationSwapsAxes: Bool { (5...8).contains(orientation) }
    /// Width as displayed, after applying ``orientation``.
    public var orientedWidth: Int { orientationSwapsAxes ? height : width }
    /// Height as displayed, after applying ``orientation``.
    public var orientedHeight: Int { orientationSwapsAxes ? width : height }
}

/// A decoded image with the header it came from and its ICC profile.
public struct DecodedImage: Sendable {
    /// The pixels: gray, grayAlpha, rgb or rgba, 8 bits per sample. Orientation is **not** applied.
    public var image: Image
    /// The header as probed (stored size, orientation, colour model).
    public var header: ImageHeader
    /// The embedded ICC profile (JPEG APP2 / PNG iCCP), if any.
    public var iccProfile: [UInt8]?

    public init(image: Image, header: ImageHeader, iccProfile: [UInt8]? = nil) {
        self.image = image
        self.header = header
        self.iccProfile = iccProfile
    }
}
