internal import CImageCodecShims
import ImageCore

/// JPEG and PNG decoding, encoding, header probing and format sniffing over libjpeg-turbo and libpng.
///
/// Every function is synchronous, pure and thread-safe: run them wherever suits the caller (a task
/// group over files for batches). No input crashes, hangs or allocates without bound: the pixel count
/// is checked from the header before any allocation, sizes are overflow-checked, libjpeg's working
/// memory and scan count are capped, libpng keeps at most 8 MiB per chunk and skips text chunks.
public enum ImageCodec {
    /// The format of `bytes`, judged by content only (JPEG SOI + marker, PNG signature).
    /// - Returns: `nil` for anything else, including empty input and damaged signatures.
    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        bytes.withUnsafeBytes { HeaderProbe.sniff($0) }
    }

    /// Reads the header without decoding pixels: format, stored size, bit depth, colour model, alpha,
    /// progressive/interlaced, and EXIF orientation (JPEG APP1 `Exif`, PNG `eXIf` or ImageMagick's
    /// raw-profile text). Thousands of files a second: it walks markers/chunks and inflates nothing.
    /// - Throws: ``CodecError`` `.unsupportedFormat` (not JPEG/PNG), `.corrupt` (a damaged or missing
    ///   header, zero side, bad IHDR CRC) or `.tooManyPixels` (over ``DecodeOptions/maxPixels``).
    public static func probe(_ bytes: [UInt8], options: DecodeOptions = .init()) throws -> ImageHeader {
        try bytes.withUnsafeBytes { try HeaderProbe.probe($0, maxPixels: options.maxPixels) }
    }

    /// Decodes a whole JPEG or PNG to 8-bit pixels.
    ///
    /// JPEG: baseline, extended, progressive and arithmetic-coded; gray stays ``PixelFormat/gray``,
    /// YCbCr/RGB become ``PixelFormat/rgb``, CMYK and YCCK (Adobe inverted CMYK) are converted to RGB.
    /// ``DecodeOptions/jpegScale`` decodes at 1/2, 1/4 or 1/8 size. PNG: every colour type and depth,
    /// palettes expanded, `tRNS` turned into alpha, 16-bit scaled to 8, Adam7 de-interlaced; the result
    /// is gray, grayAlpha, rgb or rgba. A pristine 8-bit PNG without palette or tRNS and with at most
    /// 64 MiB of image data is inflated whole and unfiltered with SIMD in the shim, holding that data
    /// beside the pixels while it decodes; every other PNG, and any that is not pristine, is read by
    /// libpng's row reader, whose answer is then the decode's.
    /// - Important: EXIF orientation is reported in ``DecodedImage/header`` but not applied.
    /// - Throws: ``CodecError``: `.unsupportedFormat`, `.corrupt` (with the library's message, e.g.
    ///   "Premature end of JPEG file" in strict mode), `.unsupported` (12-bit, lossless JPEG),
    ///   `.tooManyPixels`, `.resourceLimit`.
    public static func decode(_ bytes: [UInt8], options: DecodeOptions = .init()) throws -> DecodedImage {
        try bytes.withUnsafeBytes { raw in
            let header = try HeaderProbe.probe(raw, maxPixels: options.maxPixels)
            switch header.format {
            case .jpeg: return try NativeCodec.decodeJPEG(raw, header: header, options: options)
            case .png: return try NativeCodec.decodePNG(raw, header: header, options: options)
            }
        }
    }

    /// Proves that the whole stream decodes, as cheaply as possible, and returns its header.
    ///
    /// JPEG is decoded at 1/8 scale with the fast IDCT and luma only: every entropy-coded byte of every
    /// component is still read, and the stream must reach EOI. PNG: libpng reads every chunk through
    /// IEND (CRCs, order, limits) while the image data is inflated and each row's filter type checked,
    /// without unfiltering (which cannot fail); a stream that is not pristine (short, long, split, a
    /// zlib error) is read again by libpng's row reader, so the verdict and message are always
    /// ``decode(_:options:)``'s. Nothing is kept; memory is a 256 KiB inflate buffer plus libpng's.
    /// - Throws: the same errors as ``decode(_:options:)``.
    @discardableResult
    public static func verify(_ bytes: [UInt8], options: DecodeOptions = .init()) throws -> ImageHeader {
        try bytes.withUnsafeBytes { raw in
            let header = try HeaderProbe.probe(raw, maxPixels: options.maxPixels)
            switch header.format {
            case .jpeg: try NativeCodec.verifyJPEG(raw, options: options)
            case .png: try NativeCodec.verifyPNG(raw, options: options)
            }
            return header
        }
    }

    /// Encodes `image` as JPEG.
    ///
    /// Gray images are written as 1-component JPEG, RGB as YCbCr. Alpha is flattened onto white first
    /// (JPEG has no alpha channel).
    /// - Throws: ``CodecError`` `.invalidArgument` when a side exceeds 65,500 px (JPEG's limit).
    public static func encodeJPEG(_ image: Image, options: JPEGEncodeOptions = .init()) throws -> EncodedImage {
        try NativeCodec.encodeJPEG(image, options: options)
    }

    /// Encodes `image` as an 8-bit, non-interlaced PNG of the same pixel format (gray, gray+alpha,
    /// RGB or RGBA). Round trips are exact.
    /// - Throws: ``CodecError`` on an encoder failure (out of memory).
    public static func encodePNG(_ image: Image, options: PNGEncodeOptions = .init()) throws -> EncodedImage {
        try NativeCodec.encodePNG(image, options: options)
    }

    /// Encodes `image` in `format` with default options for that format.
    public static func encode(_ image: Image, as format: ImageFormat) throws -> EncodedImage {
        switch format {
        case .jpeg: try encodeJPEG(image)
        case .png: try encodePNG(image)
        }
    }
}

