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
            result = try ImageCodecs.transcodePNGToJPEG(copy bytes, background: options.background, options: settings,
                                                         decodeOptions: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            if error.code == .unsupported { return nil }
            throw PrepareError.decoding(error)
        }
        guard result.encoded.bytes.count <= options.effectiveMaxBytes else { return nil }
        return Self.transcodedResult(result, options: options, hadMetadata: hadMetadata)
    }

    /// JPEG in, JPEG out, only the size changing: rows go from libjpeg (shrink-on-load at M/8) through
    /// the streaming resampler into libjpeg's compressor, so neither the decoded nor the resized image is
    /// ever held (peak memory: the input file, a filter window of rows, the output). Byte-identical to
    /// the decode-resize-encode path at the start quality.
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
            if streamed.droppedICC { actions.append(.profileMismatch) }
        } catch let error as CodecError {
            throw PrepareError.decoding(error)
        }
        guard encoded.bytes.count <= options.effectiveMaxBytes else { return nil }
        actions.append(.reencodedJPEG(quality: options.startQuality))
        if hadMetadata { actions.append(.strippedMetadata) }
        return PreparedImage(encoded: encoded, actions: actions, width: plan.content.width, height: plan.content.height)
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

    /// Any other JPEG (RGB, CMYK, YCCK): RGB rows through the row resampler.
    private func rowResize(_ reader: JPEGRowReader, plan: PreparePlan, prefetch: Bool) throws -> StreamedJPEG {
        let decoded = Size(width: reader.width, height: reader.height)
        let (settings, dropped) = streamSettings(icc: reader.iccProfile, gray: reader.format.isGray)
        let writer: JPEGMemoryWriter
        do {
            writer = try JPEGMemoryWriter(width: plan.content.width, height: plan.content.height,
                                          format: reader.format, options: settings)
        } catch let error as CodecError {
            throw PrepareError.encoding(.jpeg, error)
        }
        let ch = reader.format.channels
        let inStride = decoded.width * ch, outStride = plan.content.width * ch
        let resampler = RowStreamResampler(from: decoded, to: plan.content, format: reader.format, filter: options.filter)
        if prefetch {
            let ahead = RowPrefetcher(
                rowBytes: inStride, rows: decoded.height,
                produce: { rows, stride, count in try reader.read(into: rows, stride: stride, count: count) },
                completion: { try reader.finish() })  // the rest must decode too, through EOI
            do {
                // (When the DCT scale lands on the target, the weights are the identity.)
                try resampler.run(read: { try ahead.next(into: $0) }, write: { try writer.write(rows: $0, stride: outStride) })
            } catch {
                try? ahead.finish()  // join the decoder before it and the reader go away
                throw error
            }
            try ahead.finish()
        } else {
            try resampler.run(read: { try reader.read(into: $0, stride: inStride) },
                              write: { try writer.write(rows: $0, stride: outStride) })
            try reader.finish()  // the rest of the stream must decode too, through EOI
        }
        return StreamedJPEG(encoded: try writer.finish(), decoded: decoded, droppedICC: dropped)
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
