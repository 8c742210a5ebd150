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

    private let horizontal: ResampleWeights
    private let vertical: ResampleWeights
    /// Rows the ring must hold so every row a window needs is still there when its turn comes.
    private let ringSize: Int

    /// - Important: sides must be positive; a zero or negative side is a programming error and traps.
    public init(from source: Size, to target: Size, format: PixelFormat, filter: ResampleFilter = .lanczos3) {
        precondition(source.width > 0 && source.height > 0 && target.width > 0 && target.height > 0,
                     "resample sizes \(source) -> \(target) must be positive")
        self.source = source
        self.target = target
        self.format = format
        self.filter = filter
        var h = ResampleWeights(inSize: source.width, outSize: target.width, filter: filter)
        if format.channels == 3 { h.buildRGBWeights() }
        horizontal = h
        let v = ResampleWeights(inSize: source.height, outSize: target.height, filter: filter)
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
        let ch = format.channels
        let rowBytes = source.width * ch
        let rowFloats = rowBytes + 16  // spare zero floats: the RGB pass reads whole blocks of four taps
        let outW = target.width
        let hasAlpha = format.hasAlpha
        let ring = UnsafeMutablePointer<Float>.allocate(capacity: rowFloats * ringSize)
        defer { ring.deallocate() }
        ring.initialize(repeating: 0, count: rowFloats * ringSize)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rowFloats)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: 0, count: rowFloats)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: outW * ch)
        defer { sums.deallocate() }
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: rowBytes)
        defer { input.deallocate() }
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: outW * ch)
        defer { output.deallocate() }
        let lut = ResampleKernel.premultiplyTable()
        var pointers = [UnsafeMutablePointer<Float>](repeating: scratch, count: ringSize)
        var next = 0  // the next source row to read
        let v = vertical, h = horizontal
        try v.weights.withUnsafeBufferPointer { vw in
            try h.weights.withUnsafeBufferPointer { hw in
                try lut.withUnsafeBufferPointer { lut in
                    for y in 0..<target.height {
                        let start = v.starts[y], count = v.counts[y]
                        while next < start + count {
                            try read(input)
                            let cached = ring + (next % ringSize) * rowFloats
                            if hasAlpha {
                                ResampleKernel.convertPremultiplied(input, cached, rowBytes, ch, lut.baseAddress!)
                            } else {
                                ResampleKernel.convert(input, cached, rowBytes)
                            }
                            next += 1
                        }
                        for k in 0..<count { pointers[k] = ring + ((start + k) % ringSize) * rowFloats }
                        pointers.withUnsafeBufferPointer { rows in
                            ResampleKernel.vertical(rows: rows.baseAddress!, count: count, n: rowBytes,
                                                    weights: vw.baseAddress! + y * v.stride, into: scratch)
                        }
                        switch ch {
                        case 1: ResampleKernel.horizontal1(scratch, output, outW, h, hw.baseAddress!)
                        case 2: ResampleKernel.horizontal2(scratch, output, outW, h, hw.baseAddress!)
                        case 3: ResampleKernel.horizontal3(scratch, output, outW, h, sums)
                        default: ResampleKernel.horizontal4(scratch, output, outW, h, hw.baseAddress!, alpha: true)
                        }
                        try write(output)
                    }
                }
            }
        }
    }
}
