internal import CImageCodecShims
import ImageCore

/// Decodes a JPEG held in memory a few rows at a time, so the decoded image is never held whole.
///
/// Same decoder settings, limits and errors as ``ImageCodec/decode(_:options:)`` (strict mode, scan cap,
/// ``DecodeOptions/jpegScale`` / ``DecodeOptions/jpegScaleEighths`` shrink-on-load, CMYK to RGB), and the
/// same pixels row for row. Read every row (or call ``finish()``, which drops what is left and checks the
/// stream through EOI) to prove the whole file decodes.
///
/// Memory: libjpeg's working state (an MCU row of a baseline stream; the coefficients of a progressive one,
/// 2 bytes per sample) plus one row for CMYK. The compressed bytes are kept (shared, not copied).
/// - Important: not thread-safe; use one reader from one thread at a time.
public final class JPEGRowReader: ImageRowReader {
    /// Output width and height after DCT scaling, in pixels.
    public let width: Int
    public let height: Int
    /// ``PixelFormat/gray`` or ``PixelFormat/rgb``.
    public let format: PixelFormat
    /// The embedded ICC profile, when ``DecodeOptions/keepICCProfile`` is set and there is one.
    public let iccProfile: [UInt8]?
    /// Rows decoded so far.
    public private(set) var rowsRead = 0

    private let bytes: [UInt8]   // libjpeg's source points into this storage until `deinit`
    private let handle: OpaquePointer

    /// Reads the header and starts decompression.
    /// - Throws: ``CodecError`` as ``ImageCodec/decode(_:options:)`` does.
    public init(_ bytes: [UInt8], options: DecodeOptions = .init()) throws {
        self.bytes = bytes
        let (handle, info, profile) = try NativeCodec.openJPEGReader(bytes, options, planes: nil)
        self.handle = handle
        width = Int(info.output_width)
        height = Int(info.output_height)
        format = info.output_channels == 1 ? .gray : .rgb
        iccProfile = profile
    }

    deinit { kk_jpeg_reader_free(handle) }

    /// Decodes the next `count` rows into `rows`, `stride` bytes apart (`stride ≥ width × channels`).
    /// - Throws: ``CodecError`` (`.corrupt` with libjpeg's message; `.invalidArgument` past the last row).
    public func read(into rows: UnsafeMutablePointer<UInt8>, stride: Int, count: Int = 1) throws {
        var status = kk_status()
        let rc = kk_jpeg_reader_read_rows(handle, rows, stride, UInt32(clamping: count), &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
        rowsRead += count
    }

    /// Decodes and drops the rows not read yet, then reads through EOI.
    /// - Throws: ``CodecError`` `.corrupt` for a damaged or truncated stream (strict mode).
    public func finish() throws {
        var status = kk_status()
        let rc = kk_jpeg_reader_finish(handle, &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
        rowsRead = height
    }
}

/// Encodes a JPEG row by row into memory (the result is small; the pixels never need to be whole).
///
/// Same settings and bytes as ``ImageCodec/encodeJPEG(_:options:)`` for the same rows. Memory: one MCU row
/// (8 or 16 pixel rows) plus the output, unless `optimizeHuffman` or `progressive` is set, which make
/// libjpeg keep every coefficient (about 3 bytes per pixel at 4:2:0).
/// - Important: not thread-safe; use one writer from one thread at a time.
public final class JPEGMemoryWriter {
    public let width: Int
    public let height: Int
    /// ``PixelFormat/gray`` or ``PixelFormat/rgb``.
    public let format: PixelFormat
    private let handle: OpaquePointer

    /// Starts the stream (markers, ICC profile).
    /// - Throws: ``CodecError`` `.invalidArgument` for a format with alpha or a side over 65,500 px.
    public init(width: Int, height: Int, format: PixelFormat, options: JPEGEncodeOptions = .init()) throws {
        guard format == .gray || format == .rgb else {
            throw CodecError(.invalidArgument, "JPEG rows must be gray or RGB, not \(format)")
        }
        guard width > 0, height > 0, width <= 65_500, height <= 65_500 else {
            throw CodecError(.invalidArgument, "JPEG cannot store \(width)x\(height) (each side 1...65500)")
        }
        var p = try NativeCodec.jpegParams(options)
        var handle: OpaquePointer?
        var status = kk_status()
        let rc: Int32 = NativeCodec.withICC(options.iccProfile) { icc, iccCount in
            kk_jpeg_writer_open_memory(UInt32(width), UInt32(height), Int32(format.channels), &p, icc, iccCount,
                                       nil, &handle, &status)
        }
        guard rc == Int32(KK_OK), let handle else { throw NativeCodec.error(rc, status) }
        self.handle = handle
        self.width = width
        self.height = height
        self.format = format
    }

    deinit { kk_jpeg_writer_free(handle) }

    /// Compresses the next `count` rows, `stride` bytes apart.
    public func write(rows: UnsafePointer<UInt8>, stride: Int, count: Int = 1) throws {
        var status = kk_status()
        let rc = kk_jpeg_writer_write_rows(handle, rows, stride, UInt32(clamping: count), &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
    }

    /// Bytes of the stream so far: the markers, then an MCU row at a time (with `optimizeHuffman` or
    /// `progressive`, nothing more until ``finish()``).
    public var bytesWritten: Int { Int(kk_jpeg_writer_bytes(handle)) }

    /// Ends the stream and returns it. Every row must have been written.
    public func finish() throws -> EncodedImage { try NativeCodec.finishMemoryJPEG(handle) }
}
