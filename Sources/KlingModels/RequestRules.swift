import Foundation

/// One broken rule of a request: the field (a JSON path such as `n` or `element_list[2].element_id`),
/// the rule, and a one-line message that names both and the value found.
public struct FieldViolation: Sendable, Hashable, CustomStringConvertible {
    /// The kind of rule. Open: new kinds may be added without breaking a `switch` with `default`.
    public struct Rule: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The body is not a JSON object (the emulator answers 1200, not 1201).
        public static let body = Rule(rawValue: "body")
        /// A required field is missing or empty.
        public static let required = Rule(rawValue: "required")
        /// The JSON type is wrong (a string where an integer belongs).
        public static let type = Rule(rawValue: "type")
        /// A number is outside its range.
        public static let range = Rule(rawValue: "range")
        /// A value is not one of the allowed values.
        public static let enumeration = Rule(rawValue: "enum")
        /// A text is too long.
        public static let length = Rule(rawValue: "length")
        /// A list has too few or too many entries (also elements + images > 10).
        public static let count = Rule(rawValue: "count")
        /// A field is set that is not allowed with the rest of the request (negative prompt with an image,
        /// fidelity on a model that does not take it, `image_reference` without an image).
        public static let notAllowed = Rule(rawValue: "not-allowed")
        /// Two spellings of one field disagree.
        public static let conflict = Rule(rawValue: "conflict")
        /// An image string starts with a `data:` URL prefix.
        public static let dataURLPrefix = Rule(rawValue: "data-url-prefix")
        /// An image string is neither an http(s) URL nor plain base64 (line breaks, bad characters).
        public static let imageEncoding = Rule(rawValue: "image-encoding")
        /// A URL is not an absolute http(s) URL.
        public static let url = Rule(rawValue: "url")
        /// A face reference (`image_reference=face`) whose image does not show exactly one face (the
        /// emulator counts them as the service does; the client's count is advisory).
        public static let faceCount = Rule(rawValue: "face-count")
        public var description: String { rawValue }
    }

    public var field: String
    public var rule: Rule
    /// One line, starting with the field name, e.g. `n: must be an integer in 1...9, got 12`.
    public var message: String

    public init(field: String, rule: Rule, message: String) {
        self.field = field
        self.rule = rule
        self.message = message
    }

    public var description: String { message }

    /// The messages of `violations` as one line for an error answer: the first `limit` messages, each cut
    /// at `maxMessageCharacters`, then how many more there were. Bounded whatever the request held (a body
    /// of millions of bad list entries gets a short answer, not one line per entry).
    public static func summary(_ violations: [FieldViolation], limit: Int = 20) -> String {
        var parts = violations.prefix(limit).map { v in
            v.message.count > maxMessageCharacters ? String(v.message.prefix(maxMessageCharacters)) + "…" : v.message
        }
        if violations.count > limit { parts.append("and \(violations.count - limit) more") }
        return parts.joined(separator: "; ")
    }

    /// Longest message kept by ``summary(_:limit:)``: 300 characters.
    public static let maxMessageCharacters = 300
}

/// The request rules of kling-api.md §3, as pure functions shared by the client (refuse before sending)
/// and the emulator (answer 400 / 1201). Each function returns **every** violation, never only the first.
///
/// Covered: every field's JSON type, range and enum; the cross-field rules (negative prompt with an
/// image, `image_reference` without an image, kling-v1-5 with an image but no `image_reference`, fidelity
/// fields on models that do not take them, elements + images > 10, subject list size, 21:9 on kling-v1);
/// image *strings* (a `data:` prefix, line breaks, characters outside base64, a malformed URL).
/// Not covered: the image *content* (format, bytes, sides, ratio) — that needs the codecs, see
/// `ReferenceImageValidator`; and uniqueness of `external_task_id`, which needs the account's state.
///
/// Lengths count Swift `Character`s (what a person calls characters).
public enum RequestRules {
    /// Longest `prompt` / `negative_prompt`: 2500 characters.
    public static let maxPromptLength = 2500
    /// Allowed `n`: 1...9.
    public static let imageCountRange = 1...9
    /// Allowed `image_fidelity` / `human_fidelity`: 0...1.
    public static let fidelityRange = 0.0...1.0
    /// Most elements + images in one generation request: 10.
    public static let maxReferences = 10
    /// Subjects in `subject_image_list`: 1...4.
    public static let subjectCountRange = 1...4
    /// Subjects on the old CometAPI route (`subject_image_list` posted to `/kling/v1/images/generations`): 2...4.
    public static let legacySubjectCountRange = 2...4

