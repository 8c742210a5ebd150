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

    /// Prepares one image.
    /// - Parameters:
    ///   - bytes: the file's contents.
    ///   - name: the file name, used in messages only (never to guess the format).
    /// - Returns: the output bytes, the actions taken and the output size.
    /// - Throws: ``PrepareError`` with the rule that cannot be fixed: `unsupported-format`, `corrupt`,
    ///   `too-many-pixels`, or `file-size` when even the minimum size does not fit the byte budget.
    public func prepare(bytes: consuming [UInt8], name: String) throws -> PreparedImage {
        let options = self.options
        if let error = options.outputLimitError { throw error }
        // Header facts only here; decodability is proven by the full decode when pixels change, or by
        // a verify pass (JPEG at 1/8 scale) when the file is copied. Never both.
        guard let format = ImageCodec.sniff(bytes) else {
            // HEIF/HEIC, AVIF, WebP: converted (PrepareConvertible.swift).
            if let convertible = ImageCodec.sniffConvertible(bytes) { return try prepareConvertible(bytes, format: convertible) }
            throw PrepareError(.unsupportedFormat, "not a JPEG, PNG, HEIF, AVIF or WebP (by content)")
        }
        // An animated PNG: its default image as a still (PrepareConvertible.swift).
        if format == .png, let animation = ImageCodec.pngAnimation(bytes) { return try prepareAnimatedPNG(bytes, animation: animation) }
        let header: ImageHeader
        do {
            header = try ImageCodec.probe(bytes, options: DecodeOptions(maxPixels: .max))
        } catch let error as CodecError {
            throw PrepareError(.corrupt, "unreadable \(format) header: \(error.message)")
        }
        let (pixelCount, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        if overflow || pixelCount > options.rules.maxPixels {
            throw PrepareError(.tooManyPixels, "\(header.width)x\(header.height) is more than the limit of \(options.rules.maxPixels) pixels; not decoded")
        }
        let upright = Size(width: header.orientedWidth, height: header.orientedHeight)
        let plan = PreparePlan(upright: upright, options: options)
        try plan.checkOutputLimit(options)
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
            && !header.colorType.isGray

        // Nothing about the pixels must change: copy, minus metadata.
        // A container the stripper cannot follow is re-encoded instead, so metadata never slips through.
        if header.orientation == 1 && !plan.changesPixels && (forced == nil || forced == header.format) && strippable
            && !convertsProfile {
            var out = copy bytes
            var actions: [PrepareAction] = []
            // The full strip also drops data after the end-of-image marker (an appended preview).
            if options.stripMetadata, let stripped = strip(bytes), !stripped.removed.isEmpty {
                out = stripped.bytes
                actions.append(.strippedMetadata)
            }
            // A copy over the budget is re-encoded below, whose decode proves decodability: verify
            // only the copy that is kept.
            if out.count <= budget {
                do {
                    _ = try ImageCodec.verify(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels))
                } catch let error as CodecError {
                    throw PrepareError.decoding(error)
                }
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
        if !convertsProfile && streamsPNG(header, plan: plan),
            let streamed = try streamPNGGeometry(bytes, plan: plan, forced: forced, hadMetadata: hadMetadata) {
            return streamed
        }
        if !convertsProfile && header.format == .jpeg && (forced == nil || forced == .jpeg)
            && !plan.isCropped && (!plan.isPadded || (options.padStyle == .color && header.orientation == 1)),
            let streamed = try streamJPEGResize(bytes, plan: plan, orientation: header.orientation, hadMetadata: hadMetadata) {
            return streamed
        }
        var actions: [PrepareAction] = []
        let eighths = header.format == .jpeg ? plan.shrinkOnLoadEighths : 8
        // Only the pixels and the ICC profile are kept, so the decoded buffer is freed as soon as the
        // resized image replaces it (peak memory: one decoded image plus one output-sized image).
        var (image, icc) = try Self.decode(bytes, maxPixels: options.rules.maxPixels, eighths: eighths)
        _ = consume bytes  // the compressed input is not needed any more: free it before resizing
        let scaled = eighths < 8
        if scaled { actions.append(.shrinkOnLoad(eighths: eighths)) }
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
            actions.append(.oriented(orientation))
            actions.append(.resized(from: before, to: plan.content, filter: options.filter))
            pad(&image, plan: plan, actions: &actions)
        } else {
            if orientation != 1 {
                image = image.oriented(exif: orientation)
                actions.append(.oriented(orientation))
            }
            applyGeometry(&image, region: cropping ? region : nil, plan: plan, actions: &actions)
        }

        // A profile is only valid for pixels in its colour space: a CMYK profile does not describe the RGB
        // that libjpeg converted CMYK into, so it is dropped rather than mislabel the output.
        var profile = icc.flatMap { Self.profileMatches($0, gray: image.format.isGray) ? $0 : nil }
        if icc != nil && profile == nil { actions.append(.profileMismatch) }
        if options.colorProfile == .sRGB, let source = profile, !image.format.isGray {
            // Converted after resizing: the same look for a quarter of the transform's work.
            do {
                try SRGBConverter(profile: source, format: image.format).convert(&image)
                actions.append(.convertedToSRGB)
            } catch let error as CodecError {
                actions.append(.droppedICCProfile(reason: error.message))
            }
            profile = nil
        }
        let (fitted, encodeActions) = try encode(consume image, source: header.format, forced: forced, icc: profile)
        actions += encodeActions
        if hadMetadata { actions.append(.strippedMetadata) }
        return PreparedImage(encoded: fitted.bytes, actions: actions, width: fitted.size.width, height: fitted.size.height)
    }

    private static func decode(_ bytes: [UInt8], maxPixels: Int, eighths: Int) throws -> (Image, [UInt8]?) {
        do {
            var options = DecodeOptions(maxPixels: maxPixels)
            if eighths < 8 { options.jpegScaleEighths = eighths }
            let decoded = try ImageCodec.decode(bytes, options: options)
            return (decoded.image, decoded.iccProfile)
        } catch let error as CodecError {
            throw PrepareError.decoding(error)
        }
    }

    /// Whether an ICC profile's data colour space (header bytes 16...19) is `RGB ` or `GRAY` as the pixels are.
    static func profileMatches(_ profile: [UInt8], gray: Bool) -> Bool {
        guard profile.count >= 128 else { return false }
        let space = String(decoding: profile[16..<20], as: UTF8.self)
        return space == (gray ? "GRAY" : "RGB ")
    }
}
