import FastBase64
import ImageCodecs
import KlingSupport
import ReferenceImages

/// The image work of the two routes, synchronous and CPU-bound: the caller runs it on the decode pool.
///
/// Both start with the service's pixel limit, judged from the header alone (JPEG/PNG probe, or the
/// HEIF/AVIF/WebP container), so an image declaring more pixels is refused before any pixel buffer
/// exists.
struct ImageJobs: Sendable {
    var limits: ReferenceImageServiceLimits

    /// A checked file: its `check --json` object and the rules it breaks.
    struct Checked: Sendable {
        var json: FixedOrderJSON
        var rules: [String]
    }

    /// A prepared file: the input's report, the output and its base64 when asked for.
    struct Prepared: Sendable {
        var report: ValidationReport
        var image: PreparedImage
    }

    /// Refuses a file whose header declares more than ``ReferenceImageServiceLimits/maxPixels`` pixels (422).
    func refuseOversized(_ file: UploadedFile) throws(ServiceRefusal) {
        let size: (width: Int, height: Int)?
        if ImageCodec.sniff(file.bytes) != nil {
            size = (try? ImageCodec.probe(file.bytes, options: DecodeOptions(maxPixels: .max))).map { ($0.width, $0.height) }
        } else if ImageCodec.sniffConvertible(file.bytes) != nil {
            size = (try? ImageCodec.probeConvertible(file.bytes, options: DecodeOptions(maxPixels: .max))).map { ($0.width, $0.height) }
        } else {
            size = nil
        }
        guard let size else { return }
        let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
        if overflow || pixels > limits.maxPixels {
            throw ServiceRefusal(.unprocessableImage, rule: ValidationRule.tooManyPixels.rawValue,
                                 "\(file.name): \(size.width)x\(size.height) is \(overflow ? "too many" : String(pixels)) pixels, more than the limit of \(limits.maxPixels); not decoded")
        }
    }

    /// Checks one file against the upload rules (and counts its faces when asked).
    func check(_ file: UploadedFile, faces: Bool) throws(ServiceRefusal) -> Checked {
        try refuseOversized(file)
        var rules = limits.rules
        rules.maxPixels = min(rules.maxPixels, limits.maxPixels)
        let report = ReferenceImageValidator(rules: rules).validate(bytes: file.bytes, name: file.name)
        let count = faces ? FaceCount(imageBytes: file.bytes, maxPixels: limits.maxPixels) : nil
        return Checked(json: report.checkJSON(faces: count), rules: report.rules.map(\.rawValue))
    }

    /// Prepares one file with `options` (its rules' pixel limit lowered to the service's).
    /// - Throws: ``ServiceRefusal``: 415 for an unsupported format, 422 for a corrupt image, one over
    ///   the pixel limit, or one no size fits the byte budget; 400 for options the rules forbid.
    func prepare(_ file: UploadedFile, options: PrepareOptions) throws(ServiceRefusal) -> Prepared {
        try refuseOversized(file)
        var options = options
        options.rules.maxPixels = min(options.rules.maxPixels, limits.maxPixels)
        var rules = limits.rules
        rules.maxPixels = options.rules.maxPixels
        // The header rules only: the prepare below decodes (or verifies) every byte, and a file that
        // does not decode is refused from its error, so a second, verifying pass would prove nothing.
        let report = ReferenceImageValidator(rules: rules).validateHeader(bytes: file.bytes, name: file.name)
        do {
            let image = try ReferenceImagePreparer(options: options).prepare(bytes: file.bytes, name: file.name)
            return Prepared(report: report, image: image)
        } catch let error as PrepareError {
            throw Self.refusal(error, file: file.name)
        } catch {
            throw ServiceRefusal(.unprocessableImage, rule: "corrupt", "\(file.name): \(error)")
        }
    }

    /// The answer to a ``PrepareError``: 415 `unsupported-format`, 400 for options, 422 otherwise.
    static func refusal(_ error: PrepareError, file: String) -> ServiceRefusal {
        switch error.code {
        case .unsupportedFormat:
            return ServiceRefusal(.unsupportedImage, rule: error.rule, "\(file): \(error.message)")
        case .options:
            return ServiceRefusal(.badRequest, rule: error.file ?? "options", "\(error.file ?? "option") \(error.message)")
        default:
            return ServiceRefusal(.unprocessableImage, rule: error.rule, "\(file): \(error.message)")
        }
    }

    /// The `Accept: application/json` answer of `/v1/prepare`: `{report, actions, width, height,
    /// format, bytes, base64}` with `base64` prefix-free, ready for a Kling request body.
    static func sidecar(_ prepared: Prepared) -> [UInt8] {
        var object = FixedOrderJSON(spacing: .spaced)
        try? object.add("report", object: prepared.report.checkJSON())
        try? object.add("actions", prepared.image.actions.map(\.description))
        try? object.add("width", prepared.image.width)
        try? object.add("height", prepared.image.height)
        try? object.add("format", prepared.image.encoded.format.rawValue)
        try? object.add("bytes", prepared.image.encoded.bytes.count)
        // The base64 text is appended as bytes: encoding a 10 MiB image's 14 MB of base64 through
        // JSONEncoder would only copy it (the alphabet needs no escaping).
        var text = Array(object.text.utf8.dropLast())
        text.append(contentsOf: Array(", \"base64\": \"".utf8))
        text.append(contentsOf: Base64.encode(prepared.image.encoded.bytes))
        text.append(contentsOf: Array("\"}".utf8))
        return text
    }
}
