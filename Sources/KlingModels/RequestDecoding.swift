import Foundation

/// A create body as the emulator received it, decoded by ``RequestRules/decodeCreate(_:route:)``.
public enum CreateRequest: Sendable, Hashable {
    /// A `POST /v1/images/generations` body.
    case generation(ImageGenerationRequest)
    /// A `POST /v1/images/multi-image2image` body, or (`legacy`) the old CometAPI page's
    /// `subject_image_list` posted to the generations route.
    case multiImage(MultiImageRequest, legacy: Bool)
}

/// Which route a create body arrived on.
public enum CreateRoute: Sendable, Hashable {
    /// The generations route; with `acceptsLegacyMultiImage`, a body holding `subject_image_list` is
    /// read as a multi-image request under the old CometAPI page's rules (2...4 subjects).
    case generation(acceptsLegacyMultiImage: Bool)
    /// The multi-image route.
    case multiImage
}

extension RequestRules {
    /// Decodes and validates a create body as it came over the wire: every field's JSON type is
    /// checked first (so `"n": "3"` is reported as a type violation rather than failing to decode), then
    /// the request rules. A `null` member counts as absent. JSON that does not parse, or is not an
    /// object, is one violation of rule ``FieldViolation/Rule/body``.
    /// - Returns: the request when the body is an object (fields of the wrong type left out), and every violation.
    public static func decodeCreate(_ body: Data, route: CreateRoute) -> (request: CreateRequest?, violations: [FieldViolation]) {
        let decoder = JSONDecoder()
        decoder.userInfo[CheckedCreateBody.routeKey] = route
        do {
            let checked = try decoder.decode(CheckedCreateBody.self, from: body)
            return (checked.request, checked.violations)
        } catch {
            return (nil, [.init(field: "body", rule: .body, message: "Request body is not valid JSON (\(jsonErrorSummary(error)))")])
        }
    }

    /// ``decodeCreate(_:route:)`` for the generations route.
    public static func decodeGeneration(_ body: Data) -> (request: ImageGenerationRequest?, violations: [FieldViolation]) {
        let (request, violations) = decodeCreate(body, route: .generation(acceptsLegacyMultiImage: false))
        guard case .generation(let r)? = request else { return (nil, violations) }
        return (r, violations)
    }

    /// ``decodeCreate(_:route:)`` for the multi-image route; `legacyRoute` applies the old CometAPI
    /// page's 2...4 subjects. Accepts `scene_image` and the old spelling `scence_image`; both set to
    /// different values is a conflict.
    public static func decodeMultiImage(_ body: Data, legacyRoute: Bool = false) -> (request: MultiImageRequest?, violations: [FieldViolation]) {
        let route: CreateRoute = legacyRoute ? .generation(acceptsLegacyMultiImage: true) : .multiImage
        let (request, violations) = decodeCreate(body, route: route)
        guard case .multiImage(let r, _)? = request else { return (nil, violations) }
        return (r, violations)
    }

    static func jsonErrorSummary(_ error: any Error) -> String {
        guard case DecodingError.dataCorrupted(let context) = error else { return String(describing: error) }
        if let underlying = context.underlyingError { return "\(context.debugDescription) \(underlying)" }
        return context.debugDescription
    }
}

/// The JSON type of whatever value it is decoded from (`null`, `boolean`, `integer`, `number`,
/// `string`, `array`, `object`), for "got …" in type violations. Reads no member of an object.
struct JSONTypeName: Decodable {
    var name: String
    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { name = "null" }
        else if (try? single.decode(Bool.self)) != nil { name = "boolean" }
        else if (try? single.decode(Int64.self)) != nil { name = "integer" }
        else if (try? single.decode(Double.self)) != nil { name = "number" }
        else if (try? single.decode(String.self)) != nil { name = "string" }
        else if (try? decoder.unkeyedContainer()) != nil { name = "array" }
        else { name = "object" }
    }
}

/// Consumes one element of an unkeyed container, whatever it is.
private struct SkippedValue: Decodable {
    init(from decoder: any Decoder) throws {}
}

/// Reads the members of one JSON object with their documented types, recording a type violation for
/// each member of another type instead of throwing.
struct FieldReader {
    let container: KeyedDecodingContainer<FieldKey>
    /// Prefix of reported field paths (`watermark_info.` inside that object).
    var path: String = ""
    var violations: [FieldViolation] = []
    /// Longest list read entry by entry: 100. The contract's lists hold at most 10 references
    /// (`element_list`, `subject_image_list`); a longer list is refused as a whole, unread.
    static let maxListEntries = 100

