internal import CImageCodecShims
import ImageCore

/// One plane of a band of planar JPEG samples (Y, Cb or Cr), as the decoder hands it out or the
/// encoder takes it.
public struct JPEGPlane: Sendable, Equatable {
    /// Samples per row and rows that belong to the image.
    public var width: Int
    public var height: Int
    /// Bytes from one row to the next inside a band (whole DCT blocks, so at least `width`).
    public var stride: Int
    /// Rows of this plane in one band.
    public var bandRows: Int
    /// Image pixels per sample on each axis: 1, or 2 for subsampled chroma.
    public var subsampleX: Int
    public var subsampleY: Int
    /// Where this plane's first row starts in a band buffer, in bytes.
    public var offset: Int
}

/// How planar samples travel: a band is one row of JPEG MCUs (16 luma rows and 8 of each chroma plane
/// at 4:2:0), every plane of it in one buffer of ``bandBytes`` bytes, plane after plane.
public struct JPEGPlaneLayout: Sendable, Equatable {
    /// Y alone (gray) or Y, Cb, Cr.
    public var planes: [JPEGPlane]
    public var bandBytes: Int
    /// Bands in the image.
    public var bands: Int

    init(_ p: kk_jpeg_planes) {
        let count = Int(p.count)
        let width = [p.width.0, p.width.1, p.width.2], height = [p.height.0, p.height.1, p.height.2]
        let stride = [p.stride.0, p.stride.1, p.stride.2], rows = [p.band_rows.0, p.band_rows.1, p.band_rows.2]
        let subX = [p.sub_x.0, p.sub_x.1, p.sub_x.2], subY = [p.sub_y.0, p.sub_y.1, p.sub_y.2]
        let offset = [p.offset.0, p.offset.1, p.offset.2]
        planes = (0..<count).map {
            JPEGPlane(width: Int(width[$0]), height: Int(height[$0]), stride: Int(stride[$0]),
                      bandRows: Int(rows[$0]), subsampleX: Int(subX[$0]), subsampleY: Int(subY[$0]),
                      offset: offset[$0])
        }
        bandBytes = p.band_bytes
        bands = Int(p.bands)
    }
}

/// Decodes a YCbCr or gray JPEG held in memory to its planes, one band at a time, stopping before
/// chroma upsampling and colour conversion: what a resize-and-re-encode needs, at the least cost.
///
/// Same limits, strict mode, DCT scaling (``DecodeOptions/jpegScale``, ``DecodeOptions/jpegScaleEighths``)
/// and errors as ``JPEGRowReader``. Memory: libjpeg's working state plus one band.
/// - Important: not thread-safe; use one reader from one thread at a time.
public final class JPEGPlanarReader {
    /// The decoded image size after DCT scaling, in pixels.
    public let width: Int
    public let height: Int
    public let layout: JPEGPlaneLayout
    /// The embedded ICC profile, when ``DecodeOptions/keepICCProfile`` is set and there is one.
    public let iccProfile: [UInt8]?
    /// Bands decoded so far.
    public private(set) var bandsRead = 0

    private let bytes: [UInt8]   // libjpeg's source points into this storage until `deinit`
    private let handle: OpaquePointer

    /// Reads the header and starts decompression.
    /// - Throws: ``CodecError`` `.unsupported` when the JPEG is not YCbCr (with luma at the largest
    ///   sampling factors and chroma subsampled by at most 2) or gray, e.g. RGB, CMYK or YCCK: decode
    ///   those with ``JPEGRowReader``. Otherwise as ``ImageCodec/decode(_:options:)``.
    public init(_ bytes: [UInt8], options: DecodeOptions = .init()) throws {
        self.bytes = bytes
        var planes = kk_jpeg_planes()
        let (handle, info, profile) = try NativeCodec.openJPEGReader(bytes, options, planes: &planes)
        self.handle = handle
        width = Int(info.output_width)
        height = Int(info.output_height)
        layout = JPEGPlaneLayout(planes)
        iccProfile = profile
    }

    deinit { kk_jpeg_reader_free(handle) }