    // MARK: Typed requests

    /// Validates a generation request. Returns every violation; empty means valid.
    public static func validate(_ request: ImageGenerationRequest) -> [FieldViolation] {
        var out: [FieldViolation] = []
        let model = request.effectiveModel
        if let name = request.modelName, !name.rawValue.isEmpty, !ModelName.generationModels.contains(name) {
            out.append(enumViolation("model_name", name.rawValue, ModelName.generationModels.map(\.rawValue)))
        }
        checkPrompt(request.prompt, field: "prompt", required: true, into: &out)
        checkPrompt(request.negativePrompt, field: "negative_prompt", required: false, into: &out)
        let hasImage = request.hasImage
        if hasImage, !(request.negativePrompt ?? "").isEmpty {
            out.append(.init(field: "negative_prompt", rule: .notAllowed,
                             message: "negative_prompt: not allowed when image is set (image-to-image takes no negative prompt)"))
        }
        if let image = request.image, !image.isEmpty, let v = checkImageString(image, field: "image") {
            out.append(v)
        }
        if let reference = request.imageReference, !reference.rawValue.isEmpty {
            if !ImageReference.all.contains(reference) {
                out.append(enumViolation("image_reference", reference.rawValue, ImageReference.all.map(\.rawValue)))
            }
            if !hasImage {
                out.append(.init(field: "image_reference", rule: .notAllowed,
                                 message: "image_reference: requires image (send no image_reference for text-to-image)"))
            }
        } else if hasImage, model.requiresImageReference {
            out.append(.init(field: "image_reference", rule: .required,
                             message: "image_reference: required for \(model) with an image (subject or face)"))
        }
        if let fidelity = request.imageFidelity {
            checkFidelity(fidelity, field: "image_fidelity", into: &out)
            if !model.acceptsImageFidelity {
                out.append(.init(field: "image_fidelity", rule: .notAllowed,
                                 message: "image_fidelity: not supported by \(model) (only kling-v1 and kling-v1-5)"))
            }
        }
        if let fidelity = request.humanFidelity {
            checkFidelity(fidelity, field: "human_fidelity", into: &out)
            if !model.acceptsHumanFidelity {
                out.append(.init(field: "human_fidelity", rule: .notAllowed,
                                 message: "human_fidelity: not supported by \(model) (only kling-v1-5)"))
            } else if request.imageReference != .subject {
                out.append(.init(field: "human_fidelity", rule: .notAllowed,
                                 message: "human_fidelity: only with image_reference=subject"))
            }
        }
        let elements = request.elementList?.count ?? 0
        let references = elements + (hasImage ? 1 : 0)
        if references > maxReferences {
            out.append(.init(field: "element_list", rule: .count,
                             message: "element_list: elements + images must be at most \(maxReferences), got \(elements) element(s) + \(hasImage ? 1 : 0) image"))
        }
        if let resolution = request.resolution, !Resolution.all.contains(resolution) {
            out.append(enumViolation("resolution", resolution.rawValue, Resolution.all.map(\.rawValue)))
        }
        checkCount(request.n, into: &out)
        if let ratio = request.aspectRatio {
            if !AspectRatio.all.contains(ratio) {
                out.append(enumViolation("aspect_ratio", ratio.rawValue, AspectRatio.all.map(\.rawValue)))
            } else if !model.aspectRatios.contains(ratio) {
                out.append(.init(field: "aspect_ratio", rule: .enumeration,
                                 message: "aspect_ratio: \(ratio) is not available on \(model) (one of \(model.aspectRatios.map(\.rawValue).joined(separator: ", ")))"))
            }
        }
        checkCallback(request.callbackURL, into: &out)
        return out
    }

