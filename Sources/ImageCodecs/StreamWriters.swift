internal import CImageCodecShims
import ImageCore
import KlingSupport

/// Writes a PNG file row by row, so an image of any height is encoded in memory independent of its height.
///
/// Open it with the image's size and pixel format, hand it the rows top to bottom in bands of any height
/// (``write(rows:)`` or ``write(_:)``), then ``finish()``. The file is written atomically: bytes go to a
/// temporary file beside `path` (`.NAME.tmp-PID-RANDOM`); ``finish()`` flushes it to disk and renames it over
/// `path`. On any error, on ``cancel()``, or when the writer is dropped unfinished, the temporary file is
/// removed and `path` keeps whatever it held before.
///
/// Memory: libpng's row buffers (a few rows), deflate's state (about 256 KiB at zlib's default window and
/// memory level) and a 64 KiB output buffer; nothing grows with the image's height.
/// The output is byte-identical to ``ImageCodec/encodePNG(_:options:)`` for the same pixels and options.
///
/// ```swift
/// let writer = try PNGStreamWriter(path: "sheet.png", width: 2000, height: 30_000, format: .rgb)
/// for band in bands { try writer.write(band) }   // Images 2000 px wide, in order
/// try writer.finish()
/// ```
/// - Important: not thread-safe; use one writer from one thread at a time.
public final class PNGStreamWriter {
    /// The destination path.
    public var path: String { core.file.path }
    /// Image width in pixels.
    public var width: Int { core.width }
    /// Image height in pixels: exactly this many rows must be written before ``finish()``.
    public var height: Int { core.height }
    /// The pixel format of the rows (and of the file: gray, gray+alpha, RGB or RGBA, 8-bit).
    public var format: PixelFormat { core.format }
    /// Rows written so far.
    public var rowsWritten: Int { core.rows }

    private let core: StreamCore

    /// Creates the temporary file and writes the PNG header (signature, IHDR, iCCP).
    /// - Parameters:
    ///   - path: the file to create or replace.
    ///   - width: image width, 1...2³¹−1 px.
    ///   - height: image height, 1...2³¹−1 px.
    ///   - format: the pixel format of the rows to come.
    ///   - options: zlib level, row filter and ICC profile, as for ``ImageCodec/encodePNG(_:options:)``.
    /// - Throws: ``CodecError`` `.io` naming `path` when it cannot be created; `.invalidArgument` for a
    ///   zero or oversized side.
    public init(path: String, width: Int, height: Int, format: PixelFormat, options: PNGEncodeOptions = .init()) throws {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw CodecError(.invalidArgument, "cannot write \(path): PNG sides must be 1...2^31-1 px, not \(width)x\(height)")
        }
        let file = try AtomicOutputFile.codecOutput(path: path)
        let filters = NativeCodec.pngFilters(options.filter)
        var handle: OpaquePointer?
        var status = kk_status()
        let level = Int32(clamping: options.compressionLevel)
        let rc: Int32 = NativeCodec.withICC(options.iccProfile) { icc, iccCount in
            kk_png_writer_open(file.descriptor, UInt32(width), UInt32(height), Int32(format.channels), level,
                               filters, icc, iccCount, &handle, &status)
        }
        guard rc == Int32(KK_OK), let handle else {
            file.discard()
            throw StreamCore.wrap(NativeCodec.error(rc, status), path: path)
        }
        core = StreamCore(
            file: file, width: width, height: height, format: format,
            writeRows: { base, stride, count, status in
                kk_png_writer_write_rows(handle, base, stride, UInt32(count), &status)
            },
            finish: { bytes, status in kk_png_writer_finish(handle, &bytes, nil, &status) },
            release: { kk_png_writer_free(handle) })
    }

    /// Encodes the next rows: `rows` holds whole rows of ``width`` × channels bytes each, packed.
    /// - Throws: ``CodecError`` `.invalidArgument` when `rows` is not a whole number of rows or they go past
    ///   ``height``; `.io` when the file cannot be written. After any error the file is already removed.
    public func write(rows: UnsafeRawBufferPointer) throws {
        try core.write(rows)
    }

    /// Encodes the rows of `band` (same width and pixel format as the writer) as the next rows.
    /// - Throws: as ``write(rows:)``, and `.invalidArgument` for a band of another width or format.
    public func write(_ band: Image) throws {
        try core.checkBand(band)
        try band.pixels.withUnsafeBytes { try core.write($0) }
    }

    /// Ends the PNG, flushes it to disk and renames it to ``path``.
    /// - Returns: the file's length in bytes.
    /// - Throws: ``CodecError`` `.invalidArgument` when fewer than ``height`` rows were written, `.io` when
    ///   writing, syncing or renaming fails; the temporary file is removed then.
    @discardableResult
    public func finish() throws -> Int { try core.finish() }

    /// Abandons the file: the temporary file is removed, `path` is untouched. Later calls throw.
    public func cancel() { core.cancel() }
}

