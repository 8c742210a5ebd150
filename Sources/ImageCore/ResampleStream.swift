/// Resamples an image that arrives row by row and leaves row by row, so neither the source nor the
/// result is ever held whole: a decoder feeds it, an encoder drains it.
///
/// The arithmetic is that of ``Image/resized(to:filter:threads:)`` (same weights, same vertical-then-
/// horizontal passes, premultiplied alpha), so the output rows are identical to the rows of the
/// resized image. Memory: a ring of float rows one filter window deep (for Lanczos-3 shrinking
/// 2500 → 2048 px wide RGB, about 8 rows × 2500 × 3 × 4 bytes ≈ 240 KB) plus two byte rows.
/// Single-threaded: the rows come from a sequential decoder anyway.
///
/// ```swift
/// let resampler = RowStreamResampler(from: Size(width: 2500, height: 1875),
///                                    to: Size(width: 2048, height: 1536), format: .rgb)
/// try resampler.run(read: { row in try decoder.readRow(into: row) },
///                   write: { row in try encoder.writeRow(row) })
/// ```
public struct RowStreamResampler: Sendable {
    /// The source size and the output size, in pixels (both sides ≥ 1).
    public let source: Size
    public let target: Size
    /// The pixel format of source and output rows.
    public let format: PixelFormat
    public let filter: ResampleFilter

    fileprivate let horizontal: ResampleWeights
    fileprivate let vertical: ResampleWeights
    /// Rows the ring must hold so every row a window needs is still there when its turn comes.
    fileprivate let ringSize: Int

    /// - Parameters:
    ///   - scaleX, scaleY: source pixels per output pixel on each axis; default `source / target`. A
    ///     subsampled chroma plane passes the image's ratio, which differs slightly from its own when a
    ///     side is odd (2001 chroma samples of a 4001 px row, resized with the row to 2048 px, map
    ///     to 1024 samples at 4001/2048, not 2001/1024).
    /// - Important: sides must be positive; a zero or negative side is a programming error and traps.
    public init(from source: Size, to target: Size, format: PixelFormat, filter: ResampleFilter = .lanczos3,
                scaleX: Double? = nil, scaleY: Double? = nil) {
        precondition(source.width > 0 && source.height > 0 && target.width > 0 && target.height > 0,
                     "resample sizes \(source) -> \(target) must be positive")
        self.source = source
        self.target = target
        self.format = format
        self.filter = filter
        var h = ResampleWeights(inSize: source.width, outSize: target.width, filter: filter, scale: scaleX)
        if format.channels == 3 { h.buildRGBWeights() }
        if format.channels == 1 { h.buildGrayWeights() }
        horizontal = h
        let v = ResampleWeights(inSize: source.height, outSize: target.height, filter: filter, scale: scaleY)
        vertical = v
        // Rows are read in order up to the furthest any window so far reached; row `starts[y]` must
        // not have been overwritten by then.
        var furthest = 0, depth = 1
        for y in 0..<target.height {
            furthest = max(furthest, v.starts[y] + v.counts[y])
            depth = max(depth, furthest - v.starts[y])
        }
        ringSize = depth
    }

    /// Source rows read: every row up to the last one the filter needs (the rest are never asked for).
    public var rowsNeeded: Int {
        (0..<target.height).reduce(0) { max($0, vertical.starts[$1] + vertical.counts[$1]) }
    }

    /// Runs the resampling.
    /// - Parameters:
    ///   - read: fills its argument (`source.width × channels` bytes) with the next source row; called
    ///     for rows 0, 1, 2, … in order, ``rowsNeeded`` times.
    ///   - write: receives each output row (`target.width × channels` bytes) in order, `target.height`
    ///     times; the pointer is valid only during the call.
    /// - Throws: whatever `read` or `write` throws, at once.
    public func run(read: (UnsafeMutablePointer<UInt8>) throws -> Void,
                    write: (UnsafePointer<UInt8>) throws -> Void) rethrows {
        let feed = RowFeedResampler(self)
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: source.width * format.channels)
        defer { input.deallocate() }
        for _ in 0..<rowsNeeded {
            try read(input)
            try feed.push(input, emit: write)
        }
    }
}

