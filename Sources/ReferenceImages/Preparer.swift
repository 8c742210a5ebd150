import ImageCodecs
import ImageCore

/// Turns a JPEG or PNG into one the image API accepts, with the least damage, and says what it did.
///
/// The steps, each taken only when needed, in this order:
/// 1. refuse what no fix can cure (not JPEG/PNG, undecodable, over the pixel limit), from the header
///    and then from the one decode (or, for a copy, one verify pass) the file needs anyway;
/// 2. copy the file unchanged when it already passes and nothing must change, after removing
///    metadata losslessly by rewriting JPEG segments / PNG chunks;
/// 3. otherwise decode (JPEG shrink-on-load at the smallest M/8 that still covers the target size),
///    apply the EXIF orientation, crop, resample, pad;
/// 4. encode, flattening transparency for JPEG, searching JPEG quality (then dimensions) for the best
///    quality under the byte budget. The ICC profile is carried over; EXIF, XMP and text are not.
public struct ReferenceImagePreparer: Sendable {
    /// The options every ``prepare(bytes:name:)`` call uses.
    public var options: PrepareOptions

    public init(options: PrepareOptions = .init()) {
        self.options = options
    }

    /// The lowest JPEG quality the byte-budget search tries before it shrinks the image instead.
    static let qualityFloor = 60

    /// Prepares one image.
    /// - Parameters:
    ///   - bytes: the file's contents.
    ///   - name: the file name, used in messages only (never to guess the format).
    /// - Returns: the output bytes, the actions taken and the output size.
    /// - Throws: ``PrepareError`` with the rule that cannot be fixed: `unsupported-format`, `corrupt`,
    ///   `too-many-pixels`, or `file-size` when even the minimum size does not fit the byte budget.
    public func prepare(bytes: consuming [UInt8], name: String) throws -> PreparedImage {
        let options = self.options
        // Header facts only here; decodability is proven by the full decode when pixels change, or by
        // a verify pass (JPEG at 1/8 scale) when the file is copied. Never both.
        guard let format = ImageCodecs.sniff(bytes) else {
            // HEIF/HEIC, AVIF, WebP: converted (PrepareConvertible.swift).
            if let convertible = ImageCodecs.sniffConvertible(bytes) { return try prepareConvertible(bytes, format: convertible) }
            throw PrepareError(.unsupportedFormat, "not a JPEG, PNG, HEIF, AVIF or WebP (by content)")
        }
        // An animated PNG: its default image as a still (PrepareConvertible.swift).
        if format == .png, let animation = ImageCodecs.pngAnimation(bytes) { return try prepareAnimatedPNG(bytes, animation: animation) }
        let header: ImageHeader
        do {
            header = try ImageCodecs.probe(bytes, options: DecodeOptions(maxPixels: .max))
        } catch let error as CodecError {
            throw PrepareError(.corrupt, "unreadable \(format) header: \(error.message)")
        }
        let (pixelCount, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        if overflow || pixelCount > options.rules.maxPixels {
            throw PrepareError(.tooManyPixels, "\(header.width)x\(header.height) is more than the limit of \(options.rules.maxPixels) pixels; not decoded")
        }
        let upright = Size(width: header.orientedWidth, height: header.orientedHeight)
        let plan = PreparePlan(upright: upright, options: options)
        let budget = options.effectiveMaxBytes
        let forced: ImageFormat? = switch options.format {
        case .jpeg: .jpeg
        case .png: .png
        case .auto: nil
        }
        func strip(_ bytes: [UInt8]) -> MetadataStripper.Result? {
            switch header.format {
            case .jpeg: MetadataStripper.stripJPEG(bytes)
            case .png: MetadataStripper.stripPNG(bytes)
            }
        }
        // Only the verdict is kept here, so no stripped copy of the file stays alive while decoding.
        // A JPEG's metadata sits before its first scan: no need to read the entropy-coded data for it.
        // A PNG's chunks are walked without copying the file.
        let metadata: Bool? = header.format == .jpeg ? MetadataStripper.jpegHeaderHasMetadata(bytes)
            : MetadataStripper.pngHasMetadata(bytes)
        let hasMetadata = metadata ?? false
        let strippable = !options.stripMetadata || metadata != nil
        // Converting to sRGB rewrites the pixels of any file carrying a profile (gray ones keep theirs).
        let convertsProfile = options.colorProfile == .sRGB && MetadataStripper.hasICCProfile(bytes)
            && !header.colorType.hasPrefix("gray")

        // Nothing about the pixels must change: copy, minus metadata.
        // A container the stripper cannot follow is re-encoded instead, so metadata never slips through.
        if header.orientation == 1 && !plan.changesPixels && (forced == nil || forced == header.format) && strippable
            && !convertsProfile {
            do {
                _ = try ImageCodecs.verify(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels))
            } catch let error as CodecError {
                throw Self.prepareError(error)
            }
            var out = copy bytes
            var actions: [String] = []
            // The full strip also drops data after the end-of-image marker (an appended preview).
            if options.stripMetadata, let stripped = strip(bytes), !stripped.removed.isEmpty {
                out = stripped.bytes
                actions.append("stripped metadata")
            }
            if out.count <= budget {
                return PreparedImage(encoded: EncodedImage(format: header.format, bytes: out), actions: actions,
                                     width: upright.width, height: upright.height)
            }
        }
        return try transform(bytes: consume bytes, header: header, plan: plan, forced: forced,
                             hadMetadata: hasMetadata || header.orientation != 1, convertsProfile: convertsProfile)
    }