/// Writes a JPEG file band by band (libjpeg `jpeg_write_scanlines`), with the same atomic-file behaviour
/// as ``PNGStreamWriter``.
///
/// Rows may be gray or RGB; gray+alpha and RGBA rows are flattened onto white as they arrive (JPEG has no
/// alpha), so the file is gray or YCbCr.
///
/// - Important: memory stays bounded (one MCU row, 8 or 16 pixel rows, plus a 64 KiB output buffer) only
///   with ``JPEGEncodeOptions/optimizeHuffman`` and ``JPEGEncodeOptions/progressive`` off, which is this
///   writer's default. With either on, libjpeg keeps every DCT coefficient until the end: 2 bytes per
///   sample, 3 bytes per pixel at 4:2:0, as much as the RGB image itself.
///   The decoded pixels equal those of ``ImageCodec/encodeJPEG(_:options:)`` with the same quality and
///   subsampling (Huffman tables change the bytes, never the pixels).
public final class JPEGStreamWriter {
    /// The destination path.
    public var path: String { core.file.path }
    /// Image width in pixels.
    public var width: Int { core.width }
    /// Image height in pixels: exactly this many rows must be written before ``finish()``.
    public var height: Int { core.height }
    /// The pixel format of the rows handed in.
    public var format: PixelFormat { core.format }
    /// Rows written so far.
    public var rowsWritten: Int { core.rows }

    private let core: StreamCore

    /// The options a streaming writer uses by default: quality 90, 4:2:0, standard Huffman tables, baseline.
    public static var boundedOptions: JPEGEncodeOptions {
        JPEGEncodeOptions(quality: 90, subsampling: .s420, progressive: false, optimizeHuffman: false)
    }

    /// Creates the temporary file and writes the JPEG header (and ICC profile).
    /// - Parameters:
    ///   - path: the file to create or replace.
    ///   - width: image width, 1...65,500 px.
    ///   - height: image height, 1...65,500 px.
    ///   - format: the pixel format of the rows to come (any; alpha is flattened onto white).
    ///   - options: quality, subsampling and ICC profile; default ``boundedOptions``.
    /// - Throws: ``CodecError`` `.io` naming `path` when it cannot be created; `.invalidArgument` for a side
    ///   out of JPEG's range.
    public init(path: String, width: Int, height: Int, format: PixelFormat,
                options: JPEGEncodeOptions = JPEGStreamWriter.boundedOptions) throws {
        guard width > 0, height > 0, width <= 65_500, height <= 65_500 else {
            throw CodecError(.invalidArgument, "cannot write \(path): JPEG sides must be 1...65500 px, not \(width)x\(height)")
        }
        let file = try AtomicOutputFile.codecOutput(path: path)
        var params = try NativeCodec.jpegParams(options)
        var handle: OpaquePointer?
        var status = kk_status()
        let colour = format.hasAlpha ? format.channels - 1 : format.channels
        let rc: Int32 = NativeCodec.withICC(options.iccProfile) { icc, iccCount in
            kk_jpeg_writer_open(file.descriptor, UInt32(width), UInt32(height), Int32(colour), &params,
                                icc, iccCount, &handle, &status)
        }
        guard rc == Int32(KK_OK), let handle else {
            file.discard()
            throw StreamCore.wrap(NativeCodec.error(rc, status), path: path)
        }
        let flatten = format.hasAlpha
        var scratch: [UInt8] = []
        core = StreamCore(
            file: file, width: width, height: height, format: format,
            writeRows: { base, stride, count, status in
                guard flatten else { return kk_jpeg_writer_write_rows(handle, base, stride, UInt32(count), &status) }
                let outStride = width * colour
                if scratch.count < outStride * count { scratch = [UInt8](repeating: 0, count: outStride * count) }
                return scratch.withUnsafeMutableBytes { out in
                    NativeCodec.flattenRowsOntoWhite(base, stride: stride, into: out.baseAddress!, pixels: width * count,
                                                     channels: colour + 1)
                    return kk_jpeg_writer_write_rows(handle, out.baseAddress, outStride, UInt32(count), &status)
                }
            },
            finish: { bytes, status in kk_jpeg_writer_finish(handle, &bytes, nil, &status) },
            release: { kk_jpeg_writer_free(handle) })
    }