/// The Swift layer that still knows C: fills shim parameter structs, allocates pixel buffers once the
/// header has been checked, turns status codes into ``CodecError``.
enum NativeCodec {
    static func params(_ options: DecodeOptions, fast: Bool, scale: Int) -> kk_decode_params {
        var p = kk_decode_params()
        p.max_pixels = UInt64(max(0, options.maxPixels))
        p.max_memory = UInt64(max(0, options.maxMemory ?? 0))   // 0: the shim's cap
        p.strict = options.strict ? 1 : 0
        p.scale_denom = Int32(scale)
        p.fast = fast ? 1 : 0
        p.max_scans = Int32(clamping: options.maxScans)
        p.want_icc = options.keepICCProfile && !fast ? 1 : 0
        p.png_libpng_rows = options.pngLibpngRows ? 1 : 0
        return p
    }

    static func error(_ code: Int32, _ status: kk_status) -> CodecError {
        let message = withUnsafeBytes(of: status.message) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        let kind: CodecError.Code
        switch Int(code) {
        case Int(Int32(KK_UNSUPPORTED)): kind = .unsupported
        case Int(Int32(KK_TOO_MANY_PIXELS)): kind = .tooManyPixels
        case Int(Int32(KK_LIMIT)), Int(Int32(KK_NO_MEMORY)): kind = .resourceLimit
        case Int(Int32(KK_INVALID_ARGUMENT)): kind = .invalidArgument
        case Int(Int32(KK_IO)): kind = .io
        default: kind = .corrupt
        }
        return CodecError(kind, message.isEmpty ? "decoder failed" : message)
    }

    static func byteCount(_ width: UInt32, _ height: UInt32, _ channels: Int32) throws -> Int {
        let (row, o1) = Int(width).multipliedReportingOverflow(by: Int(channels))
        let (total, o2) = row.multipliedReportingOverflow(by: Int(height))
        guard !o1, !o2, total > 0 else { throw CodecError(.resourceLimit, "image size \(width)x\(height) overflows") }
        return total
    }

    static func pixelFormat(channels: Int32) -> PixelFormat {
        switch channels {
        case 1: .gray
        case 2: .grayAlpha
        case 4: .rgba
        default: .rgb
        }
    }