/// The push form of ``RowStreamResampler``: source rows are handed in as they arrive, and each output row
/// is handed out as soon as every source row its filter window needs is in. For a decoder that makes
/// several planes at once (Y, Cb and Cr of a JPEG band), one feed per plane.
///
/// Same arithmetic and output as ``RowStreamResampler/run(read:write:)``; same memory (a ring of float
/// rows one filter window deep, plus two byte rows).
/// - Important: not thread-safe; one feed belongs to one thread at a time.
public final class RowFeedResampler {
    public let resampler: RowStreamResampler
    /// Source rows handed in so far (rows past the last one any window needs are counted and dropped).
    public private(set) var rowsIn = 0
    /// Output rows handed out so far; all of them when it reaches `target.height`.
    public private(set) var rowsOut = 0

    private let rowFloats: Int
    private let ring: UnsafeMutablePointer<Float>
    private let scratch: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutablePointer<Float>
    private let output: UnsafeMutablePointer<UInt8>
    private var pointers: [UnsafeMutablePointer<Float>]
    private let lut: [Float]

    public convenience init(from source: Size, to target: Size, format: PixelFormat,
                            filter: ResampleFilter = .lanczos3, scaleX: Double? = nil, scaleY: Double? = nil) {
        self.init(RowStreamResampler(from: source, to: target, format: format, filter: filter,
                                     scaleX: scaleX, scaleY: scaleY))
    }

    public init(_ resampler: RowStreamResampler) {
        self.resampler = resampler
        let ch = resampler.format.channels
        // Spare zero floats: the RGB pass reads whole blocks of four taps, the gray pass of eight.
        rowFloats = resampler.source.width * ch + 16
        ring = .allocate(capacity: rowFloats * resampler.ringSize)
        ring.initialize(repeating: 0, count: rowFloats * resampler.ringSize)
        scratch = .allocate(capacity: rowFloats)
        scratch.initialize(repeating: 0, count: rowFloats)
        sums = .allocate(capacity: resampler.target.width * ch)
        sums.initialize(repeating: 0, count: resampler.target.width * ch)
        output = .allocate(capacity: resampler.target.width * ch)
        output.initialize(repeating: 0, count: resampler.target.width * ch)
        pointers = [UnsafeMutablePointer<Float>](repeating: scratch, count: resampler.ringSize)
        lut = resampler.format.hasAlpha ? ResampleKernel.premultiplyTable() : []
    }

    deinit {
        ring.deallocate()
        scratch.deallocate()
        sums.deallocate()
        output.deallocate()
    }

    /// Takes the next source row (`source.width × channels` bytes) and hands every output row it
    /// completes to `emit` (`target.width × channels` bytes, valid only during the call), in order.
    /// - Throws: whatever `emit` throws, at once.
    public func push(_ row: UnsafePointer<UInt8>, emit: (UnsafePointer<UInt8>) throws -> Void) rethrows {
        let r = resampler
        let v = r.vertical
        guard rowsOut < r.target.height else { rowsIn += 1; return }
        let ch = r.format.channels
        let rowBytes = r.source.width * ch
        let cached = ring + (rowsIn % r.ringSize) * rowFloats
        if r.format.hasAlpha {
            lut.withUnsafeBufferPointer {
                ResampleKernel.convertPremultiplied(UnsafeMutablePointer(mutating: row), cached, rowBytes, ch, $0.baseAddress!)
            }
        } else {
            ResampleKernel.convert(UnsafeMutablePointer(mutating: row), cached, rowBytes)
        }
        rowsIn += 1
        while rowsOut < r.target.height && v.starts[rowsOut] + v.counts[rowsOut] <= rowsIn {
            let y = rowsOut
            let start = v.starts[y], count = v.counts[y]
            for k in 0..<count { pointers[k] = ring + ((start + k) % r.ringSize) * rowFloats }
            v.weights.withUnsafeBufferPointer { vw in
                pointers.withUnsafeBufferPointer { rows in
                    ResampleKernel.vertical(rows: rows.baseAddress!, count: count, n: rowBytes,
                                            weights: vw.baseAddress! + y * v.stride, into: scratch)
                }
            }
            let h = r.horizontal
            let outW = r.target.width
            switch ch {
            case 1: ResampleKernel.horizontal1(scratch, output, outW, h)
            case 2: h.weights.withUnsafeBufferPointer { ResampleKernel.horizontal2(scratch, output, outW, h, $0.baseAddress!) }
            case 3: ResampleKernel.horizontal3(scratch, output, outW, h, sums)
            default: h.weights.withUnsafeBufferPointer {
                ResampleKernel.horizontal4(scratch, output, outW, h, $0.baseAddress!, alpha: true)
            }
            }
            rowsOut += 1
            try emit(output)
        }
    }
}