    /// Validates a multi-image request. `legacyRoute` applies the old CometAPI page's 2...4 subjects
    /// (a `subject_image_list` posted to the generations route). Returns every violation.
    public static func validate(_ request: MultiImageRequest, legacyRoute: Bool = false) -> [FieldViolation] {
        var out: [FieldViolation] = []
        if let name = request.modelName, !name.rawValue.isEmpty, !ModelName.multiImageModels.contains(name) {
            out.append(enumViolation("model_name", name.rawValue, ModelName.multiImageModels.map(\.rawValue)))
        }
        checkPrompt(request.prompt, field: "prompt", required: false, into: &out)
        let range = legacyRoute ? legacySubjectCountRange : subjectCountRange
        let subjects = request.subjectImageList ?? []
        if request.subjectImageList == nil {
            out.append(.init(field: "subject_image_list", rule: .required,
                             message: "subject_image_list: required (\(range.lowerBound) to \(range.upperBound) subject images)"))
        } else if !range.contains(subjects.count) {
            out.append(.init(field: "subject_image_list", rule: .count,
                             message: "subject_image_list: must hold \(range.lowerBound) to \(range.upperBound) subject images, got \(subjects.count)"))
        }
        for (i, subject) in subjects.enumerated() {
            let field = "subject_image_list[\(i)].subject_image"
            if subject.subjectImage.isEmpty {
                out.append(.init(field: field, rule: .required, message: "\(field): required (base64 or an http(s) URL)"))
            } else if let v = checkImageString(subject.subjectImage, field: field) {
                out.append(v)
            }
        }
        for (field, value) in [("scene_image", request.sceneImage), ("style_image", request.styleImage)] {
            if let value, !value.isEmpty, let v = checkImageString(value, field: field) { out.append(v) }
        }
        checkCount(request.n, into: &out)
        if let ratio = request.aspectRatio, !AspectRatio.all.contains(ratio) {
            out.append(enumViolation("aspect_ratio", ratio.rawValue, AspectRatio.all.map(\.rawValue)))
        }
        checkCallback(request.callbackURL, into: &out)
        return out
    }

    /// Validates the list route's query. `nil` means absent (defaults 1 and 30); a value that is not a
    /// decimal integer or is out of bounds is a violation.
    /// - Returns: the query to run (defaults filled in) when valid, and every violation.
    public static func validatePage(pageNum: String?, pageSize: String?) -> (query: PageQuery?, violations: [FieldViolation]) {
        var out: [FieldViolation] = []
        func parse(_ text: String?, _ field: String, _ range: ClosedRange<Int>, _ fallback: Int) -> Int {
            guard let text else { return fallback }
            guard let value = Int(text) else {
                out.append(.init(field: field, rule: .type, message: "\(field): must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(clip(text))\""))
                return fallback
            }
            if !range.contains(value) {
                out.append(.init(field: field, rule: .range, message: "\(field): must be in \(range.lowerBound)...\(range.upperBound), got \(value)"))
            }
            return value
        }
        let num = parse(pageNum, "pageNum", PageQuery.pageNumRange, 1)
        let size = parse(pageSize, "pageSize", PageQuery.pageSizeRange, 30)
        return (out.isEmpty ? PageQuery(pageNum: num, pageSize: size) : nil, out)
    }

    // MARK: Image strings