    /// Compresses the next rows: `rows` holds whole rows of ``width`` × channels bytes each, packed.
    /// - Throws: ``CodecError`` `.invalidArgument` when `rows` is not a whole number of rows or they go past
    ///   ``height``; `.io` when the file cannot be written. After any error the file is already removed.
    public func write(rows: UnsafeRawBufferPointer) throws {
        try core.write(rows)
    }

    /// Compresses the rows of `band` (same width and pixel format as the writer) as the next rows.
    public func write(_ band: Image) throws {
        try core.checkBand(band)
        try band.pixels.withUnsafeBytes { try core.write($0) }
    }

    /// Ends the JPEG (EOI), flushes it to disk and renames it to ``path``.
    /// - Returns: the file's length in bytes.
    /// - Throws: ``CodecError`` `.invalidArgument` when fewer than ``height`` rows were written, `.io` when
    ///   writing, syncing or renaming fails; the temporary file is removed then.
    @discardableResult
    public func finish() throws -> Int { try core.finish() }

    /// Abandons the file: the temporary file is removed, `path` is untouched. Later calls throw.
    public func cancel() { core.cancel() }
}

/// What both streaming writers share: the atomic file, row bookkeeping, and the rule that the first
/// error removes the file and sticks.
final class StreamCore {
    let file: AtomicOutputFile
    let width: Int
    let height: Int
    let format: PixelFormat
    private(set) var rows = 0
    private var state: State = .open
    private let writeRows: (UnsafeRawPointer, Int, Int, inout kk_status) -> Int32
    private let finishStream: (inout UInt64, inout kk_status) -> Int32
    private var release: (() -> Void)?

    private enum State { case open, finished, failed(CodecError), cancelled }

    init(file: AtomicOutputFile, width: Int, height: Int, format: PixelFormat,
         writeRows: @escaping (UnsafeRawPointer, Int, Int, inout kk_status) -> Int32,
         finish: @escaping (inout UInt64, inout kk_status) -> Int32,
         release: @escaping () -> Void) {
        self.file = file
        self.width = width
        self.height = height
        self.format = format
        self.writeRows = writeRows
        self.finishStream = finish
        self.release = release
    }

    deinit {
        release?()
        file.discard()
    }

    /// `error` with the destination path in front, unless it already names it.
    static func wrap(_ error: CodecError, path: String) -> CodecError {
        error.message.contains(path) ? error : CodecError(error.code, "cannot write \(path): \(error.message)")
    }

    private func ensureOpen() throws {
        switch state {
        case .open: return
        case .finished: throw CodecError(.invalidArgument, "cannot write \(file.path): the file is already finished")
        case .cancelled: throw CodecError(.invalidArgument, "cannot write \(file.path): the writer was cancelled")
        case .failed(let error): throw error
        }
    }

    /// Records the first failure: frees the codec, removes the temporary file, and returns the error.
    private func fail(_ error: CodecError) -> CodecError {
        let named = StreamCore.wrap(error, path: file.path)
        state = .failed(named)
        release?()
        release = nil
        file.discard()
        return named
    }

    func checkBand(_ band: Image) throws {
        try ensureOpen()
        guard band.width == width, band.format == format else {
            throw fail(CodecError(.invalidArgument, "a band of \(band.width) px \(band.format) does not fit an image of "
                + "\(width) px \(format)"))
        }
    }

    func write(_ pixels: UnsafeRawBufferPointer) throws {
        try ensureOpen()
        let stride = width * format.channels
        guard pixels.count % stride == 0 else {
            throw fail(CodecError(.invalidArgument, "\(pixels.count) bytes are not whole rows of \(stride) bytes"))
        }
        let count = pixels.count / stride
        guard count <= height - rows else {
            throw fail(CodecError(.invalidArgument, "\(count) more rows do not fit: \(rows) of \(height) written"))
        }
        guard count > 0, let base = pixels.baseAddress else { return }
        var status = kk_status()
        let rc = writeRows(base, stride, count, &status)
        guard rc == Int32(KK_OK) else { throw fail(NativeCodec.error(rc, status)) }
        rows += count
    }

