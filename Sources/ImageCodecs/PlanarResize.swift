import ImageCore

/// Resizes a JPEG into another JPEG without ever leaving YCbCr: the decoder stops before chroma
/// upsampling and colour conversion, each plane (Y, Cb, Cr) is resampled on its own straight to the
/// size the encoder stores it at (chroma at half size for 4:2:0), and the encoder takes the planes as
/// they are. Compared with decode to RGB → resize RGB → encode, it skips two colour conversions and a
/// chroma upsample-then-downsample, and resamples half as many samples.
///
/// Resampling commutes with the (linear) YCbCr ↔ RGB conversion, so the result differs from the RGB
/// route only by rounding and by where Lanczos overshoot is clipped (per YCbCr channel rather than per
/// RGB channel); chroma is filtered once, from the stored samples, instead of being interpolated up and
/// averaged down again.
///
/// Memory: libjpeg's working state, a ring of float rows per plane (one filter window deep), a few
/// bands in flight. With `prefetch`, the decoder runs on a thread of its own a few bands ahead.
public enum PlanarJPEGResize {
    /// Decodes every band of `reader`, resamples it and feeds `writer`, then reads `reader` through EOI.
    ///
    /// `writer` fixes the output size (upright); `reader` the (DCT-scaled) source size, as stored. Both
    /// must carry the same planes: one (gray) or three (YCbCr).
    /// - Parameters:
    ///   - orientation: an EXIF orientation (1...8) to apply. Other than 1, each plane is resampled at
    ///     its stored orientation into memory (output-sized: 1.5 bytes per output pixel at 4:2:0), turned
    ///     upright, then encoded; 1 streams band by band.
    ///   - prefetch: decode on a second thread, overlapping everything after it (worth it on two or
    ///     more cores).
    /// - Throws: ``CodecError`` from either side (the decoder's, e.g. `.corrupt`, wins when both fail);
    ///   `.invalidArgument` when the plane counts differ.
    public static func run(from reader: JPEGPlanarReader, to writer: JPEGPlanarWriter, orientation: Int = 1,
                           filter: ResampleFilter = .lanczos3, prefetch: Bool = false) throws {
        let input = reader.layout, output = writer.layout
        guard input.planes.count == output.planes.count else {
            throw CodecError(.invalidArgument, "\(input.planes.count) planes cannot be encoded as \(output.planes.count)")
        }
        let turns = (2...8).contains(orientation)
        let swaps = (5...8).contains(orientation)
        // Each output plane as resampled: at the source's (stored) orientation.
        let stored: [(width: Int, height: Int, subX: Int, subY: Int)] = output.planes.map {
            swaps ? ($0.height, $0.width, $0.subsampleY, $0.subsampleX) : ($0.width, $0.height, $0.subsampleX, $0.subsampleY)
        }
        let ratioX = Double(reader.width) / Double(swaps ? writer.height : writer.width)
        let ratioY = Double(reader.height) / Double(swaps ? writer.width : writer.height)
        let feeds: [RowFeedResampler?] = zip(input.planes, stored).map { source, target in
            let scaleX = ratioX * Double(target.subX) / Double(source.subsampleX)
            let scaleY = ratioY * Double(target.subY) / Double(source.subsampleY)
            if source.width == target.width && source.height == target.height && scaleX == 1 && scaleY == 1 {
                return nil  // the DCT scale landed on the stored size: the rows pass through
            }
            return RowFeedResampler(from: Size(width: source.width, height: source.height),
                                    to: Size(width: target.width, height: target.height),
                                    format: .gray, filter: filter, scaleX: scaleX, scaleY: scaleY)
        }
        let assembler = BandAssembler(writer: writer)
        defer { assembler.release() }
        // Turned output is collected whole per plane (output-sized), then turned and encoded.
        var collected: [[UInt8]] = turns ? stored.map { [UInt8](repeating: 0, count: $0.width * $0.height) } : []
        var collectedRows = [Int](repeating: 0, count: stored.count)

        func sink(_ plane: Int, _ row: UnsafePointer<UInt8>) throws {
            if !turns { return try assembler.add(plane: plane, row: row) }
            let width = stored[plane].width, y = collectedRows[plane]
            guard y < stored[plane].height else { return }
            collected[plane].withUnsafeMutableBufferPointer { ($0.baseAddress! + y * width).update(from: row, count: width) }
            collectedRows[plane] = y + 1
        }

        func consume(band: UnsafeMutableRawPointer, index: Int) throws {
            for (plane, source) in input.planes.enumerated() {
                let first = index * source.bandRows
                let rows = min(source.bandRows, source.height - first)
                guard rows > 0 else { continue }
                let base = (band + source.offset).assumingMemoryBound(to: UInt8.self)
                for r in 0..<rows {
                    let row = UnsafePointer(base + r * source.stride)
                    if let feed = feeds[plane] {
                        try feed.push(row) { try sink(plane, $0) }
                    } else {
                        try sink(plane, row)
                    }
                }
            }
        }

        let band = UnsafeMutableRawPointer.allocate(byteCount: max(input.bandBytes, output.bandBytes), alignment: 64)
        defer { band.deallocate() }
        if prefetch {
            let ahead = RowPrefetcher(rowBytes: input.bandBytes, rows: input.bands, bandRows: 1, bands: 6,
                                      produce: { band, _, _ in try reader.readBand(into: UnsafeMutableRawPointer(band)) },
                                      completion: { try reader.finish() })
            do {
                for index in 0..<input.bands {
                    try ahead.next(into: band.assumingMemoryBound(to: UInt8.self))
                    try consume(band: band, index: index)
                }
            } catch {
                // The decoder's error explains a failure best; either way, join it before returning.
                do { try ahead.finish() } catch let decoderError { throw decoderError }
                throw error
            }
            try ahead.finish()
        } else {
            for index in 0..<input.bands {
                try reader.readBand(into: band)
                try consume(band: band, index: index)
            }
            try reader.finish()
        }
        if turns {
            for (plane, p) in output.planes.enumerated() {
                let upright = try Image(width: stored[plane].width, height: stored[plane].height, format: .gray,
                                        pixels: collected[plane]).oriented(exif: orientation)
                precondition(upright.width == p.width && upright.height == p.height, "turned plane size")
                collected[plane] = upright.pixels
            }
            for index in 0..<output.bands {
                for (plane, p) in output.planes.enumerated() {
                    let first = index * p.bandRows
                    for r in 0..<min(p.bandRows, max(0, p.height - first)) {
                        collected[plane].withUnsafeBufferPointer { pixels in
                            (band + p.offset + r * p.stride).copyMemory(from: pixels.baseAddress! + (first + r) * p.width,
                                                                        byteCount: p.width)
                        }
                    }
                }
                try writer.writeBand(band)
            }
            return
        }
        guard assembler.bandsWritten == output.bands else {
            throw CodecError(.invalidArgument, "only \(assembler.bandsWritten) of \(output.bands) bands were produced")
        }
    }
}

