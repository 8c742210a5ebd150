internal import CImageCodecShims
import Foundation
import ImageCore
import KlingSupport

/// Writes a PNG file band by band on several cores: each band of rows is cut into segments that are
/// filtered and deflated in parallel as independent raw deflate streams ended by a full flush, then
/// joined in order into the one zlib stream of the IDAT chunks (one Adler-32, combined with zlib's
/// `adler32_combine`). Any PNG decoder reads it; the decoded pixels are exactly the rows written.
///
/// The file is a little larger than a single-stream encode (each segment starts with an empty window)
/// and is not byte-identical to ``PNGStreamWriter``'s; its pixels are. Written atomically like
/// ``PNGStreamWriter`` (temporary file, flushed and renamed by ``finish()``, removed on any error).
///
/// Memory: the compressed size of one band plus one row, and each thread's deflate state (~256 KiB).
/// - Important: not thread-safe; use one writer from one thread at a time (it runs its own threads).
public final class ParallelPNGStreamWriter {
    public var path: String { core.file.path }
    public var width: Int { core.width }
    public var height: Int { core.height }
    public var format: PixelFormat { core.format }
    public var rowsWritten: Int { core.rows }

    private let core: StreamCore

    /// Creates the temporary file and writes signature, IHDR, iCCP and the `text` chunks.
    /// - Parameters:
    ///   - options: zlib level and row filter (`.adaptive` chooses per row, as libpng does), ICC profile.
    ///   - threads: deflate threads, 1...64. Default: the active cores.
    ///   - minimumSegmentRows: a band is cut into at most `threads` segments of at least this many rows
    ///     (default 32), so tiny bands are not split.
    ///   - text: tEXt chunks (keyword 1...79 Latin-1 characters, text), written before the pixels.
    /// - Throws: ``CodecError`` `.io` naming `path`; `.invalidArgument` for a bad side, thread count or keyword.
    public init(path: String, width: Int, height: Int, format: PixelFormat, options: PNGEncodeOptions = .init(),
                threads: Int? = nil, minimumSegmentRows: Int = 32, text: [(keyword: String, text: String)] = []) throws {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw CodecError(.invalidArgument, "cannot write \(path): PNG sides must be 1...2^31-1 px, not \(width)x\(height)")
        }
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard (1...64).contains(threadCount) else {
            throw CodecError(.invalidArgument, "cannot write \(path): PNG encoder threads must be 1...64, not \(threadCount)")
        }
        for (keyword, _) in text where keyword.utf8.isEmpty || keyword.utf8.count > 79 || keyword.contains("\u{0}") {
            throw CodecError(.invalidArgument, "cannot write \(path): PNG text keyword '\(keyword)' must be 1...79 bytes without NUL")
        }
        let file = try AtomicOutputFile.codecOutput(path: path)
        let filters = NativeCodec.pngFilters(options.filter)
        var handle: OpaquePointer?
        var status = kk_status()
        let level = Int32(clamping: options.compressionLevel)
        // C strings for the text chunks, alive for the call.
        let keywords = text.map { strdup($0.keyword) }
        let values = text.map { strdup($0.text.replacingOccurrences(of: "\u{0}", with: " ")) }
        defer { (keywords + values).forEach { free($0) } }
        let chunks = zip(keywords, values).map { kk_png_text(keyword: $0, text: $1) }
        let rc: Int32 = NativeCodec.withICC(options.iccProfile) { icc, iccCount in
            chunks.withUnsafeBufferPointer { list in
                kk_ppng_writer_open(file.descriptor, UInt32(width), UInt32(height), Int32(format.channels), level,
                                    filters, Int32(threadCount), UInt32(clamping: max(1, minimumSegmentRows)), icc, iccCount,
                                    list.baseAddress, list.count, &handle, &status)
            }
        }
        guard rc == Int32(KK_OK), let handle else {
            file.discard()
            throw StreamCore.wrap(NativeCodec.error(rc, status), path: path)
        }
        core = StreamCore(
            file: file, width: width, height: height, format: format,
            writeRows: { base, stride, count, status in
                kk_ppng_writer_write_rows(handle, base, stride, UInt32(count), &status)
            },
            finish: { bytes, status in kk_ppng_writer_finish(handle, &bytes, &status) },
            release: { kk_ppng_writer_free(handle) })
    }

    /// Encodes the next rows (whole rows of ``width`` × channels bytes, packed), on the writer's threads.
    /// - Throws: as ``PNGStreamWriter/write(rows:)``.
    public func write(rows: UnsafeRawBufferPointer) throws { try core.write(rows) }

    /// Encodes the rows of `band` (same width and pixel format) as the next rows.
    public func write(_ band: Image) throws {
        try core.checkBand(band)
        try band.pixels.withUnsafeBytes { try core.write($0) }
    }

    /// Ends the PNG, flushes it to disk and renames it to ``path``; returns the file's length.
    @discardableResult
    public func finish() throws -> Int { try core.finish() }

    /// Abandons the file: the temporary file is removed, `path` is untouched.
    public func cancel() { core.cancel() }
}

extension ImageCodec {
    /// Whether `bytes` is a PNG whose chunks before the pixels include a tEXt chunk with `keyword`
    /// (and a text starting with `textPrefix`, when given). Reads only the chunk headers; a few KiB of
    /// the file's start are enough.
    public static func pngHasText(_ bytes: [UInt8], keyword: String, textPrefix: String? = nil) -> Bool {
        bytes.withUnsafeBytes { raw in
            keyword.withCString { key in
                if let textPrefix {
                    return textPrefix.withCString { kk_png_has_text(raw.baseAddress, raw.count, key, $0) } == 1
                }
                return kk_png_has_text(raw.baseAddress, raw.count, key, nil) == 1
            }
        }
    }
}
