/// Limits and modes for ``ImageCodec/probe(_:options:)``, ``ImageCodec/decode(_:options:)`` and
/// ``ImageCodec/verify(_:options:)``.
public struct DecodeOptions: Sendable, Equatable {
    /// The most pixels (width × height, as stored) an image may declare. Checked from the header before
    /// anything is allocated. Default 100,000,000.
    public var maxPixels: Int = 100_000_000
    /// Strict mode (default): libjpeg's "Premature end of JPEG file" and "Corrupt JPEG data" warnings about
    /// the entropy-coded data (premature end of data segment, bad Huffman/arithmetic code, lost restart
    /// sync) fail the decode as ``CodecError/Code/corrupt`` instead of producing gray or garbled blocks.
    /// Tolerated: "N extraneous bytes before marker" (junk between segments), a bad ICC segment, odd
    /// progression parameters. PNG is always checked fully (CRCs, zlib, IEND); its warnings are tolerated.
    public var strict: Bool = true
    /// Decode JPEG at 1/`jpegScale` of its size in the DCT domain: 1, 2, 4 or 8. Default 1. PNG ignores it.
    public var jpegScale: Int = 1
    /// Decode JPEG at `jpegScaleEighths`/8 of its size in the IDCT (libjpeg-turbo's M/8 scaling, M in
    /// 1...16); when set it takes the place of ``jpegScale``. Default `nil` (use ``jpegScale``). Each side
    /// comes out as ⌈side · M / 8⌉. ``jpegScaleEighths(from:atLeast:)`` picks the smallest M for a target.
    /// PNG ignores it.
    public var jpegScaleEighths: Int? = nil
    /// The most working memory a JPEG decoder may use, in bytes: libjpeg's own buffers, which for a
    /// progressive stream are every DCT coefficient of the image. Default `nil`: the codecs' one cap,
    /// 64 MiB (`KK_DEFAULT_MAX_MEMORY` in the C shim, where it is documented), applied alike by
    /// ``ImageCodec/decode(_:options:)``, ``ImageCodec/verify(_:options:)`` and the streamed readers.
    public var maxMemory: Int? = nil
    /// The most scans a progressive JPEG may have. Default 1,000.
    public var maxScans: Int = 1_000
    /// Whether to return the ICC profile. Default true.
    public var keepICCProfile: Bool = true
    /// PNG: decode through libpng's row reader even a pristine image the shim would inflate whole and
    /// unfilter itself (the tests hold the two side by side). Default false.
    package var pngLibpngRows: Bool = false

    public init(maxPixels: Int = 100_000_000, strict: Bool = true, jpegScale: Int = 1) {
        self.maxPixels = maxPixels
        self.strict = strict
        self.jpegScale = jpegScale
    }

    /// The smallest M in 1...8 such that a JPEG of `width`×`height` decoded at M/8 is still at least
    /// `minWidth`×`minHeight` (each side ⌈side · M / 8⌉, as libjpeg computes it); 8 (full size) when no
    /// smaller scale is large enough. Shrink-on-load: the decoder does the coarse reduction, a
    /// resampler the rest.
    public static func jpegScaleEighths(width: Int, height: Int, minWidth: Int, minHeight: Int) -> Int {
        for m in 1..<8 {
            let w = (width * m + 7) / 8, h = (height * m + 7) / 8
            if w >= minWidth && h >= minHeight { return m }
        }
        return 8
    }
}

/// Chroma subsampling for the JPEG encoder.
public enum JPEGSubsampling: String, Sendable, Equatable, CaseIterable {
    /// Chroma at half resolution both ways (smallest files; the camera default).
    case s420
    /// Full-resolution chroma (sharper colour edges, larger files).
    case s444
}

/// JPEG encoder settings.
public struct JPEGEncodeOptions: Sendable, Equatable {
    /// Quality 1...100 (IJG scale). Default 90.
    public var quality: Int = 90
    /// Chroma subsampling. Default ``JPEGSubsampling/s420``.
    public var subsampling: JPEGSubsampling = .s420
    /// Write a progressive JPEG. Default false.
    public var progressive: Bool = false
    /// Compute optimal Huffman tables (smaller, slightly slower). Default true.
    public var optimizeHuffman: Bool = true
    /// An ICC profile to embed (APP2 segments). Default none.
    public var iccProfile: [UInt8]? = nil
    /// A COM segment written after the header (``ImageHeader/comment`` reads it back), 1...255 bytes
    /// of UTF-8; longer comments are refused by the encoders. Default none.
    public var comment: String? = nil

    public init(quality: Int = 90, subsampling: JPEGSubsampling = .s420, progressive: Bool = false,
                optimizeHuffman: Bool = true, iccProfile: [UInt8]? = nil, comment: String? = nil) {
        self.comment = comment
        self.quality = quality
        self.subsampling = subsampling
        self.progressive = progressive
        self.optimizeHuffman = optimizeHuffman
        self.iccProfile = iccProfile
    }
}

/// PNG row filter choice for the encoder.
public enum PNGFilter: String, Sendable, Equatable, CaseIterable {
    case none, sub, up, average, paeth
    /// libpng's adaptive choice among all five, per row (the default).
    case adaptive

    /// Same as ``adaptive``: every filter allowed, chosen per row.
    public static var all: PNGFilter { .adaptive }
}

/// PNG encoder settings.
public struct PNGEncodeOptions: Sendable, Equatable {
    /// zlib level 0 (stored) ... 9 (smallest). Default 6.
    public var compressionLevel: Int = 6
    /// Row filter. Default ``PNGFilter/adaptive``.
    public var filter: PNGFilter = .adaptive
    /// An ICC profile to embed (iCCP). Default none.
    public var iccProfile: [UInt8]? = nil

    public init(compressionLevel: Int = 6, filter: PNGFilter = .adaptive, iccProfile: [UInt8]? = nil) {
        self.compressionLevel = compressionLevel
        self.filter = filter
        self.iccProfile = iccProfile
    }
}