/// Collects output rows of each plane into encoder bands and writes every band once all its planes
/// are complete. Planes advance at different paces (a chroma row completes after more luma rows), so a
/// few bands may be open at once; finished buffers are reused.
private final class BandAssembler {
    let writer: JPEGPlanarWriter
    let layout: JPEGPlaneLayout
    private(set) var bandsWritten = 0
    private var open: [UnsafeMutableRawPointer] = []   // bands bandsWritten, bandsWritten + 1, …
    private var spare: [UnsafeMutableRawPointer] = []
    private var rows: [Int]                              // rows added per plane

    init(writer: JPEGPlanarWriter) {
        self.writer = writer
        layout = writer.layout
        rows = Array(repeating: 0, count: writer.layout.planes.count)
    }

    func release() {
        for buffer in open + spare { buffer.deallocate() }
        open = []
        spare = []
    }

    func add(plane: Int, row: UnsafePointer<UInt8>) throws {
        let p = layout.planes[plane]
        let k = rows[plane]
        guard k < p.height else { return }
        let slot = k / p.bandRows - bandsWritten
        while open.count <= slot {
            open.append(spare.popLast() ?? UnsafeMutableRawPointer.allocate(byteCount: layout.bandBytes, alignment: 64))
        }
        let target = open[slot] + p.offset + (k % p.bandRows) * p.stride
        target.copyMemory(from: row, byteCount: p.width)
        rows[plane] = k + 1
        while let first = open.first, bandComplete(bandsWritten) {
            try writer.writeBand(first)
            bandsWritten += 1
            spare.append(open.removeFirst())
        }
    }

    private func bandComplete(_ band: Int) -> Bool {
        for (plane, p) in layout.planes.enumerated() where rows[plane] < min((band + 1) * p.bandRows, p.height) {
            return false
        }
        return band < layout.bands
    }
}
