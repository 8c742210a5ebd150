internal import CImageCodecShims
import ImageCore

/// Decodes a PNG a few rows at a time, from memory or from an open file, so the decoded image is never
/// held whole: the reader behind the streamed resize and pad of ``ImageCodec`` callers and sheet tiles.
///
/// Same transforms, limits and errors as ``ImageCodec/decode(_:options:)`` (8-bit samples, palettes
/// and tRNS expanded to alpha, 16-bit scaled; the pixel limit; the 8 MiB iCCP cap) and the same pixels
/// row for row. Read every row (or call ``finish()``, which drops what is left and checks the stream
/// through IEND) to prove the whole file decodes.
///
/// Memory: libpng's row state (two rows and zlib's 32 KiB window), plus the compressed bytes when they
/// are in memory (kept, not copied), or a 64 KiB read buffer for a file.
/// - Important: not thread-safe; use one reader from one thread at a time.
public final class PNGRowReader: ImageRowReader {
    /// Width and height in pixels.
    public let width: Int
    public let height: Int
    /// ``PixelFormat/gray``, ``PixelFormat/grayAlpha``, ``PixelFormat/rgb`` or ``PixelFormat/rgba``.
    public let format: PixelFormat
    /// The embedded ICC profile, when ``DecodeOptions/keepICCProfile`` is set and there is one.
    public let iccProfile: [UInt8]?
    /// Rows decoded so far.
    public private(set) var rowsRead = 0

    private let bytes: [UInt8]   // libpng reads from this storage until `deinit` (empty for a file)
    private let handle: OpaquePointer

    /// Reads the header of a PNG held in memory.
    /// - Throws: ``CodecError``: `.unsupported` for an interlaced (Adam7) PNG, whose rows do not arrive
    ///   in order (decode it whole instead); otherwise as ``ImageCodec/decode(_:options:)``.
    public convenience init(_ bytes: [UInt8], options: DecodeOptions = .init()) throws {
        var p = NativeCodec.params(options, fast: false, scale: 1)
        try self.init(keeping: bytes) { info, icc, iccSize, handle, status in
            bytes.withUnsafeBytes { raw in
                kk_png_reader_open(raw.baseAddress, raw.count, &p, &info, &icc, &iccSize, &handle, &status)
            }
        }
    }

    /// Reads the header of a PNG from an open file descriptor, from its current offset. The caller
    /// keeps the descriptor open while the reader lives and closes it afterwards.
    /// - Throws: as the in-memory initializer, plus `.io` when read(2) fails.
    public convenience init(fileDescriptor: Int32, options: DecodeOptions = .init()) throws {
        var p = NativeCodec.params(options, fast: false, scale: 1)
        try self.init(keeping: []) { info, icc, iccSize, handle, status in
            kk_png_reader_open_fd(fileDescriptor, &p, &info, &icc, &iccSize, &handle, &status)
        }
    }

    private init(keeping bytes: [UInt8],
                 open: (inout kk_png_info, inout UnsafeMutableRawPointer?, inout Int, inout OpaquePointer?,
                        inout kk_status) -> Int32) throws {
        var info = kk_png_info()
        var icc: UnsafeMutableRawPointer?
        var iccSize = 0
        var handle: OpaquePointer?
        var status = kk_status()
        let rc = open(&info, &icc, &iccSize, &handle, &status)
        let profile = NativeCodec.takeICC(icc, iccSize)
        guard rc == Int32(KK_OK), let handle else { throw NativeCodec.error(rc, status) }
        self.bytes = bytes
        self.handle = handle
        width = Int(info.width)
        height = Int(info.height)
        format = NativeCodec.pixelFormat(channels: info.output_channels)
        iccProfile = profile
    }

    deinit { kk_png_reader_free(handle) }