    static func takeICC(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> [UInt8]? {
        guard let pointer else { return nil }
        defer { kk_free(pointer) }
        guard size > 0 else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: size))
    }

    // MARK: JPEG

    /// Decoder settings for a full decode, after checking the DCT scale options.
    static func scaledParams(_ options: DecodeOptions) throws -> kk_decode_params {
        guard [1, 2, 4, 8].contains(options.jpegScale) else {
            throw CodecError(.invalidArgument, "jpegScale must be 1, 2, 4 or 8, not \(options.jpegScale)")
        }
        var p = params(options, fast: false, scale: options.jpegScale)
        if let eighths = options.jpegScaleEighths {
            guard (1...16).contains(eighths) else {
                throw CodecError(.invalidArgument, "jpegScaleEighths must be 1...16, not \(eighths)")
            }
            p.scale_eighths = Int32(eighths)
        }
        return p
    }

    static func decodeJPEG(_ raw: UnsafeRawBufferPointer, header: ImageHeader, options: DecodeOptions) throws -> DecodedImage {
        try decodeWhole(raw, header: header, params: scaledParams(options), info: kk_jpeg_info(),
                        readInfo: kk_jpeg_read_info, decode: kk_jpeg_decode,
                        size: { ($0.output_width, $0.output_height, $0.output_channels) })
    }

    static func verifyJPEG(_ raw: UnsafeRawBufferPointer, options: DecodeOptions) throws {
        var p = params(options, fast: true, scale: 8)
        var info = kk_jpeg_info()
        var status = kk_status()
        let rc = kk_jpeg_decode(raw.baseAddress, raw.count, &p, nil, 0, &info, nil, nil, &status)
        guard rc == Int32(KK_OK) else { throw error(rc, status) }
    }

    static func encodeJPEG(_ image: Image, options: JPEGEncodeOptions) throws -> EncodedImage {
        let source = image.format.hasAlpha ? flattenOntoWhite(image) : image
        var p = try NativeCodec.jpegParams(options)
        return try encode(.jpeg, icc: options.iccProfile) { icc, iccCount, out, outSize, status in
            source.pixels.withUnsafeBytes { px in
                kk_jpeg_encode(px.baseAddress, UInt32(source.width), UInt32(source.height),
                               Int32(source.format.channels), &p, icc, iccCount, &out, &outSize, &status)
            }
        }
    }

    /// Composites straight alpha onto white: `c * a + 255 * (1 - a)`, rounded.
    static func flattenOntoWhite(_ image: Image) -> Image {
        let channels = image.format.channels
        let colour = channels - 1
        let count = image.width * image.height
        var out = [UInt8](repeating: 0, count: count * colour)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count {
                    let a = Int(src[i * channels + colour])
                    for c in 0..<colour {
                        let v = Int(src[i * channels + c])
                        dst[i * colour + c] = UInt8((v * a + 255 * (255 - a) + 127) / 255)
                    }
                }
            }
        }
        return Image(validWidth: image.width, height: image.height, format: colour == 1 ? .gray : .rgb, pixels: out)
    }

    // MARK: PNG

    static func decodePNG(_ raw: UnsafeRawBufferPointer, header: ImageHeader, options: DecodeOptions) throws -> DecodedImage {
        try decodeWhole(raw, header: header, params: params(options, fast: false, scale: 1), info: kk_png_info(),
                        readInfo: kk_png_read_info, decode: kk_png_decode,
                        size: { ($0.width, $0.height, $0.output_channels) })
    }

    static func verifyPNG(_ raw: UnsafeRawBufferPointer, options: DecodeOptions) throws {
        var p = params(options, fast: true, scale: 1)
        var info = kk_png_info()
        var status = kk_status()
        let rc = kk_png_decode(raw.baseAddress, raw.count, &p, nil, 0, &info, nil, nil, &status)
        guard rc == Int32(KK_OK) else { throw error(rc, status) }
    }

    static func encodePNG(_ image: Image, options: PNGEncodeOptions) throws -> EncodedImage {
        let filters = pngFilters(options.filter)
        let level = Int32(clamping: options.compressionLevel)
        return try encode(.png, icc: options.iccProfile) { icc, iccCount, out, outSize, status in
            image.pixels.withUnsafeBytes { px in
                kk_png_encode(px.baseAddress, UInt32(image.width), UInt32(image.height), Int32(image.format.channels),
                              level, filters, icc, iccCount, &out, &outSize, &status)
            }
        }
    }

    // MARK: Shared

    /// The one whole-image decode: the shim's header read gives the output size, the buffer is sized
    /// from it (overflow-checked) and filled by the shim's decode, the ICC profile taken over.
    /// - Parameters:
    ///   - readInfo, decode: the format's `kk_*_read_info` and `kk_*_decode`.
    ///   - size: the output width, height and channels from the format's info struct.
    static func decodeWhole<Info>(
        _ raw: UnsafeRawBufferPointer, header: ImageHeader, params: kk_decode_params, info: Info,
        readInfo: (UnsafeRawPointer?, Int, UnsafePointer<kk_decode_params>?, UnsafeMutablePointer<Info>?,
                   UnsafeMutablePointer<kk_status>?) -> Int32,
        decode: (UnsafeRawPointer?, Int, UnsafePointer<kk_decode_params>?, UnsafeMutableRawPointer?, Int,
                 UnsafeMutablePointer<Info>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<Int>?,
                 UnsafeMutablePointer<kk_status>?) -> Int32,
        size: (Info) -> (UInt32, UInt32, Int32)
    ) throws -> DecodedImage {
        var p = params
        var info = info
        var status = kk_status()
        let rc = readInfo(raw.baseAddress, raw.count, &p, &info, &status)
        guard rc == Int32(KK_OK) else { throw error(rc, status) }
        let (width, height, channels) = size(info)
        let count = try byteCount(width, height, channels)
        var icc: UnsafeMutableRawPointer?
        var iccSize = 0
        var code: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            code = decode(raw.baseAddress, raw.count, &p, buffer.baseAddress, count, &info, &icc, &iccSize, &status)
            initialized = code == Int32(KK_OK) ? count : 0
        }
        let profile = takeICC(icc, iccSize)
        guard code == Int32(KK_OK) else { throw error(code, status) }
        let image = Image(validWidth: Int(width), height: Int(height), format: pixelFormat(channels: channels), pixels: pixels)
        return DecodedImage(image: image, header: header, iccProfile: profile)
    }

    static func encode(
        _ format: ImageFormat, icc: [UInt8]?,
        _ body: (UnsafeRawPointer?, Int, inout UnsafeMutableRawPointer?, inout Int, inout kk_status) -> Int32
    ) throws -> EncodedImage {
        var out: UnsafeMutableRawPointer?
        var outSize = 0
        var status = kk_status()
        let rc: Int32
        if let icc, !icc.isEmpty {
            rc = icc.withUnsafeBytes { body($0.baseAddress, $0.count, &out, &outSize, &status) }
        } else {
            rc = body(nil, 0, &out, &outSize, &status)
        }
        guard rc == Int32(KK_OK), let out else { throw error(rc, status) }
        defer { kk_free(out) }
        return EncodedImage(format: format, bytes: Array(UnsafeRawBufferPointer(start: out, count: outSize)))
    }
}
