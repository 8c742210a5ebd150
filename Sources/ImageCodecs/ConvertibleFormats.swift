internal import CImageFormatShims
import ImageCore

/// A format Kling's image API refuses but `klingkit prepare` converts to JPEG or PNG.
/// Detected from content, never from a file name.
public enum ConvertibleFormat: String, Sendable, Codable, CaseIterable {
    /// HEIF with HEVC-coded images (`ftyp` brands `heic`, `heix`, `hevc`, `heim`, `heis`, `mif1`, ...).
    case heic
    /// HEIF with AV1-coded images (`ftyp` brands `avif`, `avis`).
    case avif
    /// WebP, lossy (VP8), lossless (VP8L), with alpha, or animated (`RIFF....WEBP`).
    case webp
}

/// What a HEIF, AVIF or WebP header says, read without decoding pixels.
public struct ConvertibleHeader: Sendable, Equatable {
    /// The format by content.
    public var format: ConvertibleFormat
    /// Width in pixels as the decoder produces it: for HEIF/AVIF *after* the file's own transformations
    /// (`irot`, `imir`, `clap`), for WebP as stored (before ``orientation``).
    public var width: Int
    /// Height in pixels, as ``width``.
    public var height: Int
    /// The EXIF orientation still to apply, 1...8: WebP's EXIF chunk; always 1 for HEIF/AVIF, whose
    /// transformations are already in ``width``/``height`` (HEIF forbids applying EXIF on top).
    public var orientation: Int
    /// HEIF/AVIF only: the orientation an EXIF block claims, when it is not 1. Ignored, as HEIF requires.
    public var ignoredEXIFOrientation: Int?
    /// HEIF/AVIF only: whether the transformations turn the coded image (its `ispe` size is swapped).
    public var transformationsRotate: Bool
    /// Whether the image carries alpha.
    public var hasAlpha: Bool
    /// Bits per sample as coded (8, 10, 12); decoding always yields 8.
    public var bitDepth: Int
    /// HEIF/AVIF: top-level images in the file (only the primary one is decoded). WebP: frames.
    public var imageCount: Int
    /// An animated WebP (only its first frame is decoded).
    public var isAnimated: Bool
    /// A lossless (VP8L) WebP.
    public var isLossless: Bool
    /// HEIF/AVIF: tiles of a `grid` primary image, 0 when it is not a grid.
    public var tiles: Int
    /// How the colours are described: `icc`, `nclx P/T/M` (H.273 code points) or `none`.
    public var colorDescription: String

    /// Width as displayed, after ``orientation``.
    public var orientedWidth: Int { (5...8).contains(orientation) ? height : width }
    /// Height as displayed, after ``orientation``.
    public var orientedHeight: Int { (5...8).contains(orientation) ? width : height }

    /// Facts worth telling a user, in words: several images, animation, depth, transformations.
    public var notes: [String] {
        var notes: [String] = []
        if format == .webp {
            if isAnimated { notes.append("animated, \(imageCount) frames: first frame used") }
            notes.append(isLossless ? "lossless" : "lossy")
        } else {
            if imageCount > 1 { notes.append("\(imageCount) images: primary image used") }
            if tiles > 0 { notes.append("grid of \(tiles) tiles") }
            if transformationsRotate { notes.append("HEIF rotation applied") }
            if let ignored = ignoredEXIFOrientation { notes.append("EXIF orientation \(ignored) ignored (HEIF transformations rule)") }
        }
        if bitDepth > 8 { notes.append("\(bitDepth)-bit scaled to 8") }
        if hasAlpha { notes.append("alpha") }
        return notes
    }
}

/// A decoded HEIF, AVIF or WebP image.
public struct ConvertedImage: Sendable {
    /// Upright 8-bit pixels, ``PixelFormat/rgb`` or ``PixelFormat/rgba`` (alpha kept, not premultiplied):
    /// HEIF transformations or WebP EXIF orientation already applied.
    public var image: Image
    /// The header it came from.
    public var header: ConvertibleHeader
    /// The colour space of ``image`` as an ICC profile: the embedded one, or one built from the `nclx`
    /// primaries and transfer when they are not sRGB's. `nil` means the pixels are sRGB already.
    public var iccProfile: [UInt8]?
    /// When the colours could not be described (an HDR transfer such as PQ or HLG), why.
    public var colorWarning: String?

