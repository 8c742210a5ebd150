import ImageCore

/// `prepare`'s options as text, the way a person writes them: `klingkit prepare`'s flags and
/// `klingkit serve`'s `/v1/prepare` query parameters are both read through ``options()``, so the two
/// accept the same values and refuse the rest with the same words.
///
/// Every member is optional; `nil` keeps ``PrepareOptions``' default. Names follow the flags
/// (`fit` pad|crop, `pad-style`, `crop-offset`, `background`, `min-side`, `max-side`, `max-bytes`,
/// `format`, `quality`, `filter`, `icc`, `keep-metadata`, `optimize-huffman`).
public struct PrepareSettings: Sendable, Equatable {
    public var fit: String?
    public var padStyle: String?
    public var cropOffset: String?
    public var background: String?
    public var minSide: String?
    public var maxSide: String?
    public var maxBytes: String?
    public var format: String?
    public var quality: String?
    public var filter: String?
    public var icc: String?
    public var keepMetadata = false
    public var optimizeHuffman = false
    /// Threads one image's resize may use (not a user setting of the service).
    public var threads: Int?

    public init() {}

    /// The option names ``options()`` understands, as flags and query parameters spell them.
    public static let names = ["fit", "pad-style", "crop-offset", "background", "min-side", "max-side", "max-bytes",
                               "format", "quality", "filter", "icc", "keep-metadata", "optimize-huffman"]

    /// The preparation options these settings describe.
    /// - Throws: ``PrepareError`` with code ``PrepareError/Code/options``, ``PrepareError/file`` the
    ///   option's name (`max-side`) and a message that reads after it (`must be at least 300 …`).
    public func options() throws(PrepareError) -> PrepareOptions {
        func invalid(_ option: String, _ message: String) -> PrepareError {
            PrepareError(.options, message, file: option)
        }
        func integer(_ option: String, _ text: String) throws(PrepareError) -> Int {
            guard let value = Int(text) else { throw invalid(option, "must be a whole number, not '\(text)'") }
            return value
        }
        var options = PrepareOptions()
        if let fit {
            guard let value = PrepareOptions.Fit(rawValue: fit.lowercased()) else { throw invalid("fit", "must be pad or crop, not '\(fit)'") }
            options.fit = value
        }
        if let padStyle {
            guard let style = PrepareOptions.PadStyle(rawValue: padStyle.lowercased()) else {
                throw invalid("pad-style", "must be color, edge or blur, not '\(padStyle)'")
            }
            options.padStyle = style
        }
        if let cropOffset {
            if cropOffset.hasSuffix("%"), let percent = Double(cropOffset.dropLast()), (0...100).contains(percent) {
                options.cropAnchor = .fraction(percent / 100)
            } else if let pixels = Int(cropOffset), pixels >= 0 {
                options.cropAnchor = .offset(pixels)
            } else {
                throw invalid("crop-offset", "must be a pixel count (120) or a percentage (25%), not '\(cropOffset)'")
            }
        }
        if let background {
            guard let color = Color(parsing: background) else {
                throw invalid("background", "must be #rrggbb, #rgb or a colour name, not '\(background)'")
            }
            options.background = color
        }
        if let minSide {
            let value = try integer("min-side", minSide)
            guard value >= options.rules.minSide else {
                throw invalid("min-side", "must be at least \(options.rules.minSide) (the API's minimum side), not \(value)")
            }
            options.minSide = value
            if let error = options.outputLimitError { throw invalid("min-side", "\(value): \(error.message)") }
        }
        if let maxSide {
            let value = try integer("max-side", maxSide)
            guard value >= options.rules.minSide else {
                throw invalid("max-side", "must be at least \(options.rules.minSide) (the API's minimum side)")
            }
            options.maxSide = value
        }
        if let maxBytes {
            let value = try integer("max-bytes", maxBytes)
            guard (1...options.rules.maxBytes).contains(value) else {
                throw invalid("max-bytes", "must be 1...\(options.rules.maxBytes) (the API's file-size limit), not \(value)")
            }
            options.maxBytes = value
        }
        if let format {
            guard let value = PrepareOptions.OutputFormat(rawValue: format.lowercased()) else {
                throw invalid("format", "must be jpeg, png or auto, not '\(format)'")
            }
            options.format = value
        }
        if let quality {
            let value = try integer("quality", quality)
            guard (1...100).contains(value) else { throw invalid("quality", "must be 1...100") }
            options.quality = value
        }
        if let icc {
            guard let value = PrepareOptions.ColorProfile(rawValue: icc.lowercased()) else {
                throw invalid("icc", "must be keep or srgb, not '\(icc)'")
            }
            options.colorProfile = value
        }
        if let filter {
            guard let value = ResampleFilter(rawValue: filter.lowercased()) else {
                throw invalid("filter", "must be lanczos3, mitchell, bilinear or box, not '\(filter)'")
            }
            options.filter = value
        }
        options.stripMetadata = !keepMetadata
        options.optimizeHuffman = optimizeHuffman
        options.threads = threads
        return options
    }
}