    /// Decodes the next band into `band` (``JPEGPlaneLayout/bandBytes`` bytes).
    /// - Throws: ``CodecError`` (`.corrupt` with libjpeg's message; `.invalidArgument` past the last band).
    public func readBand(into band: UnsafeMutableRawPointer) throws {
        var status = kk_status()
        let rc = kk_jpeg_reader_read_band(handle, band, &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
        bandsRead += 1
    }

    /// Decodes and drops the bands not read yet, then reads through EOI.
    /// - Throws: ``CodecError`` `.corrupt` for a damaged or truncated stream (strict mode).
    public func finish() throws {
        var status = kk_status()
        let rc = kk_jpeg_reader_finish(handle, &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
        bandsRead = layout.bands
    }
}

/// Encodes a JPEG from planes (Y, or Y, Cb, Cr at the sampling ``JPEGEncodeOptions/subsampling`` asks
/// for) one band at a time into memory, so libjpeg runs no colour conversion or chroma downsampling.
///
/// Memory: one band plus the output (plus every coefficient with `optimizeHuffman` or `progressive`).
/// - Important: not thread-safe; use one writer from one thread at a time.
public final class JPEGPlanarWriter {
    public let width: Int
    public let height: Int
    public let layout: JPEGPlaneLayout
    private let handle: OpaquePointer

    /// Starts the stream (markers, ICC profile).
    /// - Parameter gray: one plane (Y) instead of three.
    /// - Throws: ``CodecError`` `.invalidArgument` for a side outside 1...65,500 px.
    public init(width: Int, height: Int, gray: Bool, options: JPEGEncodeOptions = .init()) throws {
        guard width > 0, height > 0, width <= 65_500, height <= 65_500 else {
            throw CodecError(.invalidArgument, "JPEG cannot store \(width)x\(height) (each side 1...65500)")
        }
        var p = try NativeCodec.jpegParams(options)
        var handle: OpaquePointer?
        var planes = kk_jpeg_planes()
        var status = kk_status()
        let rc: Int32 = NativeCodec.withICC(options.iccProfile) { icc, iccCount in
            kk_jpeg_writer_open_memory(UInt32(width), UInt32(height), gray ? 1 : 3, &p, icc, iccCount,
                                       &planes, &handle, &status)
        }
        guard rc == Int32(KK_OK), let handle else { throw NativeCodec.error(rc, status) }
        self.handle = handle
        self.width = width
        self.height = height
        layout = JPEGPlaneLayout(planes)
    }

    deinit { kk_jpeg_writer_free(handle) }

    /// Compresses the next band (``JPEGPlaneLayout/bandBytes`` bytes). The band is padded in place
    /// first: columns past a plane's width repeat its last sample, rows past its height repeat its last row.
    public func writeBand(_ band: UnsafeMutableRawPointer) throws {
        var status = kk_status()
        let rc = kk_jpeg_writer_write_band(handle, band, &status)
        guard rc == Int32(KK_OK) else { throw NativeCodec.error(rc, status) }
    }

    /// Ends the stream and returns it. Every band must have been written.
    public func finish() throws -> EncodedImage { try NativeCodec.finishMemoryJPEG(handle) }
}

extension NativeCodec {
    /// Opens a streaming JPEG reader over `bytes` (RGB rows, or planes when `planes` is given), which
    /// must stay alive and unchanged (the readers keep a copy of the array) until the handle is freed.
    static func openJPEGReader(_ bytes: [UInt8], _ options: DecodeOptions, planes: UnsafeMutablePointer<kk_jpeg_planes>?)
        throws -> (OpaquePointer, kk_jpeg_info, [UInt8]?) {
        var p = try scaledParams(options)
        guard ImageCodec.sniff(bytes) == .jpeg else { throw CodecError(.unsupportedFormat, "not a JPEG (by content)") }
        var info = kk_jpeg_info()
        var icc: UnsafeMutableRawPointer?
        var iccSize = 0
        var handle: OpaquePointer?
        var status = kk_status()
        // The array is never mutated and lives as long as its reader, so its storage does not move.
        let rc = bytes.withUnsafeBytes { raw in
            if let planes {
                kk_jpeg_reader_open_planes(raw.baseAddress, raw.count, &p, &info, &icc, &iccSize, planes, &handle, &status)
            } else {
                kk_jpeg_reader_open(raw.baseAddress, raw.count, &p, &info, &icc, &iccSize, &handle, &status)
            }
        }
        let profile = takeICC(icc, iccSize)
        guard rc == Int32(KK_OK), let handle else { throw error(rc, status) }
        return (handle, info, profile)
    }

    /// Ends an in-memory JPEG stream (``JPEGMemoryWriter``, ``JPEGPlanarWriter``) and takes its bytes.
    static func finishMemoryJPEG(_ handle: OpaquePointer) throws -> EncodedImage {
        try finishMemory(.jpeg) { size, out, status in kk_jpeg_writer_finish(handle, &size, &out, &status) }
    }

    /// Ends an in-memory stream with the writer's `kk_*_writer_finish` and takes the bytes it hands over.
    static func finishMemory(_ format: ImageFormat,
                             _ finish: (inout UInt64, inout UnsafeMutableRawPointer?, inout kk_status) -> Int32) throws -> EncodedImage {
        var out: UnsafeMutableRawPointer?
        var size: UInt64 = 0
        var status = kk_status()
        let rc = finish(&size, &out, &status)
        guard rc == Int32(KK_OK), let out else { throw NativeCodec.error(rc, status) }
        defer { kk_free(out) }
        return EncodedImage(format: format, bytes: Array(UnsafeRawBufferPointer(start: out, count: Int(size))))
    }
}
