import ImageCodecs
import ImageCore

extension ReferenceImagePreparer {
    /// HEIF/HEIC, AVIF and WebP inputs: decoded upright (HEIF transformations or WebP EXIF orientation
    /// applied, the primary image or first frame), then the same geometry and encoding as JPEG/PNG inputs
    /// (crop or pad to the aspect band, Lanczos resize, byte-budget search). The output is JPEG, or PNG
    /// when the image has real transparency and ``PrepareOptions/format`` is `.auto`. Colours described by
    /// an ICC profile or a non-sRGB `nclx` box are converted to sRGB (after resizing), whatever
    /// ``PrepareOptions/colorProfile`` says: the profile would otherwise be lost with the container.
    func prepareConvertible(_ bytes: consuming [UInt8], format: ConvertibleFormat) throws -> PreparedImage {
        let options = self.options
        let header: ConvertibleHeader
        do {
            header = try ImageCodec.probeConvertible(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            throw Self.convertibleError(error, format: format)
        }
        let upright = Size(width: header.orientedWidth, height: header.orientedHeight)
        let plan = PreparePlan(upright: upright, options: options)
        let decoded: ConvertedImage
        do {
            // libheif's tile threads beside the caller's: none when prepare is told to use one thread.
            let threads = max(0, (options.threads ?? RowPrefetcher.processorCount) - 1)
            decoded = try ImageCodec.decodeConvertible(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels),
                                                        threads: threads)
        } catch let error as CodecError {
            throw Self.convertibleError(error, format: format)
        }
        _ = consume bytes
        var actions: [PrepareAction] = [.decoded(format)]
        actions += header.notes.filter { $0 != "alpha" && $0 != "lossy" && $0 != "lossless" }.map(PrepareAction.decoderNote)
        if header.orientation != 1 { actions.append(.oriented(header.orientation)) }
        if let warning = decoded.colorWarning { actions.append(.decoderNote(warning)) }
        return try finishDecoded(decoded.image, plan: plan, profile: decoded.iccProfile, source: format,
                                 actions: actions)
    }

    /// An animated PNG: its default image (what libpng and every non-APNG decoder shows) written as a
    /// still, through the same geometry and encoding as any PNG.
    func prepareAnimatedPNG(_ bytes: consuming [UInt8], animation: PNGAnimation) throws -> PreparedImage {
        let options = self.options
        let decoded: DecodedImage
        do {
            decoded = try ImageCodec.decode(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            throw PrepareError.decoding(error)
        }
        _ = consume bytes
        var image = decoded.image
        var actions: [PrepareAction] = [.stillFromAnimation(format: "png", frames: animation.frames)]
        if decoded.header.orientation != 1 {
            image = image.oriented(exif: decoded.header.orientation)
            actions.append(.oriented(decoded.header.orientation))
        }
        let plan = PreparePlan(upright: image.size, options: options)
        let profile = options.colorProfile == .sRGB ? decoded.iccProfile : nil
        var result = try finishDecoded(image, plan: plan, profile: profile, source: nil, actions: actions)
        if decoded.iccProfile != nil && profile == nil {
            result.actions.append(.droppedICCProfile(reason: "a still is written without it; --icc srgb converts instead"))
        }
        return result
    }

    /// Crop, resize, pad (as ``PreparePlan`` says), convert colours to sRGB when `profile` is set, encode.
    /// - Parameter source: the converted format, or `nil` for a PNG input, which keeps the PNG rules of
    ///   `--format auto` (smaller of PNG and JPEG when opaque); a converted format becomes JPEG unless the
    ///   image has real transparency.
    private func finishDecoded(_ input: Image, plan: PreparePlan, profile: [UInt8]?, source: ConvertibleFormat?,
                               actions start: [PrepareAction]) throws -> PreparedImage {
        let options = self.options
        var actions = start
        var image = input
        applyGeometry(&image, region: plan.isCropped ? plan.region : nil, plan: plan, actions: &actions)
        if let profile, !image.format.isGray {
            do {
                try SRGBConverter(profile: profile, format: image.format).convert(&image)
                actions.append(.convertedToSRGB)
            } catch let error as CodecError {
                actions.append(.keptDecodedColours(reason: error.message))
            }
        }
        let forced: ImageFormat? = switch options.format {
        case .jpeg: .jpeg
        case .png: .png
        case .auto: nil
        }
        let fitted: Fitted, encodeActions: [PrepareAction]
        if let source {
            let target = forced ?? (image.hasTransparency ? .png : .jpeg)
            actions.append(.convertedFrom(source, to: target))
            (fitted, encodeActions) = try encode(consume image, source: target, forced: target, icc: nil)
        } else {
            (fitted, encodeActions) = try encode(consume image, source: .png, forced: forced, icc: nil)
        }
        actions += encodeActions
        actions.append(.strippedMetadata)
        return PreparedImage(encoded: fitted.bytes, actions: actions, width: fitted.size.width, height: fitted.size.height)
    }

    /// A decoder error as prepare reports it, naming the format.
    static func convertibleError(_ error: CodecError, format: ConvertibleFormat) -> PrepareError {
        switch error.code {
        case .tooManyPixels: PrepareError(.tooManyPixels, "\(format.rawValue): \(error.message); not decoded")
        case .resourceLimit: PrepareError(.tooManyPixels, "\(format.rawValue): \(error.message); not decoded")
        case .unsupported: PrepareError(.unsupportedFormat, "\(format.rawValue) variant that cannot be decoded: \(error.message)")
        default: PrepareError(.corrupt, "\(format.rawValue) does not decode: \(error.message)")
        }
    }
}