    /// The same image with its colours converted to sRGB through Little CMS 2 (``SRGBConverter``),
    /// and ``iccProfile`` cleared. Unchanged when it is already sRGB.
    /// - Throws: ``CodecError`` when the profile does not parse or cannot be linked to sRGB.
    public func convertedToSRGB() throws -> ConvertedImage {
        guard let profile = iccProfile else { return self }
        var copy = self
        try SRGBConverter(profile: profile, format: image.format).convert(&copy.image)
        copy.iccProfile = nil
        return copy
    }
}

extension ImageCodec {
    /// The convertible format of `bytes` (HEIF/HEIC, AVIF, WebP), judged by content only: an ISO BMFF
    /// `ftyp` box whose major or compatible brands name HEIF or AVIF, or a `RIFF....WEBP` header.
    /// - Returns: `nil` for anything else (including JPEG and PNG: see ``sniff(_:)``).
    public static func sniffConvertible(_ bytes: [UInt8]) -> ConvertibleFormat? {
        bytes.withUnsafeBytes { ConvertibleSniffer.sniff($0) }
    }

    /// Reads a HEIF, AVIF or WebP header (libheif / WebPDemux) without decoding pixels.
    ///
    /// Refused here, before any pixel buffer exists: more than ``DecodeOptions/maxPixels`` declared
    /// pixels, a HEIF grid of more than `maxTiles` tiles, a truncated or inconsistent container.
    /// - Throws: ``CodecError``: `.unsupportedFormat` (none of these formats), `.corrupt`,
    ///   `.tooManyPixels`, `.resourceLimit` (tile count, libheif's security limits), `.unsupported`.
    public static func probeConvertible(_ bytes: [UInt8], options: DecodeOptions = .init(),
                                        maxTiles: Int = 1024) throws -> ConvertibleHeader {
        try bytes.withUnsafeBytes { raw in
            guard let format = ConvertibleSniffer.sniff(raw) else {
                throw CodecError(.unsupportedFormat, "not HEIF, AVIF or WebP")
            }
            var limits = ConvertibleNative.limits(options, maxTiles: maxTiles, threads: 0)
            var status = kkf_status()
            switch format {
            case .webp:
                var info = kkf_webp_info()
                let rc = kkf_webp_probe(raw.baseAddress, raw.count, &limits, &info, &status)
                guard rc == Int32(KKF_OK) else { throw ConvertibleNative.error(rc, status) }
                return ConvertibleNative.header(info)
            case .heic, .avif:
                var info = kkf_heif_info()
                let rc = kkf_heif_probe(raw.baseAddress, raw.count, &limits, &info, &status)
                guard rc == Int32(KKF_OK) else { throw ConvertibleNative.error(rc, status) }
                return ConvertibleNative.header(info, format: format)
            }
        }
    }

