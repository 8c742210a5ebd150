import ImageCodecs
import ImageCore

/// The streamed routes: the decoded image is never held whole. Each returns `nil` when its one
/// encoding misses the byte budget (or the input cannot be streamed), and the caller takes the in-memory
/// route, which searches quality and size.
extension ReferenceImagePreparer {
    /// PNG to JPEG with the geometry unchanged: rows go from libpng through the alpha flattening to
    /// libjpeg one at a time, so the decoded image is never held (peak memory: the input file, a few
    /// rows, the output). Byte-identical to the decode-flatten-encode path at the start quality.
    /// - Returns: `nil` when that encoding misses the byte budget (the caller then takes the full path,
    ///   which searches quality and size) or the PNG cannot be streamed.
    func streamPNGToJPEG(_ bytes: borrowing [UInt8], hadMetadata: Bool) throws -> PreparedImage? {
        let options = self.options
        let settings = JPEGEncodeOptions(quality: options.startQuality, optimizeHuffman: options.optimizeHuffman)
        let result: TranscodedJPEG
        do {
            result = try ImageCodec.transcodePNGToJPEG(copy bytes, background: options.background, options: settings,
                                                         decodeOptions: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            if error.code == .unsupported { return nil }
            throw PrepareError.decoding(error)
        }
        guard result.encoded.bytes.count <= options.effectiveMaxBytes else { return nil }
        return Self.transcodedResult(result, options: options, hadMetadata: hadMetadata)
    }

    /// JPEG in, JPEG out, the size changing and a flat-colour pad added: rows go from libjpeg
    /// (shrink-on-load at M/8) through the streaming resampler, are placed on output-width rows of the pad
    /// colour (the top and bottom pad rows emitted around them), and go into libjpeg's compressor, so
    /// neither the decoded nor the resized nor the padded image is ever held (peak memory: the input file,
    /// a filter window of rows, the output). Byte-identical to the decode-resize-pad-encode path at the
    /// start quality when no resampling is needed; PSNR-equal otherwise.
    /// - Important: a pad needs RGB rows placed as they are: it takes the row route (not the planar one),
    ///   so the caller sends only upright, uncropped, `.color`-padded plans here.
    /// - Returns: `nil` when that encoding misses the byte budget: the caller then takes the full path,
    ///   which searches quality and size.
    func streamJPEGResize(_ bytes: borrowing [UInt8], plan: PreparePlan, orientation: Int,
                                  hadMetadata: Bool) throws -> PreparedImage? {
        let options = self.options
        // Only 1/8, 1/4 and 1/2 have SIMD IDCTs in libjpeg-turbo; 5/8 and friends decode slower than
        // full size, so the stream takes the nearest power of two at or above the target.
        let eighths = plan.shrinkOnLoadEighths(powersOfTwo: true)
        var decodeOptions = DecodeOptions(maxPixels: options.rules.maxPixels)
        if eighths < 8 { decodeOptions.jpegScaleEighths = eighths }
        // Decoding is over half the work and cannot be split; on a second core it overlaps the
        // resampling and encoding instead of preceding them.
        let prefetch = (options.threads ?? RowPrefetcher.processorCount) > 1
        var actions: [PrepareAction] = []
        let encoded: EncodedImage
        do {
            let streamed: StreamedJPEG
            do {
                // YCbCr planes cannot take an RGB pad colour as they are: a pad takes the row route.
                if plan.isPadded { throw CodecError(.unsupported, "a pad is placed on RGB rows") }
                let reader = try JPEGPlanarReader(copy bytes, options: decodeOptions)
                streamed = try planarResize(reader, plan: plan, orientation: orientation, prefetch: prefetch)
            } catch let error as CodecError where error.code == .unsupported {
                // RGB, CMYK or YCCK JPEG (or one the row decoder refuses too, with its own message).
                // Rows cannot be turned on the way: a photo lying on its side takes the in-memory route.
                guard orientation == 1 else { return nil }
                let reader = try JPEGRowReader(copy bytes, options: decodeOptions)
                streamed = try rowResize(reader, plan: plan, prefetch: prefetch)
            }
            encoded = streamed.encoded
            if orientation != 1 { actions.append(.oriented(orientation)) }
            if eighths < 8 { actions.append(.shrinkOnLoad(eighths: eighths)) }
            let decodedUpright = (5...8).contains(orientation)
                ? Size(width: streamed.decoded.height, height: streamed.decoded.width) : streamed.decoded
            if decodedUpright != plan.content { actions.append(.resized(from: decodedUpright, to: plan.content, filter: options.filter)) }
            if plan.isPadded { actions.append(.padded(from: plan.content, to: plan.canvas, style: options.padStyle)) }
            if streamed.droppedICC { actions.append(.profileMismatch) }
        } catch let error as CodecError {
            throw PrepareError.decoding(error)
        }
        guard encoded.bytes.count <= options.effectiveMaxBytes else { return nil }
        actions.append(.reencodedJPEG(quality: options.startQuality))
        if hadMetadata { actions.append(.strippedMetadata) }
        return PreparedImage(encoded: encoded, actions: actions, width: plan.canvas.width, height: plan.canvas.height)
    }

    /// What a streamed JPEG resize produced.
    private struct StreamedJPEG {
        var encoded: EncodedImage
        var decoded: Size
        var droppedICC: Bool
    }

    /// The encoder settings for a streamed resize, keeping the ICC profile when it fits the pixels.
    private func streamSettings(icc: [UInt8]?, gray: Bool) -> (JPEGEncodeOptions, dropped: Bool) {
        let profile = icc.flatMap { Self.profileMatches($0, gray: gray) ? $0 : nil }
        let settings = JPEGEncodeOptions(quality: options.startQuality, optimizeHuffman: options.optimizeHuffman,
                                         iccProfile: profile)
        return (settings, icc != nil && profile == nil)
    }

    /// YCbCr or gray JPEG: planes in, planes out (see ``PlanarJPEGResize``).
    private func planarResize(_ reader: JPEGPlanarReader, plan: PreparePlan, orientation: Int, prefetch: Bool) throws -> StreamedJPEG {
        let gray = reader.layout.planes.count == 1
        let (settings, dropped) = streamSettings(icc: reader.iccProfile, gray: gray)
        let writer: JPEGPlanarWriter
        do {
            writer = try JPEGPlanarWriter(width: plan.content.width, height: plan.content.height, gray: gray,
                                          options: settings)
        } catch let error as CodecError {
            throw PrepareError.encoding(.jpeg, error)
        }
        try PlanarJPEGResize.run(from: reader, to: writer, orientation: orientation, filter: options.filter,
                                 prefetch: prefetch)
        return StreamedJPEG(encoded: try writer.finish(), decoded: Size(width: reader.width, height: reader.height),
                            droppedICC: dropped)
    }

    /// Any other JPEG (RGB, CMYK, YCCK), and any padded one: RGB rows through the row resampler, placed
    /// on the canvas's rows when the plan pads (with `options.background`).
    private func rowResize(_ reader: JPEGRowReader, plan: PreparePlan, prefetch: Bool) throws -> StreamedJPEG {
        let decoded = Size(width: reader.width, height: reader.height)
        let (settings, dropped) = streamSettings(icc: reader.iccProfile, gray: reader.format.isGray)
        let writer: JPEGMemoryWriter
        do {
            writer = try JPEGMemoryWriter(width: plan.canvas.width, height: plan.canvas.height,
                                          format: reader.format, options: settings)
        } catch let error as CodecError {
            throw PrepareError.encoding(.jpeg, error)
        }
        let ch = reader.format.channels
        let inStride = decoded.width * ch
        let resampler = RowStreamResampler(from: decoded, to: plan.content, format: reader.format, filter: options.filter)
        let canvasBytes = plan.canvas.width * ch
        let output = PaddedRows(plan: plan, format: reader.format, color: options.background) {
            try writer.write(rows: $0, stride: canvasBytes)
        }
        try output.top()
        if prefetch {
            let ahead = RowPrefetcher(
                rowBytes: inStride, rows: decoded.height,
                produce: { rows, stride, count in try reader.read(into: rows, stride: stride, count: count) },
                completion: { try reader.finish() })  // the rest must decode too, through EOI
            do {
                // (When the DCT scale lands on the target, the weights are the identity.)
                try resampler.run(read: { try ahead.next(into: $0) }, write: { try output.write($0) })
            } catch {
                try? ahead.finish()  // join the decoder before it and the reader go away
                throw error
            }
            try ahead.finish()
        } else {
            try resampler.run(read: { try reader.read(into: $0, stride: inStride) },
                              write: { try output.write($0) })
            try reader.finish()  // the rest of the stream must decode too, through EOI
        }
        try output.bottom()
        return StreamedJPEG(encoded: try writer.finish(), decoded: decoded, droppedICC: dropped)
    }

    /// The canvas's rows, made as the content rows flow: `originY` rows of the pad colour, then each
    /// content row placed at `originX` on a row of the pad colour, then the rest of the pad rows, each
    /// canvas row (`canvas.width × channels` bytes, valid only during the call) handed to `sink`. The
    /// same pixels as ``ImageCore/Image/padded(to:at:fill:)`` with `.color`; one canvas row held.
    final class PaddedRows {
        private let plan: PreparePlan
        private let sink: (UnsafePointer<UInt8>) throws -> Void
        /// A row of the pad colour, and the row each content row is placed on.
        private let padRow: [UInt8]
        private var row: [UInt8]
        private let offset: Int, contentBytes: Int

        init(plan: PreparePlan, format: PixelFormat, color: Color, sink: @escaping (UnsafePointer<UInt8>) throws -> Void) {
            self.plan = plan
            self.sink = sink
            // Colour to samples as the in-memory pad makes them (gray from RGB, opaque alpha).
            padRow = plan.isPadded ? Image(validWidth: plan.canvas.width, height: 1, format: format, fill: color).pixels : []
            row = padRow
            offset = plan.originX * format.channels
            contentBytes = plan.content.width * format.channels
        }

        /// The pad rows above the content.
        func top() throws { try pad(rows: plan.originY) }

        /// The pad rows below the content.
        func bottom() throws { try pad(rows: plan.canvas.height - plan.content.height - plan.originY) }

        /// One content row (`content.width` pixels), placed and handed on.
        func write(_ content: UnsafePointer<UInt8>) throws {
            guard plan.isPadded else { return try sink(content) }
            try row.withUnsafeMutableBufferPointer { buf in
                (buf.baseAddress! + offset).update(from: content, count: contentBytes)
                try sink(buf.baseAddress!)
            }
        }

        private func pad(rows: Int) throws {
            guard rows > 0 else { return }
            try padRow.withUnsafeBufferPointer { buf in
                for _ in 0..<rows { try sink(buf.baseAddress!) }
            }
        }
    }

    /// What ``prepare(fileAt:maxInputBytes:)`` and ``prepare(bytes:name:)`` report for a transcode.
    static func transcodedResult(_ result: TranscodedJPEG, options: PrepareOptions, hadMetadata: Bool) -> PreparedImage {
        var actions: [PrepareAction] = []
        if result.iccProfileFound && !result.iccProfileEmbedded { actions.append(.profileMismatch) }
        if result.wasTransparent { actions.append(.flattenedAlpha(onto: options.background)) }
        actions.append(.converted(from: .png, to: .jpeg))
        actions.append(.reencodedJPEG(quality: options.startQuality))
        if hadMetadata { actions.append(.strippedMetadata) }
        return PreparedImage(encoded: result.encoded, actions: actions, width: result.width, height: result.height)
    }
}
