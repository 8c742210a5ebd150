import Foundation
import KlingAPI
import KlingModels

/// The request of one batch line: the fields of `klingkit generate`'s flags (equally, of the API's body),
/// images as local paths (absolute, resolved against the batch file's folder) or http(s) URLs.
///
/// Multi-image when ``subjects``, ``scene`` or ``style`` is set; text→image or image→image otherwise.
/// Stored in the journal as JSON (sorted keys), so `batch status` and the manifest can show it.
public struct BatchSpec: Sendable, Hashable, Codable {
    public var prompt: String?
    public var negativePrompt: String?
    public var image: String?
    public var imageReference: String?
    public var imageFidelity: Double?
    public var humanFidelity: Double?
    public var elementIDs: [Int64]?
    public var model: String?
    public var n: Int?
    public var aspectRatio: String?
    public var resolution: String?
    public var watermark: Bool?
    public var subjects: [String]?
    public var scene: String?
    public var style: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case prompt, image, model, n, resolution, watermark, subjects, scene, style
        case negativePrompt = "negative_prompt", imageReference = "image_reference", imageFidelity = "image_fidelity"
        case humanFidelity = "human_fidelity", elementIDs = "element_ids", aspectRatio = "aspect_ratio"
    }

    /// Whether this is a multi-image request.
    public var isMulti: Bool { subjects != nil || scene != nil || style != nil }

    /// The route the request goes to.
    public var kind: TaskKind { isMulti ? .multiImage : .generation }

    /// Slots the task holds while it runs (`n`, default 1).
    public var slots: Int { n ?? 1 }

    /// The model the request uses (its own, else the route's default).
    public var effectiveModel: ModelName {
        model.map { ModelName($0) } ?? (isMulti ? .multiImageDefault : .recommended)
    }

    /// Every image field with the API's name for it: (`image` | `subject_image_list[i].subject_image` |
    /// `scene_image` | `style_image`, path or URL).
    public var imageFields: [(field: String, value: String)] {
        var out: [(String, String)] = []
        if let image { out.append(("image", image)) }
        for (i, s) in (subjects ?? []).enumerated() { out.append(("subject_image_list[\(i)].subject_image", s)) }
        if let scene { out.append(("scene_image", scene)) }
        if let style { out.append(("style_image", style)) }
        return out
    }

    /// Whether an image value is a URL (sent as is) rather than a local file.
    public static func isURL(_ value: String) -> Bool {
        let lower = value.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// The field-level problems that need no image: conflicts between fields, then every rule of
    /// KlingModels' `RequestRules` on the body with images stood in by a placeholder URL.
    public func violations() -> [FieldViolation] {
        var out: [FieldViolation] = []
        if isMulti {
            if image != nil {
                out.append(FieldViolation(field: "image", rule: .conflict, message: "image is for image→image; a multi-image line uses subjects (with scene/style), not both"))
            }
            for (name, set) in [("negative_prompt", negativePrompt != nil), ("image_reference", imageReference != nil),
                                ("image_fidelity", imageFidelity != nil), ("human_fidelity", humanFidelity != nil),
                                ("element_ids", elementIDs != nil), ("resolution", resolution != nil)] where set {
                out.append(FieldViolation(field: name, rule: .notAllowed, message: "\(name) does not apply to multi-image requests"))
            }
            if (subjects ?? []).isEmpty {
                out.append(FieldViolation(field: "subjects", rule: .required, message: "scene and style need at least one subject"))
            }
            out += RequestRules.validate(wire(images: { _, _ in Self.placeholder }) as MultiImageRequest)
        } else {
            out += RequestRules.validate(wire(images: { _, _ in Self.placeholder }) as ImageGenerationRequest)
        }
        return out
    }

    static let placeholder = "https://example.invalid/placeholder.jpg"

    /// The generations body, each image replaced by what `images(field, value)` gives (base64 or URL).
    public func wire(externalTaskID: String? = nil, callbackURL: String? = nil,
                     images: (String, String) throws -> String) rethrows -> ImageGenerationRequest {
        ImageGenerationRequest(
            modelName: effectiveModel, prompt: prompt, negativePrompt: negativePrompt,
            image: try image.map { try images("image", $0) },
            imageReference: imageReference.map { ImageReference($0) }, imageFidelity: imageFidelity,
            humanFidelity: humanFidelity, elementList: elementIDs.map { $0.map { ElementReference(elementID: $0) } },
            resolution: resolution.map { Resolution($0) }, n: n, aspectRatio: aspectRatio.map { AspectRatio($0) },
            watermarkInfo: watermark.map { WatermarkInfo(enabled: $0) }, callbackURL: callbackURL,
            externalTaskID: externalTaskID)
    }

    /// The multi-image body, each image replaced by what `images(field, value)` gives.
    public func wire(externalTaskID: String? = nil, callbackURL: String? = nil,
                     images: (String, String) throws -> String) rethrows -> MultiImageRequest {
        var subjectList: [SubjectImage] = []
        for (i, s) in (subjects ?? []).enumerated() {
            subjectList.append(SubjectImage(subjectImage: try images("subject_image_list[\(i)].subject_image", s)))
        }
        return MultiImageRequest(
            modelName: effectiveModel, prompt: prompt, subjectImageList: subjectList,
            sceneImage: try scene.map { try images("scene_image", $0) }, styleImage: try style.map { try images("style_image", $0) },
            n: n, aspectRatio: aspectRatio.map { AspectRatio($0) }, watermarkInfo: watermark.map { WatermarkInfo(enabled: $0) },
            callbackURL: callbackURL, externalTaskID: externalTaskID)
    }

    /// The spec as one line of sorted-key JSON (what the journal stores).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
