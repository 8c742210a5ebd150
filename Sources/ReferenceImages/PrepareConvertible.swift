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
            header = try ImageCodecs.probeConvertible(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            throw Self.convertibleError(error, format: format)
        }
        let upright = Size(width: header.orientedWidth, height: header.orientedHeight)
        let plan = PreparePlan(upright: upright, options: options)
        let decoded: ConvertedImage
        do {
            // libheif's tile threads beside the caller's: none when prepare is told to use one thread.
            let threads = max(0, (options.threads ?? RowPrefetcher.processorCount) - 1)
            decoded = try ImageCodecs.decodeConvertible(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels),
                                                        threads: threads)
        } catch let error as CodecError {
            throw Self.convertibleError(error, format: format)
        }
        _ = consume bytes
        var actions = ["decoded \(format.rawValue)"] + header.notes.filter { $0 != "alpha" && $0 != "lossy" && $0 != "lossless" }
        if header.orientation != 1 { actions.append("oriented(\(header.orientation))") }
        if let warning = decoded.colorWarning { actions.append(warning) }
        return try finishDecoded(decoded.image, plan: plan, profile: decoded.iccProfile, source: format.rawValue,
                                 actions: actions, sourceFormat: nil)
    }

    /// An animated PNG: its default image (what libpng and every non-APNG decoder shows) written as a
    /// still, through the same geometry and encoding as any PNG.
    func prepareAnimatedPNG(_ bytes: consuming [UInt8], animation: PNGAnimation) throws -> PreparedImage {
        let options = self.options
        let decoded: DecodedImage
        do {
            decoded = try ImageCodecs.decode(bytes, options: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            throw Self.prepareError(error)
        }
        _ = consume bytes
        var image = decoded.image
        var actions = ["animated png (\(animation.frames) frames): default image written as a still"]
        if decoded.header.orientation != 1 {
            image = image.oriented(exif: decoded.header.orientation)
            actions.append("oriented(\(decoded.header.orientation))")
        }
        let plan = PreparePlan(upright: image.size, options: options)
        let profile = options.colorProfile == .sRGB ? decoded.iccProfile : nil
        var result = try finishDecoded(image, plan: plan, profile: profile, source: "png", actions: actions, sourceFormat: .png)
        if decoded.iccProfile != nil && profile == nil { result.actions.append("dropped ICC profile") }
        return result
    }

    /// Crop, resize, pad (as ``PreparePlan`` says), convert colours to sRGB when `profile` is set, encode.
    /// - Parameter sourceFormat: `.png` keeps the PNG rules of `--format auto` (smaller of PNG and JPEG
    ///   when opaque); `nil` means a converted format: JPEG unless the image has real transparency.
    private func finishDecoded(_ input: Image, plan: PreparePlan, profile: [UInt8]?, source: String, actions start: [String],
                               sourceFormat: ImageFormat?) throws -> PreparedImage {
        let options = self.options
        var actions = start
        var image = input
        if plan.isCropped {
            let before = image.size
            image = image.cropped(to: plan.region)
            actions.append("cropped \(before)->\(image.size)")
        }
        if image.size != plan.content {
            let before = image.size
            image = image.resized(to: plan.content, filter: options.filter, threads: options.threads)
            actions.append("resized \(before)->\(plan.content) \(options.filter)")
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
        if let profile, !image.format.isGray {
            do {
                try SRGBConverter(profile: profile, format: image.format).convert(&image)
                actions.append("converted colours to sRGB")
            } catch let error as CodecError {
                actions.append("colours kept as decoded (\(error.message))")
            }
        }
        let forced: ImageFormat? = switch options.format {
        case .jpeg: .jpeg
        case .png: .png
        case .auto: nil
        }
        let fitted: Fitted, encodeActions: [String]
        if let sourceFormat {
            (fitted, encodeActions) = try encode(consume image, source: sourceFormat, forced: forced, icc: nil)
        } else {
            let target = forced ?? (image.hasTransparency ? .png : .jpeg)
            actions.append("converted \(source)->\(target.rawValue)")
            (fitted, encodeActions) = try encode(consume image, source: target, forced: target, icc: nil)
        }
        actions += encodeActions
        actions.append("stripped metadata")
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