    /// Checks the *encoding* of an image string: an http(s) URL with a host, or plain standard base64
    /// (`A–Z a–z 0–9 + /`, `=` padding only at the end, no line breaks, no `data:` prefix).
    /// - Returns: the violation, or `nil` when the string is acceptable. Its content is not examined.
    public static func checkImageString(_ value: String, field: String) -> FieldViolation? {
        if value.isEmpty {
            return .init(field: field, rule: .required, message: "\(field): empty (base64 or an http(s) URL expected)")
        }
        let lower = value.prefix(16).lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard let url = URL(string: value), let host = url.host, !host.isEmpty else {
                return .init(field: field, rule: .url, message: "\(field): not a valid http(s) URL")
            }
            return nil
        }
        if lower.hasPrefix("data:") {
            let prefixEnd = value.utf8.firstIndex(of: UInt8(ascii: ",")).map { value.utf8.distance(from: value.utf8.startIndex, to: $0) + 1 } ?? min(value.utf8.count, 30)
            let prefix = String(decoding: value.utf8.prefix(min(prefixEnd, 40)), as: UTF8.self)
            return .init(field: field, rule: .dataURLPrefix,
                         message: "\(field): base64 must be sent without a data: URL prefix (found \"\(prefix)\"); send only the base64 text")
        }
        var offset = 0
        var padding = 0
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding > 0 {
                    return .init(field: field, rule: .imageEncoding, message: "\(field): base64 has data after '=' padding at offset \(offset)")
                }
            case UInt8(ascii: "="):
                padding += 1
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                return .init(field: field, rule: .imageEncoding, message: "\(field): base64 must not contain line breaks (found one at offset \(offset))")
            default:
                let shown = byte >= 0x21 && byte < 0x7f ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "byte 0x%02X", byte)
                return .init(field: field, rule: .imageEncoding,
                             message: "\(field): neither an http(s) URL nor base64 (\(shown) at offset \(offset))")
            }
            offset += 1
        }
        if padding > 2 || (padding > 0 && offset % 4 != 0) || offset % 4 == 1 {
            return .init(field: field, rule: .imageEncoding, message: "\(field): base64 length \(offset) is not valid (truncated or bad padding)")
        }
        return nil
    }

    // MARK: Helpers

    private static func checkPrompt(_ text: String?, field: String, required: Bool, into out: inout [FieldViolation]) {
        guard let text, !text.isEmpty else {
            if required { out.append(.init(field: field, rule: .required, message: "\(field): required (1 to \(maxPromptLength) characters)")) }
            return
        }
        let count = text.count
        if count > maxPromptLength {
            out.append(.init(field: field, rule: .length, message: "\(field): at most \(maxPromptLength) characters, got \(count)"))
        }
    }

    private static func checkFidelity(_ value: Double, field: String, into out: inout [FieldViolation]) {
        if !value.isFinite || !fidelityRange.contains(value) {
            out.append(.init(field: field, rule: .range, message: "\(field): must be in 0...1, got \(value)"))
        }
    }

    private static func checkCount(_ n: Int?, into out: inout [FieldViolation]) {
        if let n, !imageCountRange.contains(n) {
            out.append(.init(field: "n", rule: .range, message: "n: must be an integer in \(imageCountRange.lowerBound)...\(imageCountRange.upperBound), got \(n)"))
        }
    }

    private static func checkCallback(_ url: String?, into out: inout [FieldViolation]) {
        guard let url, !url.isEmpty else { return }
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://"),
              let parsed = URL(string: url), let host = parsed.host, !host.isEmpty else {
            out.append(.init(field: "callback_url", rule: .url, message: "callback_url: must be an absolute http(s) URL, got \"\(clip(url))\""))
            return
        }
    }

    private static func enumViolation(_ field: String, _ value: String, _ allowed: [String]) -> FieldViolation {
        .init(field: field, rule: .enumeration, message: "\(field): \"\(clip(value))\" is not one of \(allowed.joined(separator: ", "))")
    }

    static func clip(_ text: String) -> String {
        text.count <= 40 ? text : String(text.prefix(40)) + "…"
    }
}
