import ImageCore

/// What an animated PNG's `acTL` chunk says (APNG 1.0 specification, "acTL: The Animation Control Chunk").
public struct PNGAnimation: Sendable, Equatable {
    /// Frames in the animation (`num_frames`).
    public var frames: Int
    /// Times it plays (`num_plays`), 0 meaning forever.
    public var plays: Int
    /// Whether the default image (IDAT) is the animation's first frame (an `fcTL` precedes IDAT).
    public var defaultImageIsFirstFrame: Bool
}

extension ImageCodec {
    /// The animation an APNG declares, or `nil` for a still PNG (or anything else).
    ///
    /// A bounded walk over the chunks up to the first IDAT (where `acTL` must appear); no data is inflated.
    /// Decoders that do not know APNG (libpng included) show the default image, so that is what
    /// ``decode(_:options:)`` returns.
    public static func pngAnimation(_ bytes: [UInt8]) -> PNGAnimation? {
        guard sniff(bytes) == .png else { return nil }
        var offset = 8
        var animation: PNGAnimation?
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length <= bytes.count - offset - 12 else { return animation }
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let data = offset + 8
            switch type {
            case "acTL" where length >= 8:
                func u32(_ i: Int) -> Int {
                    Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
                }
                animation = PNGAnimation(frames: u32(data), plays: u32(data + 4), defaultImageIsFirstFrame: false)
            case "fcTL":
                animation?.defaultImageIsFirstFrame = true
            case "IDAT", "IEND":
                return animation
            default:
                break
            }
            offset += 12 + length
        }
        return animation
    }
}