    /// Decodes a HEIF/AVIF primary image or a WebP (the first frame of an animation) to upright 8-bit
    /// RGB or RGBA.
    ///
    /// HEIF/AVIF: libheif applies `irot`/`imir`/`clap` and assembles grids; EXIF orientation is ignored,
    /// as HEIF requires; 10/12-bit samples are rounded to 8 bits; an ICC profile is returned, an `nclx`
    /// description with non-sRGB primaries or transfer is turned into one. WebP: lossy, lossless, alpha;
    /// the EXIF chunk's orientation is applied.
    /// - Parameters:
    ///   - threads: libheif's tile-decoding threads; 0 decodes on the calling thread.
    /// - Important: the colours are not converted: call ``ConvertedImage/convertedToSRGB()`` (after
    ///   resizing, for a quarter of the work) when ``ConvertedImage/iccProfile`` is set.
    /// - Throws: the errors of ``probeConvertible(_:options:maxTiles:)``, and `.corrupt` for damaged data.
    public static func decodeConvertible(_ bytes: [UInt8], options: DecodeOptions = .init(), maxTiles: Int = 1024,
                                         threads: Int = 0) throws -> ConvertedImage {
        let header = try probeConvertible(bytes, options: options, maxTiles: maxTiles)
        let channels = header.hasAlpha || header.isAnimated ? 4 : 3
        let count = try NativeCodec.byteCount(UInt32(header.width), UInt32(header.height), Int32(channels))
        var limits = ConvertibleNative.limits(options, maxTiles: maxTiles, threads: threads)
        var status = kkf_status()
        var icc: UnsafeMutableRawPointer?
        var iccSize = 0
        var code: Int32 = 0
        var heifInfo = kkf_heif_info()
        var webpInfo = kkf_webp_info()
        let pixels = bytes.withUnsafeBytes { raw in
            [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                switch header.format {
                case .webp:
                    code = kkf_webp_decode(raw.baseAddress, raw.count, &limits, Int32(channels), buffer.baseAddress, count,
                                           &webpInfo, &icc, &iccSize, &status)
                case .heic, .avif:
                    code = kkf_heif_decode(raw.baseAddress, raw.count, &limits, Int32(channels), buffer.baseAddress, count,
                                           &heifInfo, &icc, &iccSize, &status)
                }
                initialized = code == Int32(KKF_OK) ? count : 0
            }
        }
        var profile: [UInt8]?
        if let icc {
            if iccSize > 0 { profile = Array(UnsafeRawBufferPointer(start: icc, count: iccSize)) }
            kkf_free(icc)
        }
        guard code == Int32(KKF_OK) else { throw ConvertibleNative.error(code, status) }
        var image = try Image(width: header.width, height: header.height, format: channels == 4 ? .rgba : .rgb, pixels: pixels)
        if header.orientation != 1 { image = image.oriented(exif: header.orientation) }
        var warning: String?
        if profile == nil && header.format != .webp && heifInfo.color_kind == Int32(KKF_COLOR_NCLX) {
            (profile, warning) = ConvertibleNative.nclxProfile(heifInfo)
        }
        return ConvertedImage(image: image, header: header, iccProfile: profile, colorWarning: warning)
    }
}

/// Content sniffing for the convertible formats (pure Swift, bounded).
enum ConvertibleSniffer {
    /// HEIF brands by coding (ISO/IEC 23008-12 Annex B; AV1 Image File Format 1.0 section 5).
    static let hevcBrands: Set<String> = ["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"]
    static let av1Brands: Set<String> = ["avif", "avis"]
    static let genericBrands: Set<String> = ["mif1", "msf1", "miaf"]

    static func sniff(_ p: UnsafeRawBufferPointer) -> ConvertibleFormat? {
        if p.count >= 12, p[0] == 0x52, p[1] == 0x49, p[2] == 0x46, p[3] == 0x46,
           p[8] == 0x57, p[9] == 0x45, p[10] == 0x42, p[11] == 0x50 { return .webp }
        // ftyp: size, 'ftyp', major brand, minor version, compatible brands...
        guard p.count >= 16, p[4] == 0x66, p[5] == 0x74, p[6] == 0x79, p[7] == 0x70 else { return nil }
        let size = Int(p[0]) << 24 | Int(p[1]) << 16 | Int(p[2]) << 8 | Int(p[3])
        guard size >= 16, size % 4 == 0 else { return nil }
        let end = min(size, p.count, 4096)
        func brand(_ at: Int) -> String { String(decoding: p[at..<at + 4], as: UTF8.self) }
        var brands = [brand(8)]
        var at = 16
        while at + 4 <= end { brands.append(brand(at)); at += 4 }
        if av1Brands.contains(brands[0]) { return .avif }
        if hevcBrands.contains(brands[0]) { return .heic }
        if brands.contains(where: av1Brands.contains) { return .avif }
        if brands.contains(where: hevcBrands.contains) { return .heic }
        if brands.contains(where: genericBrands.contains) { return .heic }
        return nil
    }
}