    func finish() throws -> Int {
        try ensureOpen()
        guard rows == height else {
            throw fail(CodecError(.invalidArgument, "only \(rows) of \(height) rows were written"))
        }
        var bytes: UInt64 = 0
        var status = kk_status()
        let rc = finishStream(&bytes, &status)
        guard rc == Int32(KK_OK) else { throw fail(NativeCodec.error(rc, status)) }
        release?()
        release = nil
        do {
            try file.commit()
        } catch {
            throw fail(CodecError(.io, error.message))
        }
        state = .finished
        return Int(bytes)
    }

    func cancel() {
        guard case .open = state else { return }
        state = .cancelled
        release?()
        release = nil
        file.discard()
    }
}

extension NativeCodec {
    static func pngFilters(_ filter: PNGFilter) -> Int32 {
        switch filter {
        case .none: Int32(KK_PNG_FILTER_NONE)
        case .sub: Int32(KK_PNG_FILTER_SUB)
        case .up: Int32(KK_PNG_FILTER_UP)
        case .average: Int32(KK_PNG_FILTER_AVG)
        case .paeth: Int32(KK_PNG_FILTER_PAETH)
        case .adaptive: Int32(KK_PNG_FILTER_ALL)
        }
    }

    /// The C encoder's settings for `options`.
    /// - Throws: ``CodecError`` `.invalidArgument` for a comment longer than 255 bytes.
    static func jpegParams(_ options: JPEGEncodeOptions) throws -> kk_jpeg_encode_params {
        var p = kk_jpeg_encode_params()
        p.quality = Int32(clamping: options.quality)
        p.subsampling = options.subsampling == .s444 ? 444 : 420
        p.progressive = options.progressive ? 1 : 0
        p.optimize = options.optimizeHuffman ? 1 : 0
        if let comment = options.comment {
            let bytes = Array(comment.utf8)
            guard bytes.count <= Int(KK_JPEG_COMMENT_MAX) else {
                throw CodecError(.invalidArgument, "a JPEG comment is at most \(KK_JPEG_COMMENT_MAX) bytes, got \(bytes.count)")
            }
            withUnsafeMutableBytes(of: &p.comment) { $0.copyBytes(from: bytes) }
            p.comment_size = UInt32(bytes.count)
        }
        return p
    }

    /// Calls `body` with the profile's bytes, or (nil, 0) when there is none.
    static func withICC<T>(_ icc: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> T) -> T {
        if let icc, !icc.isEmpty { return icc.withUnsafeBytes { body($0.baseAddress, $0.count) } }
        return body(nil, 0)
    }

    /// Composites `pixels` straight-alpha pixels of `channels` (2 or 4) bytes onto white, writing
    /// `channels − 1` bytes each: `c·a + 255·(1 − a)`, rounded, as ``flattenOntoWhite(_:)``.
    /// Rows are `stride` bytes apart in the source and packed in the destination.
    static func flattenRowsOntoWhite(_ source: UnsafeRawPointer, stride: Int, into destination: UnsafeMutableRawPointer,
                                     pixels: Int, channels: Int) {
        let colour = channels - 1
        let rowPixels = stride / channels
        let src = source.assumingMemoryBound(to: UInt8.self)
        let dst = destination.assumingMemoryBound(to: UInt8.self)
        for i in 0..<pixels {
            let s = src + (i / rowPixels) * stride + (i % rowPixels) * channels
            let a = Int(s[colour])
            for c in 0..<colour {
                dst[i * colour + c] = UInt8((Int(s[c]) * a + 255 * (255 - a) + 127) / 255)
            }
        }
    }
}

extension AtomicOutputFile {
    /// An atomic output whose creation failure is reported as ``CodecError`` `.io`, like every other
    /// failure of the stream writers.
    static func codecOutput(path: String) throws(CodecError) -> AtomicOutputFile {
        do { return try AtomicOutputFile(path: path) } catch { throw CodecError(.io, error.message) }
    }
}