    init(_ container: KeyedDecodingContainer<FieldKey>, path: String = "") {
        self.container = container
        self.path = path
    }

    /// Whether the member exists and is not `null`.
    func isPresent(_ name: String) -> Bool {
        let key = FieldKey(name)
        return container.contains(key) && (try? container.decodeNil(forKey: key)) == false
    }

    /// The JSON type of a member, for messages.
    func typeName(_ name: String) -> String {
        (try? container.decode(JSONTypeName.self, forKey: FieldKey(name)))?.name ?? "value"
    }

    mutating func mismatch(_ name: String, expected: String) {
        let field = path + name
        violations.append(.init(field: field, rule: .type, message: "\(field): must be \(expected), got \(typeName(name))"))
    }

    /// A member of type `T` (`nil` when absent, `null` or of another type; the last is recorded).
    mutating func value<T: Decodable>(_ name: String, _ type: T.Type, expected: String) -> T? {
        guard isPresent(name) else { return nil }
        if let value = try? container.decode(T.self, forKey: FieldKey(name)) { return value }
        mismatch(name, expected: expected)
        return nil
    }

    mutating func string(_ name: String) -> String? { value(name, String.self, expected: "a string") }
    mutating func number(_ name: String) -> Double? { value(name, Double.self, expected: "a number") }
    mutating func integer(_ name: String) -> Int64? { value(name, Int64.self, expected: "an integer") }

    /// A nested object member.
    mutating func object(_ name: String) -> KeyedDecodingContainer<FieldKey>? {
        guard isPresent(name) else { return nil }
        if let nested = try? container.nestedContainer(keyedBy: FieldKey.self, forKey: FieldKey(name)) { return nested }
        mismatch(name, expected: "an object")
        return nil
    }

    /// The elements of an array member, each as an object or `nil` (not an object).
    mutating func objects(_ name: String) -> [KeyedDecodingContainer<FieldKey>?]? {
        guard isPresent(name) else { return nil }
        guard var list = try? container.nestedUnkeyedContainer(forKey: FieldKey(name)) else {
            mismatch(name, expected: "an array")
            return nil
        }
        // Bounded before any entry is looked at: a 10 MB body can hold millions of entries.
        if let count = list.count, count > Self.maxListEntries {
            let field = path + name
            violations.append(.init(field: field, rule: .count, message: "\(field): at most \(Self.maxListEntries) entries, got \(count)"))
            return nil
        }
        var out: [KeyedDecodingContainer<FieldKey>?] = []
        while !list.isAtEnd {
            if let element = try? list.nestedContainer(keyedBy: FieldKey.self) {
                out.append(element)
            } else {
                out.append(nil)
                guard (try? list.decode(SkippedValue.self)) != nil else { break }
            }
        }
        return out
    }

    /// An array of objects that each hold one required `member` (`element_list[i].element_id`), read by
    /// `read`. A missing member or one of the wrong type is recorded per element, and then the whole
    /// list is dropped (`nil`), so later rules do not judge a half-read list.
    mutating func list<T>(_ name: String, member: String, expected: String, read: (inout FieldReader) -> T?) -> [T]? {
        guard let elements = objects(name) else { return nil }
        var values: [T] = []
        var broken = false
        for (i, element) in elements.enumerated() {
            let field = "\(name)[\(i)].\(member)"
            guard let element else {
                violations.append(.init(field: field, rule: .required, message: "\(field): required (\(expected))"))
                broken = true
                continue
            }
            var item = FieldReader(element, path: "\(name)[\(i)].")
            guard item.isPresent(member) else {
                violations.append(.init(field: field, rule: .required, message: "\(field): required (\(expected))"))
                broken = true
                continue
            }
            if let value = read(&item) { values.append(value) }
            violations += item.violations
            broken = broken || !item.violations.isEmpty
        }
        return broken ? nil : values
    }

    /// `watermark_info` with its `enabled` boolean (a wrong `enabled` drops the whole object).
    mutating func watermark() -> WatermarkInfo? {
        guard let info = object("watermark_info") else { return nil }
        var inner = FieldReader(info, path: "watermark_info.")
        let enabled = inner.value("enabled", Bool.self, expected: "a boolean")
        violations += inner.violations
        return inner.violations.isEmpty ? WatermarkInfo(enabled: enabled) : nil
    }
}