/// The Swift layer that still knows the format shims' C types.
enum ConvertibleNative {
    static func limits(_ options: DecodeOptions, maxTiles: Int, threads: Int) -> kkf_limits {
        var limits = kkf_limits()
        limits.max_pixels = UInt64(max(1, options.maxPixels))
        limits.max_tiles = Int32(clamping: max(1, maxTiles))
        limits.threads = Int32(clamping: max(0, threads))
        return limits
    }

    static func error(_ code: Int32, _ status: kkf_status) -> CodecError {
        let message = withUnsafeBytes(of: status.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let kind: CodecError.Code = switch code {
        case Int32(KKF_UNSUPPORTED): .unsupported
        case Int32(KKF_TOO_MANY_PIXELS): .tooManyPixels
        case Int32(KKF_LIMIT), Int32(KKF_NO_MEMORY): .resourceLimit
        case Int32(KKF_INVALID_ARGUMENT): .invalidArgument
        default: .corrupt
        }
        return CodecError(kind, message.isEmpty ? "decoder failed" : message)
    }

    static func header(_ info: kkf_webp_info) -> ConvertibleHeader {
        ConvertibleHeader(format: .webp, width: Int(info.width), height: Int(info.height), orientation: Int(info.orientation),
                          ignoredEXIFOrientation: nil, transformationsRotate: false, hasAlpha: info.has_alpha != 0,
                          bitDepth: 8, imageCount: max(1, Int(info.frame_count)), isAnimated: info.is_animated != 0,
                          isLossless: info.is_lossless != 0, tiles: 0, colorDescription: info.has_icc != 0 ? "icc" : "none")
    }

    static func header(_ info: kkf_heif_info, format: ConvertibleFormat) -> ConvertibleHeader {
        let color: String = switch info.color_kind {
        case Int32(KKF_COLOR_ICC): "icc"
        case Int32(KKF_COLOR_NCLX): "nclx \(info.primaries)/\(info.transfer)/\(info.matrix)"
        default: "none"
        }
        let rotates = info.stored_width != info.stored_height && info.stored_width == info.height
            && info.stored_height == info.width
        return ConvertibleHeader(format: format, width: Int(info.width), height: Int(info.height), orientation: 1,
                                 ignoredEXIFOrientation: info.exif_orientation > 1 ? Int(info.exif_orientation) : nil,
                                 transformationsRotate: rotates, hasAlpha: info.has_alpha != 0,
                                 bitDepth: max(8, Int(info.bit_depth)), imageCount: max(1, Int(info.image_count)),
                                 isAnimated: false, isLossless: false, tiles: Int(info.tiles), colorDescription: color)
    }

    /// A profile for nclx colours that are not sRGB's: primaries other than BT.709 (1, or 2 =
    /// unspecified) or a transfer other than the sRGB-like SDR curves (H.273 codes 1, 2, 6, 13, 14, 15).
    static func nclxProfile(_ info: kkf_heif_info) -> ([UInt8]?, String?) {
        let srgbPrimaries: Set<Int32> = [1, 2]
        let srgbTransfers: Set<Int32> = [1, 2, 6, 13, 14, 15]
        guard !srgbPrimaries.contains(info.primaries) || !srgbTransfers.contains(info.transfer) else { return (nil, nil) }
        var xy = info.primaries_xy
        var icc: UnsafeMutableRawPointer?
        var size = 0
        var status = kkf_status()
        let rc = withUnsafePointer(to: &xy) {
            $0.withMemoryRebound(to: Float.self, capacity: 8) { kkf_nclx_icc($0, info.transfer, &icc, &size, &status) }
        }
        guard rc == Int32(KKF_OK), let icc else {
            return (nil, "colours kept as decoded: \(error(rc, status).message)")
        }
        defer { kkf_free(icc) }
        return (Array(UnsafeRawBufferPointer(start: icc, count: size)), nil)
    }
}
