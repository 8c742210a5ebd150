import ImageCodecs
import ImageCore

/// What ``ReferenceImagePreparer`` may do to an image, and the limits it must meet.
public struct PrepareOptions: Sendable {
    /// How an image whose aspect ratio is outside the allowed band is brought inside it.
    public enum Fit: String, Sendable, CaseIterable {
        /// Add borders along the short side up to the nearest allowed ratio (nothing is lost). Default.
        case pad
        /// Cut the long side down to the nearest allowed ratio.
        case crop
    }

    /// What fills the borders added by ``Fit/pad``.
    public enum PadStyle: String, Sendable, CaseIterable {
        /// A flat ``PrepareOptions/background`` colour. Default.
        case color
        /// The image's outermost row or column repeated outward.
        case edge
        /// A blurred enlargement of the image itself.
        case blur
    }

    /// Where ``Fit/crop`` cuts along the long axis.
    public enum CropAnchor: Sendable, Hashable {
        /// Keep the middle. Default.
        case center
        /// Keep the window starting this many pixels from the left (landscape) or top (portrait)
        /// of the upright image; clamped so the window stays inside the image.
        case offset(Int)
        /// Keep the window at this fraction of the slack, 0 = left/top, 0.5 = centre, 1 = right/bottom.
        case fraction(Double)
    }

    /// What happens to an embedded ICC profile.
    public enum ColorProfile: String, Sendable, CaseIterable {
        /// Keep it with the pixels when it describes them (RGB profile on RGB output, gray on gray);
        /// a profile that no longer fits (CMYK converted to RGB) is dropped. Default.
        case keep
        /// Convert RGB(A) pixels from the profile's colour space to sRGB (Little CMS 2, perceptual intent)
        /// and drop the profile: the output looks the same to a receiver that ignores profiles, as most
        /// upload pipelines do. Gray images keep their profile. A file with an RGB profile is re-encoded
        /// for this even when it would otherwise be copied.
        case sRGB = "srgb"
    }

    /// The output encoding.
    public enum OutputFormat: String, Sendable, CaseIterable {
        /// Always JPEG (transparency flattened onto ``PrepareOptions/background``).
        case jpeg
        /// Always PNG.
        case png
        /// Keep the input's format; a PNG that must be re-encoded becomes JPEG when that is smaller
        /// (or when only JPEG fits the byte budget) and it has no transparency to lose. Default.
        case auto
    }

    /// The upload rules the output must pass.
    public var rules: UploadRules
    /// Pad or crop an image whose aspect ratio is out of range. Default ``Fit/pad``.
    public var fit: Fit
    /// How padding is filled. Default ``PadStyle/color``.
    public var padStyle: PadStyle
    /// Where a crop keeps its window. Default ``CropAnchor/center``.
    public var cropAnchor: CropAnchor
    /// Padding colour and the colour transparency is flattened onto for JPEG output. Default white.
    public var background: Color
    /// The short side an image smaller than the minimum is enlarged to, in pixels. `nil` means
    /// `rules.minSide` (300); values below `rules.minSide` are raised to it.
    public var minSide: Int?
    /// The longest side wanted, in pixels; larger images are shrunk. `nil` means no limit.
    /// Never shrinks below what ``minSide`` requires.
    public var maxSide: Int?
    /// The byte budget of the output. `nil` means `rules.maxBytes` (10 MiB); larger values are capped to it.
    public var maxBytes: Int?
    /// The output encoding. Default ``OutputFormat/auto``.
    public var format: OutputFormat
    /// The JPEG quality to start the byte-budget search from, 1…100. `nil` means 90.
    public var quality: Int?
    /// Remove EXIF (including GPS), XMP, IPTC, comments and text chunks. The ICC profile is kept. Default `true`.
    public var stripMetadata: Bool
    /// Always encode JPEG with optimised Huffman tables: 5–20 % smaller files at the same quality,
    /// for about three times the encoding time. Default `false`: standard tables first, optimised
    /// ones only when the byte budget needs them.
    public var optimizeHuffman: Bool = false
    /// The resampling filter. Default ``ResampleFilter/lanczos3``.
    public var filter: ResampleFilter
    /// What happens to an embedded ICC profile. Default ``ColorProfile/keep``.
    public var colorProfile: ColorProfile = .keep
    /// The most threads one resize may use; `nil` means every core.
    public var threads: Int?

    public init(
        rules: UploadRules = .init(), fit: Fit = .pad, padStyle: PadStyle = .color, cropAnchor: CropAnchor = .center,
        background: Color = .white, minSide: Int? = nil, maxSide: Int? = nil, maxBytes: Int? = nil,
        format: OutputFormat = .auto, quality: Int? = nil, stripMetadata: Bool = true,
        filter: ResampleFilter = .lanczos3, threads: Int? = nil
    ) {
        self.rules = rules
        self.fit = fit
        self.padStyle = padStyle
        self.cropAnchor = cropAnchor
        self.background = background
        self.minSide = minSide
        self.maxSide = maxSide
        self.maxBytes = maxBytes
        self.format = format
        self.quality = quality
        self.stripMetadata = stripMetadata
        self.filter = filter
        self.threads = threads
    }

    /// Why no output can meet these options, or `nil`: every output is at least
    /// ``effectiveMinSide`` on its short side, so when a square of that side already holds more than
    /// ``UploadRules/maxPixels`` pixels, no image can be prepared (the output would fail the rules it is
    /// prepared for). ``ReferenceImagePreparer`` refuses such options before reading any input.
    public var outputLimitError: PrepareError? {
        let side = effectiveMinSide
        let (pixels, overflow) = side.multipliedReportingOverflow(by: side)
        guard overflow || pixels > rules.maxPixels else { return nil }
        return PrepareError(.options, "a minimum side of \(grouped(side)) px makes every output at least \(side)x\(side) = "
                            + "\(overflow ? "more than \(grouped(Int.max))" : grouped(pixels)) pixels, more than the limit of \(grouped(rules.maxPixels))")
    }

    /// The short-side minimum actually enforced.
    var effectiveMinSide: Int { max(rules.minSide, minSide ?? rules.minSide) }
    /// The byte budget actually enforced.
    var effectiveMaxBytes: Int { min(rules.maxBytes, maxBytes ?? rules.maxBytes) }
    /// The quality the search starts from.
    var startQuality: Int { min(100, max(1, quality ?? 90)) }
}
