/// A model name. Open: any string decodes (so a request can be validated and refused with a message
/// rather than failing to decode); the known models are static members.
public struct ModelName: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let klingV1: ModelName = "kling-v1"
    public static let klingV1_5: ModelName = "kling-v1-5"
    public static let klingV2: ModelName = "kling-v2"
    public static let klingV2New: ModelName = "kling-v2-new"
    public static let klingV2_1: ModelName = "kling-v2-1"
    public static let klingV3: ModelName = "kling-v3"

    /// Models of `POST /v1/images/generations`, in the vendor's order.
    public static let generationModels: [ModelName] = [.klingV1, .klingV1_5, .klingV2, .klingV2New, .klingV2_1, .klingV3]
    /// Models of `POST /v1/images/multi-image2image`.
    public static let multiImageModels: [ModelName] = [.klingV2, .klingV2_1]
    /// The service's default for generations when `model_name` is omitted (the legacy `model` field
    /// behaves the same): `kling-v1`.
    public static let generationDefault: ModelName = .klingV1
    /// The service's default for multi-image requests: `kling-v2`.
    public static let multiImageDefault: ModelName = .klingV2
    /// What this project's client sends when the caller chose nothing: `kling-v3`.
    public static let recommended: ModelName = .klingV3

    /// Whether `image_fidelity` is accepted (kling-v1, kling-v1-5).
    public var acceptsImageFidelity: Bool { self == .klingV1 || self == .klingV1_5 }
    /// Whether `human_fidelity` is accepted (kling-v1-5, with `image_reference` = `subject`).
    public var acceptsHumanFidelity: Bool { self == .klingV1_5 }
    /// Whether an image needs `image_reference` (kling-v1-5).
    public var requiresImageReference: Bool { self == .klingV1_5 }
    /// The aspect ratios this model renders (kling-v1 has no 21:9).
    public var aspectRatios: [AspectRatio] {
        self == .klingV1 ? AspectRatio.all.filter { $0 != .r21x9 } : AspectRatio.all
    }

    public var description: String { rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// An output aspect ratio `width:height`. Open like ``ModelName``.
public struct AspectRatio: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let r16x9: AspectRatio = "16:9"
    public static let r9x16: AspectRatio = "9:16"
    public static let r1x1: AspectRatio = "1:1"
    public static let r4x3: AspectRatio = "4:3"
    public static let r3x4: AspectRatio = "3:4"
    public static let r3x2: AspectRatio = "3:2"
    public static let r2x3: AspectRatio = "2:3"
    public static let r21x9: AspectRatio = "21:9"

    /// Every ratio the API knows, in the vendor's order.
    public static let all: [AspectRatio] = [.r16x9, .r9x16, .r1x1, .r4x3, .r3x4, .r3x2, .r2x3, .r21x9]
    /// The service's default: `16:9`.
    public static let `default`: AspectRatio = .r16x9

    /// The two terms `(width, height)`, or `nil` when the text is not `W:H` with positive integers.
    public var terms: (width: Int, height: Int)? {
        let parts = rawValue.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
        return (w, h)
    }

    /// The pixel size of a result at `resolution`: the area is that of a square of side
    /// ``Resolution/side`` (1024 for 1k, 2048 for 2k), sides rounded to multiples of 8, and a
    /// square ratio gives exactly `side × side`. So 1:1 at 1k is 1024×1024 and 16:9 at 1k 1368×768.
    /// Returns `nil` for a ratio whose terms do not parse.
    public func pixelSize(at resolution: Resolution) -> (width: Int, height: Int)? {
        guard let (w, h) = terms, let side = resolution.side else { return nil }
        let scale = (Double(w) / Double(h)).squareRoot()
        func round8(_ value: Double) -> Int { max(8, Int((value / 8).rounded()) * 8) }
        return (round8(Double(side) * scale), round8(Double(side) / scale))
    }

    public var description: String { rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// An output resolution: `1k` (default) or `2k`. Open like ``ModelName``.
public struct Resolution: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let oneK: Resolution = "1k"
    public static let twoK: Resolution = "2k"
    public static let all: [Resolution] = [.oneK, .twoK]
    /// The service's default: `1k`.
    public static let `default`: Resolution = .oneK

    /// The side of a square result in pixels: 1024 for 1k, 2048 for 2k, `nil` otherwise.
    public var side: Int? {
        switch rawValue {
        case "1k": 1024
        case "2k": 2048
        default: nil
        }
    }

    public var description: String { rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// `image_reference`: what the reference image guides. Open like ``ModelName``.
public struct ImageReference: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Character features.
    public static let subject: ImageReference = "subject"
    /// Facial appearance; the image must show exactly one face.
    public static let face: ImageReference = "face"
    public static let all: [ImageReference] = [.subject, .face]

    public var description: String { rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
