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
    /// `writer` fixes the output size; `reader` the (DCT-scaled) source size. Both must carry the same
    /// planes: one (gray) or three (YCbCr).
    /// - Parameter prefetch: decode on a second thread, overlapping everything after it (worth it on
    ///   two or more cores).
    /// - Throws: ``CodecError`` from either side (the decoder's, e.g. `.corrupt`, wins when both fail);
    ///   `.invalidArgument` when the plane counts differ.
    public static func run(from reader: JPEGPlanarReader, to writer: JPEGPlanarWriter,
                           filter: ResampleFilter = .lanczos3, prefetch: Bool = false) throws {
        let input = reader.layout, output = writer.layout
        guard input.planes.count == output.planes.count else {
            throw CodecError(.invalidArgument, "\(input.planes.count) planes cannot be encoded as \(output.planes.count)")
        }
        let assembler = BandAssembler(writer: writer)
        defer { assembler.release() }
        let ratioX = Double(reader.width) / Double(writer.width)
        let ratioY = Double(reader.height) / Double(writer.height)
        let feeds: [RowFeedResampler?] = zip(input.planes, output.planes).map { source, target in
            let scaleX = ratioX * Double(target.subsampleX) / Double(source.subsampleX)
            let scaleY = ratioY * Double(target.subsampleY) / Double(source.subsampleY)
            if source.width == target.width && source.height == target.height && scaleX == 1 && scaleY == 1 {
                return nil  // the DCT scale landed on the stored size: the rows pass through
            }
            return RowFeedResampler(from: Size(width: source.width, height: source.height),
                                    to: Size(width: target.width, height: target.height),
                                    format: .gray, filter: filter, scaleX: scaleX, scaleY: scaleY)
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
                        try feed.push(row) { try assembler.add(plane: plane, row: $0) }
                    } else {
                        try assembler.add(plane: plane, row: row)
                    }
                }
            }
        }

        if prefetch {
            let ahead = RowPrefetcher(rowBytes: input.bandBytes, rows: input.bands, bandRows: 1, bands: 6,
                                      produce: { band, _, _ in try reader.readBand(into: UnsafeMutableRawPointer(band)) },
                                      completion: { try reader.finish() })
            let band = UnsafeMutableRawPointer.allocate(byteCount: input.bandBytes, alignment: 64)
            defer { band.deallocate() }
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
            let band = UnsafeMutableRawPointer.allocate(byteCount: input.bandBytes, alignment: 64)
            defer { band.deallocate() }
            for index in 0..<input.bands {
                try reader.readBand(into: band)
                try consume(band: band, index: index)
            }
            try reader.finish()
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
