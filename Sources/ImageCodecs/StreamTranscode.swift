internal import CImageCodecShims
import ImageCore

/// The result of ``ImageCodec/transcodePNGToJPEG(_:background:options:decodeOptions:)``.
public struct TranscodedJPEG: Sendable {
    /// The JPEG stream.
    public var encoded: EncodedImage
    /// Output size in pixels (the PNG's stored size).
    public var width: Int
    public var height: Int
    /// The JPEG's pixel format: ``PixelFormat/gray`` for gray PNGs, ``PixelFormat/rgb`` otherwise.
    public var format: PixelFormat
    /// The PNG's decoded pixel format (gray, grayAlpha, rgb or rgba, after palette/tRNS expansion).
    public var sourceFormat: PixelFormat
    /// Whether some pixel was less than opaque and was composited over the background.
    public var wasTransparent: Bool
    /// Whether the PNG carried an ICC profile, and whether it was embedded (its colour space matched).
    public var iccProfileFound: Bool
    public var iccProfileEmbedded: Bool
}

extension ImageCodec {
    /// Converts a non-interlaced PNG to JPEG one row at a time, never holding the decoded image.
    ///
    /// Each row is inflated by libpng, composited over `background` when it has alpha
    /// (`(c·a + bg·(255 − a) + 127) / 255`; gray+alpha over the background's Rec. 601 luma) and handed
    /// to libjpeg. The output is byte-identical to ``decode(_:options:)``, then
    /// `Image.flattened(background:)`, then ``encodeJPEG(_:options:)`` with the same options and the
    /// PNG's own ICC profile. Peak memory: two rows, libjpeg's MCU-row buffers and the output stream
    /// (plus about 3 bytes per pixel when `options.optimizeHuffman` or `options.progressive` is set,
    /// which make libjpeg keep every coefficient).
    ///
    /// - Parameters:
    ///   - bytes: a PNG stream.
    ///   - background: what transparency is composited over. Default white.
    ///   - options: quality, subsampling, progressive and Huffman optimisation; its `iccProfile` is
    ///     ignored: the PNG's profile is embedded when it describes the output's colour space (RGB or
    ///     gray) and ``DecodeOptions/keepICCProfile`` is set, dropped otherwise.
    ///   - decodeOptions: the pixel limit and whether profiles are kept.
    /// - Throws: ``CodecError``: `.corrupt` for damage or truncation anywhere before IEND, `.unsupported`
    ///   for an interlaced (Adam7) PNG (decode it whole instead), `.tooManyPixels`, `.invalidArgument`
    ///   for a side over JPEG's 65,500 px, `.unsupportedFormat` for anything not PNG.
    public static func transcodePNGToJPEG(_ bytes: [UInt8], background: Color = .white,
                                          options: JPEGEncodeOptions = .init(),
                                          decodeOptions: DecodeOptions = .init()) throws -> TranscodedJPEG {
        guard sniff(bytes) == .png else { throw CodecError(.unsupportedFormat, "not a PNG (by content)") }
        return try transcode(background: background, options: options, decodeOptions: decodeOptions) {
            p, jp, bg, result, out, outSize, status in
            bytes.withUnsafeBytes { raw in
                kk_png_to_jpeg(raw.baseAddress, raw.count, p, jp, bg, result, out, outSize, status)
            }
        }
    }

    /// ``transcodePNGToJPEG(_:background:options:decodeOptions:)`` reading the PNG from an open file
    /// descriptor (from its current offset, through a 64 KiB buffer), so not even the compressed file is
    /// held in memory. The caller opens and closes `fileDescriptor`.
    /// - Throws: as the in-memory variant, plus `.io` when read(2) fails; a file that is not a PNG is
    ///   `.corrupt` (libpng's signature check).
    public static func transcodePNGToJPEG(fileDescriptor: Int32, background: Color = .white,
                                          options: JPEGEncodeOptions = .init(),
                                          decodeOptions: DecodeOptions = .init()) throws -> TranscodedJPEG {
        try transcode(background: background, options: options, decodeOptions: decodeOptions) {
            p, jp, bg, result, out, outSize, status in
            kk_png_fd_to_jpeg(fileDescriptor, p, jp, bg, result, out, outSize, status)
        }
    }

    private static func transcode(
        background: Color, options: JPEGEncodeOptions, decodeOptions: DecodeOptions,
        _ call: (UnsafePointer<kk_decode_params>, UnsafePointer<kk_jpeg_encode_params>, UnsafePointer<UInt8>,
                 UnsafeMutablePointer<kk_png_to_jpeg_result>, UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                 UnsafeMutablePointer<Int>, UnsafeMutablePointer<kk_status>) -> Int32
    ) throws -> TranscodedJPEG {
        var p = NativeCodec.params(decodeOptions, fast: false, scale: 1)
        var jp = try NativeCodec.jpegParams(options)
        var bg: (UInt8, UInt8, UInt8) = (background.red, background.green, background.blue)
        var result = kk_png_to_jpeg_result()
        var out: UnsafeMutableRawPointer?
        var outSize = 0
        var status = kk_status()
        let rc = withUnsafeMutableBytes(of: &bg) { bgRaw in
            call(&p, &jp, bgRaw.baseAddress!.assumingMemoryBound(to: UInt8.self), &result, &out, &outSize, &status)
        }
        guard rc == Int32(KK_OK), let out else { throw NativeCodec.error(rc, status) }
        defer { kk_free(out) }
        let encoded = EncodedImage(format: .jpeg, bytes: Array(UnsafeRawBufferPointer(start: out, count: outSize)))
        return TranscodedJPEG(encoded: encoded, width: Int(result.info.width), height: Int(result.info.height),
                              format: result.jpeg_channels == 1 ? .gray : .rgb,
                              sourceFormat: NativeCodec.pixelFormat(channels: result.info.output_channels),
                              wasTransparent: result.transparent != 0,
                              iccProfileFound: result.icc_present != 0, iccProfileEmbedded: result.icc_embedded != 0)
    }
}
