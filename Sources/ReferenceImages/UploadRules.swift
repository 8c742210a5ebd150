/// The reference-image rules of Kling's image API (kling-api.md §4), every limit configurable.
public struct UploadRules: Sendable, Equatable {
    /// The largest file accepted, in bytes. Default 10,485,760 (10 MiB, the documented "10 MB").
    public var maxBytes: Int
    /// The smallest width and height accepted, in pixels. Default 300.
    public var minSide: Int
    /// The widest aspect ratio accepted either way (long side / short side), inclusive. Default 2.5,
    /// i.e. 1:2.5 ... 2.5:1.
    public var maxAspect: Double
    /// The most pixels (width × height) an image may declare before it is refused unread.
    /// Default 100,000,000.
    public var maxPixels: Int

    public init(maxBytes: Int = 10_485_760, minSide: Int = 300, maxAspect: Double = 2.5, maxPixels: Int = 100_000_000) {
        self.maxBytes = maxBytes
        self.minSide = minSide
        self.maxAspect = maxAspect
        self.maxPixels = maxPixels
    }

    /// Whether `width:height` lies within 1:``maxAspect`` ... ``maxAspect``:1, both ends included.
    ///
    /// Exact for the default: `w <= 2.5 * h` is `2w <= 5h`, and `2.5 * h` is exact in a Double for any
    /// `h` below 2^51.
    public func aspectRatioAllowed(width: Int, height: Int) -> Bool {
        guard width > 0, height > 0 else { return false }
        return Double(width) <= maxAspect * Double(height) && Double(height) <= maxAspect * Double(width)
    }

    /// The allowed band as text, e.g. `1:2.5...2.5:1`.
    public var aspectBand: String { "1:\(formatRatio(maxAspect))...\(formatRatio(maxAspect)):1" }
}

func formatRatio(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    let scaled = (value * 1000).rounded() / 1000
    var text = String(scaled)
    while text.contains("."), text.hasSuffix("0") { text.removeLast() }
    return text
}

func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (value < 0 ? "-" : "") + out
}