/// A create body decoded member by member (see ``RequestRules/decodeCreate(_:route:)``).
struct CheckedCreateBody: Decodable {
    static let routeKey = CodingUserInfoKey(rawValue: "klingkit.create-route")!

    var request: CreateRequest?
    var violations: [FieldViolation] = []

    init(from decoder: any Decoder) throws {
        let route = decoder.userInfo[Self.routeKey] as? CreateRoute ?? .generation(acceptsLegacyMultiImage: false)
        guard let container = try? decoder.container(keyedBy: FieldKey.self) else {
            let found = try JSONTypeName(from: decoder).name
            violations = [.init(field: "body", rule: .body, message: "body: must be a JSON object, got \(found)")]
            return
        }
        var reader = FieldReader(container)
        switch route {
        case .multiImage:
            let r = Self.multiImage(&reader, legacy: false)
            request = .multiImage(r.request, legacy: false)
            violations = r.violations
        case .generation(let legacyAllowed) where legacyAllowed && container.contains(FieldKey("subject_image_list")):
            let r = Self.multiImage(&reader, legacy: true)
            request = .multiImage(r.request, legacy: true)
            violations = r.violations
        case .generation:
            let r = Self.generation(&reader)
            request = .generation(r.request)
            violations = r.violations
        }
    }

    private static func generation(_ reader: inout FieldReader) -> (request: ImageGenerationRequest, violations: [FieldViolation]) {
        var request = ImageGenerationRequest(
            modelName: reader.string("model_name").map { ModelName($0) }, prompt: nil)
        request.legacyModel = reader.string("model")
        request.prompt = reader.string("prompt")
        request.negativePrompt = reader.string("negative_prompt")
        request.image = reader.string("image")
        request.imageReference = reader.string("image_reference").map { ImageReference($0) }
        request.imageFidelity = reader.number("image_fidelity")
        request.humanFidelity = reader.number("human_fidelity")
        request.elementList = reader.list("element_list", member: "element_id", expected: "an integer element id") {
            $0.integer("element_id").map { ElementReference(elementID: $0) }
        }
        request.resolution = reader.string("resolution").map { Resolution($0) }
        request.n = reader.integer("n").map { Int(clamping: $0) }
        request.aspectRatio = reader.string("aspect_ratio").map { AspectRatio($0) }
        request.watermarkInfo = reader.watermark()
        request.callbackURL = reader.string("callback_url")
        request.externalTaskID = reader.string("external_task_id")
        var out = reader.violations
        let badFields = Set(out.map(\.field))
        out += RequestRules.validate(request).filter { !badFields.contains($0.field) }
        return (request, out)
    }

    private static func multiImage(_ reader: inout FieldReader, legacy: Bool) -> (request: MultiImageRequest, violations: [FieldViolation]) {
        var request = MultiImageRequest(modelName: reader.string("model_name").map { ModelName($0) })
        request.prompt = reader.string("prompt")
        request.subjectImageList = reader.list("subject_image_list", member: "subject_image", expected: "base64 or an http(s) URL") {
            $0.string("subject_image").map { SubjectImage(subjectImage: $0) }
        }
        let scene = reader.string("scene_image")
        let misspelt = reader.string("scence_image")
        if let scene, let misspelt, !scene.isEmpty, !misspelt.isEmpty, scene != misspelt {
            reader.violations.append(.init(field: "scene_image", rule: .conflict,
                                           message: "scene_image: scene_image and scence_image are both set and differ (send one)"))
        }
        request.sceneImage = (scene ?? "").isEmpty ? misspelt : scene
        request.styleImage = reader.string("style_image")
        request.n = reader.integer("n").map { Int(clamping: $0) }
        request.aspectRatio = reader.string("aspect_ratio").map { AspectRatio($0) }
        request.watermarkInfo = reader.watermark()
        request.callbackURL = reader.string("callback_url")
        request.externalTaskID = reader.string("external_task_id")
        var out = reader.violations
        let badFields = Set(out.map(\.field))
        out += RequestRules.validate(request, legacyRoute: legacy).filter {
            !badFields.contains($0.field) && !($0.field == "subject_image_list" && badFields.contains { $0.hasPrefix("subject_image_list[") })
        }
        return (request, out)
    }
}