    /// Decodes, fixes the geometry and encodes under the budget.
    private func transform(bytes: consuming [UInt8], header: ImageHeader, plan: PreparePlan, forced: ImageFormat?,
                           hadMetadata: Bool, convertsProfile: Bool) throws -> PreparedImage {
        let options = self.options
        // The streamed routes never see RGB pixels whole (the JPEG one not at all): colour conversion
        // takes the in-memory route.
        if !convertsProfile && header.format == .png && forced == .jpeg && header.orientation == 1 && !header.isProgressive
            && !plan.changesPixels,
            let streamed = try streamPNGToJPEG(bytes, hadMetadata: hadMetadata) {
            return streamed
        }
        if !convertsProfile && header.format == .jpeg && (forced == nil || forced == .jpeg)
            && !plan.isCropped && !plan.isPadded,
            let streamed = try streamJPEGResize(bytes, plan: plan, orientation: header.orientation, hadMetadata: hadMetadata) {
            return streamed
        }
        var actions: [String] = []
        let eighths = header.format == .jpeg ? plan.shrinkOnLoadEighths : 8
        // Only the pixels and the ICC profile are kept, so the decoded buffer is freed as soon as the
        // resized image replaces it (peak memory: one decoded image plus one output-sized image).
        var (image, icc) = try Self.decode(bytes, maxPixels: options.rules.maxPixels, eighths: eighths)
        _ = consume bytes  // the compressed input is not needed any more: free it before resizing
        let scaled = eighths < 8
        if scaled { actions.append("shrink-on-load \(PreparePlan.fraction(eighths: eighths))") }
        let orientation = header.orientation
        let swaps = (5...8).contains(orientation)

        // The plan is in full-resolution upright pixels; map it onto what was decoded.
        let decodedUpright = swaps ? Size(width: image.height, height: image.width) : image.size
        let fx = Double(decodedUpright.width) / Double(plan.upright.width)
        let fy = Double(decodedUpright.height) / Double(plan.upright.height)
        var region = plan.region
        if scaled {
            let x0 = Int((Double(region.x) * fx).rounded()), y0 = Int((Double(region.y) * fy).rounded())
            let x1 = min(decodedUpright.width, Int((Double(region.x + region.width) * fx).rounded()))
            let y1 = min(decodedUpright.height, Int((Double(region.y + region.height) * fy).rounded()))
            region = Rect(x: x0, y: y0, width: max(1, x1 - x0), height: max(1, y1 - y0))
        }
        let cropping = region != Rect(x: 0, y: 0, width: decodedUpright.width, height: decodedUpright.height)
        let shrinking = plan.content.width * plan.content.height < region.width * region.height

        if orientation != 1 && !cropping && shrinking {
            // Cheaper to turn the small image than the large one: resample in stored orientation first.
            let stored = swaps ? Size(width: plan.content.height, height: plan.content.width) : plan.content
            let before = decodedUpright
            image = image.resized(to: stored, filter: options.filter, threads: options.threads)
            image = image.oriented(exif: orientation)
            actions.append("oriented(\(orientation))")
            actions.append("resized \(before)->\(plan.content) \(options.filter)")
        } else {
            if orientation != 1 {
                image = image.oriented(exif: orientation)
                actions.append("oriented(\(orientation))")
            }
            if cropping {
                let before = image.size
                image = image.cropped(to: region)
                actions.append("cropped \(before)->\(image.size)")
            }
            if image.size != plan.content {
                let before = image.size
                image = image.resized(to: plan.content, filter: options.filter, threads: options.threads)
                actions.append("resized \(before)->\(plan.content) \(options.filter)")
            }
        }
        if plan.isPadded {
            let fill: PadFill = switch options.padStyle {
            case .color: .color(options.background)
            case .edge: .edge
            case .blur: .blur
            }
            let before = image.size
            image = image.padded(to: plan.canvas, at: (plan.originX, plan.originY), fill: fill)
            actions.append("padded \(before)->\(plan.canvas)" + (options.padStyle == .color ? "" : " \(options.padStyle.rawValue)"))
        }

        // A profile is only valid for pixels in its colour space: a CMYK profile does not describe the RGB
        // that libjpeg converted CMYK into, so it is dropped rather than mislabel the output.
        var profile = icc.flatMap { Self.profileMatches($0, gray: image.format.isGray) ? $0 : nil }
        if icc != nil && profile == nil { actions.append("dropped ICC profile (colour space does not match)") }
        if options.colorProfile == .sRGB, let source = profile, !image.format.isGray {
            // Converted after resizing: the same look for a quarter of the transform's work.
            do {
                try SRGBConverter(profile: source, format: image.format).convert(&image)
                actions.append("converted colours to sRGB (ICC profile)")
            } catch let error as CodecError {
                actions.append("dropped ICC profile (\(error.message))")
            }
            profile = nil
        }
        let (fitted, encodeActions) = try encode(consume image, source: header.format, forced: forced, icc: profile)
        actions += encodeActions
        if hadMetadata { actions.append("stripped metadata") }
        return PreparedImage(encoded: fitted.bytes, actions: actions, width: fitted.size.width, height: fitted.size.height)
    }

