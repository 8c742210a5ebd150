import ImageCodecs
import ImageCore

/// The streamed PNG route: a PNG whose geometry changes (cropped, resampled, padded with a flat colour)
/// is decoded row by row through the streaming resampler onto canvas rows and into the encoders the
/// in-memory route would try, so neither the decoded, the resized nor the padded image is ever held.
extension ReferenceImagePreparer {
    /// PNGs whose decoded image and output canvas both hold at most this many pixels take the in-memory
    /// route instead, whose resampler uses every core (the streamed one runs on one); both give the same
    /// bytes. Above it the decoded image or the canvas (1–4 bytes a pixel) is what the streamed route
    /// saves: 8 MP is at most 32 MB. (A 1×1,000,000 PNG is small decoded, but its padded canvas is 100 MP.)
    static let streamedPNGMinPixels = 8_000_000

    /// Whether a PNG's preparation can take ``streamPNGGeometry(_:plan:forced:hadMetadata:)``: upright
    /// (the rows cannot be turned on the way), not interlaced (Adam7 rows arrive out of order), any pad a
    /// flat colour (edge and blur pads need the whole picture), and large enough to be worth it.
    func streamsPNG(_ header: ImageHeader, plan: PreparePlan) -> Bool {
        header.format == .png && header.orientation == 1 && !header.isProgressive
            && (!plan.isPadded || options.padStyle == .color)
            && max(header.width.multipliedReportingOverflow(by: header.height).partialValue,
                   plan.canvas.width * plan.canvas.height) > Self.streamedPNGMinPixels
    }

