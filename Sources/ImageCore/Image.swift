/// The channel layout of an ``Image``'s pixels. Every channel is 8 bits.
public enum PixelFormat: String, Sendable, Hashable, CaseIterable {
    /// One luminance byte per pixel.
    case gray
    /// Luminance then alpha (straight, not premultiplied).
    case grayAlpha
    /// Red, green, blue.
    case rgb
    /// Red, green, blue, alpha (straight, not premultiplied).
    case rgba

    /// Bytes per pixel: 1, 2, 3 or 4.
    public var channels: Int {
        switch self {
        case .gray: 1
        case .grayAlpha: 2
        case .rgb: 3
        case .rgba: 4
        }
    }

    /// Whether the last channel is alpha.
    public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }

    /// Whether the colour channels are luminance only.
    public var isGray: Bool { self == .gray || self == .grayAlpha }
}

/// A width and height in pixels.
public struct Size: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// An axis-aligned rectangle in pixels; `x`/`y` is the top-left corner.
public struct Rect: Sendable, Hashable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// An 8-bit sRGB colour with straight alpha.
public struct Color: Sendable, Hashable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    public var alpha: UInt8
    public init(red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8 = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }
    public static let white = Color(red: 255, green: 255, blue: 255)
    public static let black = Color(red: 0, green: 0, blue: 0)
    public static let transparent = Color(red: 0, green: 0, blue: 0, alpha: 0)

    /// Parses `#rgb`, `#rrggbb`, `#rrggbbaa` (the `#` optional) or one of the names
    /// `white`, `black`, `gray`/`grey`, `transparent`. Returns `nil` for anything else.
    public init?(parsing text: String) {
        let lower = text.lowercased()
        switch lower {
        case "white": self = .white; return
        case "black": self = .black; return
        case "gray", "grey": self = Color(red: 128, green: 128, blue: 128); return
        case "transparent", "none": self = .transparent; return
        default: break
        }
        var hex = Substring(lower)
        if hex.hasPrefix("#") { hex = hex.dropFirst() }
        guard hex.allSatisfy(\.isHexDigit) else { return nil }
        var digits = Array(hex)
        if digits.count == 3 { digits = digits.flatMap { [$0, $0] } }
        guard digits.count == 6 || digits.count == 8 else { return nil }
        func byte(_ i: Int) -> UInt8 { UInt8(String(digits[i..<i + 2]), radix: 16)! }
        self.init(red: byte(0), green: byte(2), blue: byte(4), alpha: digits.count == 8 ? byte(6) : 255)
    }
}

/// An error building or transforming an ``Image``: a size that overflows or does not match its pixels.
public struct ImageError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A decoded raster image: 8 bits per channel, rows top to bottom, pixels left to right,
/// channels interleaved in ``PixelFormat`` order, no row padding
/// (`pixels.count == width * height * format.channels`).
public struct Image: Sendable, Equatable {
    /// Width in pixels (≥ 1).
    public let width: Int
    /// Height in pixels (≥ 1).
    public let height: Int
    /// Channel layout.
    public let format: PixelFormat
    /// Row-major interleaved samples, `bytesPerRow * height` bytes. Read-only from outside so the count
    /// always matches the size (every resampler and codec relies on it); change samples in place with
    /// ``withUnsafeMutablePixels(_:)``.
    public private(set) var pixels: [UInt8]

    /// Creates an image over existing pixels.
    /// - Throws: ``ImageError`` when a side is not positive, the size overflows, or
    ///   `pixels.count` is not `width * height * format.channels`.
    public init(width: Int, height: Int, format: PixelFormat, pixels: [UInt8]) throws {
        let count = try Image.byteCount(width: width, height: height, format: format)
        guard pixels.count == count else {
            throw ImageError("pixel buffer holds \(pixels.count) bytes, \(width)x\(height) \(format) needs \(count)")
        }
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// Creates an image over pixels the caller has sized itself (every transform in this package):
    /// no error to handle, the invariant still checked.
    /// - Precondition: both sides positive and `pixels.count == width * height * format.channels`.
    package init(validWidth width: Int, height: Int, format: PixelFormat, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * format.channels,
                     "\(width)x\(height) \(format) does not match \(pixels.count) bytes")
        self.width = width
        self.height = height
        self.format = format
        self.pixels = pixels
    }

    /// Calls `body` with the samples to change in place (`bytesPerRow * height` of them, row-major).
    /// The buffer's size cannot change, so the image stays valid.
    public mutating func withUnsafeMutablePixels<R>(_ body: (UnsafeMutableBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try pixels.withUnsafeMutableBufferPointer { buffer in try body(buffer) }
    }

    /// Hands the pixel buffer over and leaves the image without it, so the caller holds the only
    /// reference and can change it in place without a copy. Only for transforms that build a new image
    /// from the buffer at once.
    package consuming func takePixels() -> [UInt8] {
        let taken = pixels
        pixels = []
        return taken
    }

    /// Creates an image filled with one colour (converted to `format`).
    /// - Throws: ``ImageError`` when a side is not positive or the size overflows.
    public init(width: Int, height: Int, format: PixelFormat, fill: Color) throws {
        _ = try Image.byteCount(width: width, height: height, format: format)
        self.init(validWidth: width, height: height, format: format, fill: fill)
    }

    /// ``init(width:height:format:fill:)`` for a size the caller has already checked.
    /// - Precondition: both sides positive and the byte count representable.
    package init(validWidth width: Int, height: Int, format: PixelFormat, fill: Color) {
        let count = width * height * format.channels
        let sample = fill.samples(for: format)
        var pixels = [UInt8](repeating: 0, count: count)
        if sample.allSatisfy({ $0 == sample[0] }) {
            if sample[0] != 0 { pixels.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: sample[0]) } }
        } else {
            let n = sample.count
            pixels.withUnsafeMutableBufferPointer { buf in
                var i = 0
                while i < count {
                    for c in 0..<n { buf[i + c] = sample[c] }
                    i += n
                }
            }
        }
        self.init(validWidth: width, height: height, format: format, pixels: pixels)
    }

    /// The pixel dimensions.
    public var size: Size { Size(width: width, height: height) }
    /// Bytes in one row: `width * format.channels`.
    public var bytesPerRow: Int { width * format.channels }

    /// The number of bytes an image of this size and format needs.
    /// - Throws: ``ImageError`` when a side is not positive or the product overflows `Int`.
    public static func byteCount(width: Int, height: Int, format: PixelFormat) throws -> Int {
        guard width > 0, height > 0 else { throw ImageError("image size \(width)x\(height) is not positive") }
        let (row, o1) = width.multipliedReportingOverflow(by: format.channels)
        let (total, o2) = row.multipliedReportingOverflow(by: height)
        guard !o1, !o2 else { throw ImageError("image size \(width)x\(height) overflows") }
        return total
    }
}

extension Color {
    /// The colour's samples in the order `format` stores them (gray uses Rec. 601 luma).
    public func samples(for format: PixelFormat) -> [UInt8] {
        let weighted: Int = 299 * Int(red) + 587 * Int(green) + 114 * Int(blue)
        let luma = UInt8((weighted + 500) / 1000)
        switch format {
        case .gray: return [luma]
        case .grayAlpha: return [luma, alpha]
        case .rgb: return [red, green, blue]
        case .rgba: return [red, green, blue, alpha]
        }
    }
}