    /// PNG to JPEG with the geometry unchanged: rows go from libpng through the alpha flattening to
    /// libjpeg one at a time, so the decoded image is never held (peak memory: the input file, a few
    /// rows, the output). Byte-identical to the decode-flatten-encode path at the start quality.
    /// - Returns: `nil` when that encoding misses the byte budget (the caller then takes the full path,
    ///   which searches quality and size) or the PNG cannot be streamed.
    private func streamPNGToJPEG(_ bytes: borrowing [UInt8], hadMetadata: Bool) throws -> PreparedImage? {
        let options = self.options
        let settings = JPEGEncodeOptions(quality: options.startQuality, optimizeHuffman: options.optimizeHuffman)
        let result: TranscodedJPEG
        do {
            result = try ImageCodecs.transcodePNGToJPEG(copy bytes, background: options.background, options: settings,
                                                         decodeOptions: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            if error.code == .unsupported { return nil }
            throw Self.prepareError(error)
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
    private func streamJPEGResize(_ bytes: borrowing [UInt8], plan: PreparePlan, orientation: Int,
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
        var actions: [String] = []
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
            if orientation != 1 { actions.append("oriented(\(orientation))") }
            if eighths < 8 { actions.append("shrink-on-load \(PreparePlan.fraction(eighths: eighths))") }
            let decodedUpright = (5...8).contains(orientation)
                ? Size(width: streamed.decoded.height, height: streamed.decoded.width) : streamed.decoded
            if decodedUpright != plan.content { actions.append("resized \(decodedUpright)->\(plan.content) \(options.filter)") }
            if streamed.droppedICC { actions.append("dropped ICC profile (colour space does not match)") }
        } catch let error as CodecError {
            throw Self.prepareError(error)
        }
        guard encoded.bytes.count <= options.effectiveMaxBytes else { return nil }
        actions.append("re-encoded jpeg q=\(options.startQuality)")
        if hadMetadata { actions.append("stripped metadata") }
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

    private static func encoderError(_ error: CodecError) -> PrepareError {
        PrepareError(rule: "encode", message: "JPEG encoding failed: \(error.message)")
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
            throw Self.encoderError(error)
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
            throw Self.encoderError(error)
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

    /// An encoding that fits, with the image it encodes (its size may have been reduced).
    struct Fitted {
        var bytes: EncodedImage
        var size: Size
    }

    /// Chooses the output format and encodes under the byte budget.
    func encode(_ image: consuming Image, source: ImageFormat, forced: ImageFormat?, icc: [UInt8]?) throws -> (Fitted, [String]) {
        let transparent = image.hasTransparency
        let target: ImageFormat = forced ?? source
        if target == .jpeg {
            return try encodeJPEG(image, icc: icc, sourceFormat: source)
        }
        // PNG wanted (forced, or auto from a PNG source).
        if forced == nil && !transparent {
            // Auto: the smaller of JPEG and PNG, when there is no transparency to lose.
            let jpeg = try? encodeJPEG(copy image, icc: icc, sourceFormat: source)
            let png = try? encodePNG(image, icc: icc)
            switch (jpeg, png) {
            case let (j?, p?): return j.0.bytes.bytes.count < p.0.bytes.bytes.count ? j : p
            case let (j?, nil): return j
            case let (nil, p?): return p
            default: break
            }
        }
        if let png = try? encodePNG(image, icc: icc) { return png }
        if forced == nil { return try encodeJPEG(copy image, icc: icc, sourceFormat: source) }
        return try encodePNG(image, icc: icc)
    }

    /// JPEG: flatten, then the best quality ≤ the start quality that fits; below the quality floor,
    /// shrink the image (never under the minimum side) and search again.
    private func encodeJPEG(_ input: consuming Image, icc: [UInt8]?, sourceFormat: ImageFormat) throws -> (Fitted, [String]) {
        let options = self.options
        var actions: [String] = []
        var image = consume input
        if image.format.hasAlpha {
            let transparent = image.hasTransparency
            image = (consume image).flattened(background: options.background)
            if transparent { actions.append("flattened alpha onto \(Self.hex(options.background))") }
        }
        if sourceFormat != .jpeg { actions.append("converted \(sourceFormat.rawValue)->jpeg") }
        let budget = options.effectiveMaxBytes
        let start = options.startQuality
        let floor = min(Self.qualityFloor, start)
        func encode(_ image: Image, _ quality: Int, optimize: Bool = true) throws -> EncodedImage {
            do {
                let settings = JPEGEncodeOptions(quality: quality, optimizeHuffman: optimize, iccProfile: icc)
                return try ImageCodecs.encodeJPEG(image, options: settings)
            } catch let error as CodecError {
                throw PrepareError(rule: "encode", message: "JPEG encoding failed: \(error.message)")
            }
        }
        let base = image
        var current = image
        while true {
            var best: (EncodedImage, Int)?
            // Standard Huffman tables first: a third of the encoding time, a few per cent larger.
            // Only when that misses the budget does the search pay for optimised tables.
            let quick = try encode(current, start, optimize: options.optimizeHuffman)
            let first = quick.bytes.count <= budget ? quick : try encode(current, start)
            if first.bytes.count <= budget {
                best = (first, start)
            } else {
                let low = try encode(current, floor)
                if low.bytes.count <= budget {
                    best = (low, floor)
                    // Binary search the highest quality in (floor, start) that fits.
                    var lo = floor + 1, hi = start - 1
                    while lo <= hi {
                        let mid = (lo + hi) / 2
                        let candidate = try encode(current, mid)
                        if candidate.bytes.count <= budget {
                            best = (candidate, mid)
                            lo = mid + 1
                        } else {
                            hi = mid - 1
                        }
                    }
                } else {
                    // Shrink by the square root of the overshoot, with a margin, and search again.
                    let factor = (Double(budget) / Double(low.bytes.count)).squareRoot() * 0.95
                    let next = PreparePlan.shrunk(current.size, by: factor, minSide: options.effectiveMinSide,
                                                  maxAspect: options.rules.maxAspect)
                    guard next.width * next.height < current.width * current.height else {
                        throw PrepareError(.fileSize, "JPEG at \(current.size) and quality \(floor) is \(low.bytes.count) bytes, over the \(budget)-byte budget, and the image cannot shrink further")
                    }
                    actions.append("resized \(current.size)->\(next) \(options.filter) to fit \(budget) bytes")
                    current = base.resized(to: next, filter: options.filter, threads: options.threads)
                    continue
                }
            }
            let (bytes, quality) = best!
            actions.append("re-encoded jpeg q=\(quality)")
            return (Fitted(bytes: bytes, size: current.size), actions)
        }
    }

    /// PNG: compression level 6, then 9, then shrink the image and try again.
    private func encodePNG(_ input: Image, icc: [UInt8]?) throws -> (Fitted, [String]) {
        let options = self.options
        let budget = options.effectiveMaxBytes
        var actions: [String] = []
        var current = input
        func encode(_ image: Image, _ level: Int) throws -> EncodedImage {
            do {
                return try ImageCodecs.encodePNG(image, options: PNGEncodeOptions(compressionLevel: level, iccProfile: icc))
            } catch let error as CodecError {
                throw PrepareError(rule: "encode", message: "PNG encoding failed: \(error.message)")
            }
        }
        while true {
            var out = try encode(current, 6)
            if out.bytes.count > budget { out = try encode(current, 9) }
            if out.bytes.count <= budget {
                actions.append("re-encoded png")
                return (Fitted(bytes: out, size: current.size), actions)
            }
            let factor = (Double(budget) / Double(out.bytes.count)).squareRoot() * 0.95
            let next = PreparePlan.shrunk(current.size, by: factor, minSide: options.effectiveMinSide,
                                          maxAspect: options.rules.maxAspect)
            guard next.width * next.height < current.width * current.height else {
                throw PrepareError(.fileSize, "PNG at \(current.size) is \(out.bytes.count) bytes, over the \(budget)-byte budget, and the image cannot shrink further")
            }
            actions.append("resized \(current.size)->\(next) \(options.filter) to fit \(budget) bytes")
            current = input.resized(to: next, filter: options.filter, threads: options.threads)
        }
    }

    private static func decode(_ bytes: [UInt8], maxPixels: Int, eighths: Int) throws -> (Image, [UInt8]?) {
        do {
            var options = DecodeOptions(maxPixels: maxPixels)
            if eighths < 8 { options.jpegScaleEighths = eighths }
            let decoded = try ImageCodecs.decode(bytes, options: options)
            return (decoded.image, decoded.iccProfile)
        } catch let error as CodecError {
            throw prepareError(error)
        }
    }

    /// Whether an ICC profile's data colour space (header bytes 16...19) is `RGB ` or `GRAY` as the pixels are.
    static func profileMatches(_ profile: [UInt8], gray: Bool) -> Bool {
        guard profile.count >= 128 else { return false }
        let space = String(decoding: profile[16..<20], as: UTF8.self)
        return space == (gray ? "GRAY" : "RGB ")
    }

    static func hex(_ color: Color) -> String {
        func h(_ v: UInt8) -> String { let s = String(v, radix: 16); return s.count == 1 ? "0" + s : s }
        return "#" + h(color.red) + h(color.green) + h(color.blue)
    }

    static func prepareError(_ error: CodecError) -> PrepareError {
        switch error.code {
        case .tooManyPixels: return PrepareError(.tooManyPixels, error.message)
        case .unsupportedFormat: return PrepareError(.unsupportedFormat, error.message)
        case .unsupported: return PrepareError(.unsupportedFormat, "a variant that cannot be decoded: \(error.message)")
        default: return PrepareError(.corrupt, "does not decode: \(error.message)")
        }
    }
}