    /// Decodes the next `count` rows into `rows`, `stride` bytes apart (`stride ≥ width × channels`).
    /// - Throws: ``CodecError`` (`.corrupt` with libpng's message; `.invalidArgument` past the last row).
    public func read(into rows: UnsafeMutablePointer<UInt8>, stride: Int, count: Int = 1) throws {
        var status = kk_status()
        let rc = kk_png_reader_read_rows(handle, rows, stride, UInt32(clamping: count), &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
        rowsRead += count
    }

    /// Decodes and drops the rows not read yet, then reads through IEND.
    /// - Throws: ``CodecError`` `.corrupt` for a damaged or truncated stream.
    public func finish() throws {
        var status = kk_status()
        let rc = kk_png_reader_finish(handle, &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
        rowsRead = height
    }
}

/// A decoder that hands out an image's rows in order, a few at a time, never holding it whole:
/// ``JPEGRowReader`` and ``PNGRowReader``, so a consumer (a resampler, an encoder) can take either.
public protocol ImageRowReader: AnyObject {
    /// Output width and height in pixels.
    var width: Int { get }
    var height: Int { get }
    /// The rows' pixel format.
    var format: PixelFormat { get }
    /// The embedded ICC profile, when it was asked for and there is one.
    var iccProfile: [UInt8]? { get }
    /// Rows decoded so far.
    var rowsRead: Int { get }
    /// Decodes the next `count` rows into `rows`, `stride` bytes apart (`stride ≥ width × channels`).
    func read(into rows: UnsafeMutablePointer<UInt8>, stride: Int, count: Int) throws
    /// Decodes and drops the rows not read yet, then checks the stream through its end.
    func finish() throws
}

/// Encodes a PNG row by row into memory, so the pixels never need to be whole: the same settings and
/// bytes as ``ImageCodec/encodePNG(_:options:)`` for the same rows. Memory: deflate's state (about
/// 256 KiB) plus the output so far.
/// - Important: not thread-safe; use one writer from one thread at a time.
public final class PNGMemoryWriter {
    public let width: Int
    public let height: Int
    /// The pixel format of the rows (and of the PNG: gray, gray+alpha, RGB or RGBA, 8-bit).
    public let format: PixelFormat
    private let handle: OpaquePointer

    /// Starts the stream (signature, IHDR, iCCP).
    /// - Throws: ``CodecError`` `.invalidArgument` for a zero or oversized side (PNG: 1...2³¹−1 px).
    public init(width: Int, height: Int, format: PixelFormat, options: PNGEncodeOptions = .init()) throws {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw CodecError(.invalidArgument, "PNG sides must be 1...2^31-1 px, not \(width)x\(height)")
        }
        let filters = NativeCodec.pngFilters(options.filter)
        let level = Int32(clamping: options.compressionLevel)
        var handle: OpaquePointer?
        var status = kk_status()
        let rc: Int32 = NativeCodec.withICC(options.iccProfile) { icc, iccCount in
            kk_png_writer_open_memory(UInt32(width), UInt32(height), Int32(format.channels), level, filters,
                                      icc, iccCount, &handle, &status)
        }
        guard rc == Int32(KK_OK), let handle else { throw NativeCodec.error(rc, status) }
        self.handle = handle
        self.width = width
        self.height = height
        self.format = format
    }

    deinit { kk_png_writer_free(handle) }

    /// Compresses the next `count` rows, `stride` bytes apart.
    public func write(rows: UnsafePointer<UInt8>, stride: Int, count: Int = 1) throws {
        var status = kk_status()
        let rc = kk_png_writer_write_rows(handle, rows, stride, UInt32(clamping: count), &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
    }

    /// Bytes of the stream so far (signature and headers included; deflate emits in blocks, so this
    /// trails the rows written by up to a block): a byte budget can give up before the last row.
    public var bytesWritten: Int { Int(kk_png_writer_bytes(handle)) }

    /// Ends the stream and returns it. Every row must have been written.
    public func finish() throws -> EncodedImage {
        try NativeCodec.finishMemory(.png) { size, out, status in kk_png_writer_finish(handle, &size, &out, &status) }
    }
}