    /// PNG in, geometry changed, encoded at the first setting the in-memory route tries: JPEG at the start
    /// quality (rows flattened onto the background) unless PNG is forced, PNG at zlib level 6 unless JPEG
    /// is forced; with both (automatic format) the JPEG unless the PNG is smaller, or the PNG when some output pixel is transparent.
    /// Byte-identical to the in-memory route when that first setting fits the budget (one exception: an
    /// opaque PNG more than twice the JPEG's size a 32nd of the way down, yet smaller at the end, is
    /// given up here and kept there).
    ///
    /// Peak memory: the compressed input, one source row, the resampler's window of float rows, one
    /// canvas row and the outputs as they grow.
    /// - Returns: `nil` when an encoding the choice needs misses the byte budget (the in-memory route then
    ///   searches quality and size) or the PNG cannot be streamed.
    /// - Throws: ``PrepareError`` `corrupt` for damage anywhere through IEND, as a whole decode does.
    func streamPNGGeometry(_ bytes: borrowing [UInt8], plan: PreparePlan, forced: ImageFormat?,
                           hadMetadata: Bool) throws -> PreparedImage? {
        let options = self.options
        let reader: PNGRowReader
        do {
            reader = try PNGRowReader(copy bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            if error.code == .unsupported { return nil }
            throw PrepareError.decoding(error)
        }
        let format = reader.format
        // A profile is kept only for pixels in its colour space, as the in-memory route decides.
        let profile = reader.iccProfile.flatMap { Self.profileMatches($0, gray: format.isGray) ? $0 : nil }
        let tee = try EncoderTee(canvas: plan.canvas, format: format, forced: forced, profile: profile, options: options)

        let region = plan.region
        let regionSize = Size(width: region.width, height: region.height)
        let ch = format.channels
        let sourceBytes = reader.width * ch
        let source = UnsafeMutablePointer<UInt8>.allocate(capacity: sourceBytes)
        defer { source.deallocate() }
        func nextRow() throws {
            do { try reader.read(into: source, stride: sourceBytes) } catch let error as CodecError {
                throw PrepareError.decoding(error)
            }
        }
        let kept = source + region.x * ch   // the region's part of each source row
        let output = PaddedRows(plan: plan, format: format, color: options.background) { try tee.write($0) }
        try output.top()
        for _ in 0..<region.y { try nextRow() }
        if regionSize == plan.content {
            for _ in 0..<region.height {
                try nextRow()
                try output.write(kept)
            }
        } else {
            let resampler = RowStreamResampler(from: regionSize, to: plan.content, format: format, filter: options.filter)
            try resampler.run(read: { row in
                try nextRow()
                row.update(from: kept, count: region.width * ch)
            }, write: { try output.write($0) })
        }
        try output.bottom()
        do { try reader.finish() } catch let error as CodecError {  // the rest must decode too, through IEND
            throw PrepareError.decoding(error)
        }

        // The actions in the in-memory route's order: geometry, profile, encoding, metadata.
        var actions: [PrepareAction] = []
        if plan.isCropped { actions.append(.cropped(from: plan.upright, to: regionSize)) }
        if regionSize != plan.content { actions.append(.resized(from: regionSize, to: plan.content, filter: options.filter)) }
        if plan.isPadded { actions.append(.padded(from: plan.content, to: plan.canvas, style: options.padStyle)) }
        if reader.iccProfile != nil && profile == nil { actions.append(.profileMismatch) }
        guard let (encoded, encodeActions) = try tee.choose() else { return nil }
        actions += encodeActions
        if hadMetadata { actions.append(.strippedMetadata) }
        return PreparedImage(encoded: encoded, actions: actions, width: plan.canvas.width, height: plan.canvas.height)
    }

    /// The canvas rows go to a JPEG and a PNG encoder at once (either may be absent), so the format
    /// can be chosen as the in-memory route chooses it without holding the pixels: JPEG rows are
    /// flattened onto the background on the way, and transparency is noted as the rows pass.
    private final class EncoderTee {
        private let jpeg: JPEGMemoryWriter?
        private var png: PNGMemoryWriter?   // nil: not wanted, or given up past the budget
        private let forced: ImageFormat?
        private let format: PixelFormat
        private let rowBytes: Int
        private let width: Int
        private let background: Color
        private let budget: Int, startQuality: Int
        private var transparent = false
        private let height: Int
        private var rows = 0
        /// Optimised Huffman tables: the JPEG emits nothing until the end, so its size so far says nothing.
        private let deferredJPEG: Bool

        init(canvas: Size, format: PixelFormat, forced: ImageFormat?, profile: [UInt8]?, options: PrepareOptions) throws {
            self.forced = forced
            self.format = format
            width = canvas.width
            height = canvas.height
            deferredJPEG = options.optimizeHuffman
            rowBytes = canvas.width * format.channels
            background = options.background
            budget = options.effectiveMaxBytes
            startQuality = options.startQuality
            // The in-memory route tries JPEG only when it is forced or the format is automatic (and then
            // skips it for transparent output, known at the end), PNG unless JPEG is forced. An encoder
            // that cannot take the size (JPEG past 65,500 px) is left out, as the in-memory `try?` does.
            var jpeg: JPEGMemoryWriter?
            if forced != .png {
                do {
                    jpeg = try JPEGMemoryWriter(width: canvas.width, height: canvas.height, format: format.isGray ? .gray : .rgb,
                                                options: JPEGEncodeOptions(quality: options.startQuality,
                                                                           optimizeHuffman: options.optimizeHuffman,
                                                                           iccProfile: profile))
                } catch let error as CodecError {
                    if forced == .jpeg { throw PrepareError.encoding(.jpeg, error) }
                }
            }
            var png: PNGMemoryWriter?
            if forced != .jpeg {
                do {
                    png = try PNGMemoryWriter(width: canvas.width, height: canvas.height, format: format,
                                              options: PNGEncodeOptions(compressionLevel: 6, iccProfile: profile))
                } catch let error as CodecError {
                    if forced == .png || jpeg == nil { throw PrepareError.encoding(.png, error) }
                }
            }
            self.jpeg = jpeg
            self.png = png
        }

        /// One canvas row (`canvas.width × channels` bytes) to each encoder.
        func write(_ row: UnsafePointer<UInt8>) throws {
            let ch = format.channels
            if format.hasAlpha && !transparent {
                var i = ch - 1
                while i < rowBytes {
                    if row[i] != 255 { transparent = true; break }
                    i += ch
                }
            }
            do {
                try png?.write(rows: row, stride: rowBytes)
                rows += 1
                if let written = png?.bytesWritten {
                    // A PNG past the budget can be chosen by no route: stop paying for it.
                    if written > budget { png = nil }
                    // Automatic and opaque so far, the PNG is kept only if it ends smaller than the JPEG:
                    // one more than twice the JPEG's size a 32nd of the way down is given up (the
                    // in-memory route, which has the whole JPEG first, gives up at its exact size).
                    else if forced == nil && !transparent && rows * 32 >= height && written > 262_144,
                            let jpeg, !deferredJPEG, written > 2 * jpeg.bytesWritten { png = nil }
                }
            } catch let error as CodecError {
                throw PrepareError.encoding(.png, error)
            }
            guard let jpeg else { return }
            do {
                if format.hasAlpha {
                    // The in-memory route's own flattening, on a one-row image: the same samples.
                    let line = Image(validWidth: width, height: 1, format: format,
                                     pixels: Array(UnsafeBufferPointer(start: row, count: rowBytes)))
                        .flattened(background: background)
                    try line.pixels.withUnsafeBufferPointer { try jpeg.write(rows: $0.baseAddress!, stride: $0.count) }
                } else {
                    try jpeg.write(rows: row, stride: rowBytes)
                }
            } catch let error as CodecError {
                throw PrepareError.encoding(.jpeg, error)
            }
        }

        /// The output the in-memory route would pick, with its encoding actions, or `nil` when an
        /// encoding that choice needs misses the budget (the in-memory route would search further).
        func choose() throws -> (EncodedImage, [PrepareAction])? {
            let j: EncodedImage?, p: EncodedImage?
            do { j = try jpeg?.finish() } catch let error as CodecError { throw PrepareError.encoding(.jpeg, error) }
            do { p = try png?.finish() } catch let error as CodecError { throw PrepareError.encoding(.png, error) }
            var jpegActions: [PrepareAction] = transparent ? [.flattenedAlpha(onto: background)] : []
            jpegActions += [.converted(from: .png, to: .jpeg), .reencodedJPEG(quality: startQuality)]
            func fits(_ e: EncodedImage?) -> Bool { e.map { $0.bytes.count <= budget } ?? false }
            let asJPEG = fits(j) ? j.map { ($0, jpegActions) } : nil
            let asPNG = fits(p) ? p.map { ($0, [PrepareAction.reencodedPNG]) } : nil
            switch forced {
            case .jpeg?: return asJPEG
            case .png?: return asPNG
            case nil:
                if transparent { return asPNG }
                // As the in-memory route: the JPEG at the start quality, unless the PNG is smaller; no
                // JPEG at this size, the PNG; a JPEG over the budget needs the in-memory search (nil).
                if let jj = asJPEG {
                    if let pp = asPNG, pp.0.bytes.count < jj.0.bytes.count { return pp }
                    return jj
                }
                return jpeg == nil ? asPNG : nil
            }
        }
    }
}
