import Foundation

/// One entry of `element_list`: an element-library id. Ids exceed 2^53, so they are `Int64` end to end
/// and never pass through `Double`.
public struct ElementReference: Codable, Sendable, Hashable {
    public var elementID: Int64
    public init(elementID: Int64) { self.elementID = elementID }
    enum CodingKeys: String, CodingKey { case elementID = "element_id" }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let id = try container.decodeLenientInt64IfPresent(forKey: .elementID) else {
            throw DecodingError.keyNotFound(
                CodingKeys.elementID, .init(codingPath: container.codingPath, debugDescription: "element_id is required"))
        }
        elementID = id
    }
}

/// The body of `POST /v1/images/generations` (kling-api.md §3.1): text→image and image→image.
///
/// Every field is optional so that any body decodes and can be validated with ``RequestRules``;
/// unset fields are not encoded (sending `image_reference` without an image breaks text-only
/// requests). An empty string counts as unset, as the vendor's own example sends `"negative_prompt": ""`.
public struct ImageGenerationRequest: Codable, Sendable, Hashable {
    /// The model; the service uses `kling-v1` when omitted, this project's client sends `kling-v3`.
    public var modelName: ModelName?
    /// The legacy `model` field: behaves as an omitted `model_name` (kling-v1). Never sent by the client.
    public var legacyModel: String?
    /// Positive prompt, required, at most 2500 characters.
    public var prompt: String?
    /// Negative prompt, at most 2500 characters; not allowed with `image`.
    public var negativePrompt: String?
    /// Reference image: raw base64 (no `data:` prefix, no line breaks) or a public http(s) URL.
    public var image: String?
    /// `subject` or `face`; requires `image`; required for kling-v1-5 with an image.
    public var imageReference: ImageReference?
    /// 0...1, default 0.5; kling-v1 and kling-v1-5 only.
    public var imageFidelity: Double?
    /// 0...1, default 0.45; kling-v1-5 with `image_reference` = `subject` only.
    public var humanFidelity: Double?
    /// Element-library references; elements + images ≤ 10.
    public var elementList: [ElementReference]?
    /// `1k` (default) or `2k`.
    public var resolution: Resolution?
    /// Number of images, 1...9, default 1.
    public var n: Int?
    /// Output ratio, default `16:9`; kling-v1 has no `21:9`.
    public var aspectRatio: AspectRatio?
    /// Whether to also produce watermarked copies.
    public var watermarkInfo: WatermarkInfo?
    /// Absolute http(s) URL the service POSTs the task object to on every status change.
    public var callbackURL: String?
    /// The caller's id, unique per account; the task can be queried by it.
    public var externalTaskID: String?

    public init(
        modelName: ModelName? = nil, prompt: String? = nil, negativePrompt: String? = nil, image: String? = nil,
        imageReference: ImageReference? = nil, imageFidelity: Double? = nil, humanFidelity: Double? = nil,
        elementList: [ElementReference]? = nil, resolution: Resolution? = nil, n: Int? = nil,
        aspectRatio: AspectRatio? = nil, watermarkInfo: WatermarkInfo? = nil, callbackURL: String? = nil,
        externalTaskID: String? = nil
    ) {
        self.modelName = modelName
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.image = image
        self.imageReference = imageReference
        self.imageFidelity = imageFidelity
        self.humanFidelity = humanFidelity
        self.elementList = elementList
        self.resolution = resolution
        self.n = n
        self.aspectRatio = aspectRatio
        self.watermarkInfo = watermarkInfo
        self.callbackURL = callbackURL
        self.externalTaskID = externalTaskID
    }

    enum CodingKeys: String, CodingKey {
        case modelName = "model_name"
        case legacyModel = "model"
        case prompt
        case negativePrompt = "negative_prompt"
        case image
        case imageReference = "image_reference"
        case imageFidelity = "image_fidelity"
        case humanFidelity = "human_fidelity"
        case elementList = "element_list"
        case resolution, n
        case aspectRatio = "aspect_ratio"
        case watermarkInfo = "watermark_info"
        case callbackURL = "callback_url"
        case externalTaskID = "external_task_id"
    }

    /// The model the service will run: `model_name`, or kling-v1 when it is omitted or empty.
    public var effectiveModel: ModelName {
        if let modelName, !modelName.rawValue.isEmpty { return modelName }
        return .generationDefault
    }

    /// Whether `image` is set (non-empty).
    public var hasImage: Bool { !(image ?? "").isEmpty }

    /// The number of images the task will produce (`n`, default 1).
    public var imageCount: Int { n ?? 1 }
}

/// One entry of `subject_image_list`.
public struct SubjectImage: Codable, Sendable, Hashable {
    /// Raw base64 or a public http(s) URL.
    public var subjectImage: String
    public init(subjectImage: String) { self.subjectImage = subjectImage }
    enum CodingKeys: String, CodingKey { case subjectImage = "subject_image" }
}

/// The body of `POST /v1/images/multi-image2image` (kling-api.md §3.2): several subjects → one image.
///
/// Decodes the scene image from `scene_image` or from the old CometAPI spelling `scence_image`;
/// always encodes `scene_image`.
public struct MultiImageRequest: Codable, Sendable, Hashable {
    /// `kling-v2` (default) or `kling-v2-1`.
    public var modelName: ModelName?
    /// Prompt, at most 2500 characters.
    public var prompt: String?
    /// 1–4 subject images (the old CometAPI route: 2–4).
    public var subjectImageList: [SubjectImage]?
    /// Optional scene reference image.
    public var sceneImage: String?
    /// Optional style reference image.
    public var styleImage: String?
    /// Number of images, 1...9, default 1.
    public var n: Int?
    /// Output ratio, default `16:9`.
    public var aspectRatio: AspectRatio?
    /// Whether to also produce watermarked copies.
    public var watermarkInfo: WatermarkInfo?
    /// Absolute http(s) URL for status callbacks.
    public var callbackURL: String?
    /// The caller's id, unique per account.
    public var externalTaskID: String?

    public init(
        modelName: ModelName? = nil, prompt: String? = nil, subjectImageList: [SubjectImage]? = nil,
        sceneImage: String? = nil, styleImage: String? = nil, n: Int? = nil, aspectRatio: AspectRatio? = nil,
        watermarkInfo: WatermarkInfo? = nil, callbackURL: String? = nil, externalTaskID: String? = nil
    ) {
        self.modelName = modelName
        self.prompt = prompt
        self.subjectImageList = subjectImageList
        self.sceneImage = sceneImage
        self.styleImage = styleImage
        self.n = n
        self.aspectRatio = aspectRatio
        self.watermarkInfo = watermarkInfo
        self.callbackURL = callbackURL
        self.externalTaskID = externalTaskID
    }

    enum CodingKeys: String, CodingKey {
        case modelName = "model_name"
        case prompt
        case subjectImageList = "subject_image_list"
        case sceneImage = "scene_image"
        case legacySceneImage = "scence_image"
        case styleImage = "style_image"
        case n
        case aspectRatio = "aspect_ratio"
        case watermarkInfo = "watermark_info"
        case callbackURL = "callback_url"
        case externalTaskID = "external_task_id"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        modelName = try c.decodeIfPresent(ModelName.self, forKey: .modelName)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        subjectImageList = try c.decodeIfPresent([SubjectImage].self, forKey: .subjectImageList)
        let scene = try c.decodeIfPresent(String.self, forKey: .sceneImage)
        let legacy = try c.decodeIfPresent(String.self, forKey: .legacySceneImage)
        sceneImage = (scene ?? "").isEmpty ? legacy : scene
        styleImage = try c.decodeIfPresent(String.self, forKey: .styleImage)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        aspectRatio = try c.decodeIfPresent(AspectRatio.self, forKey: .aspectRatio)
        watermarkInfo = try c.decodeIfPresent(WatermarkInfo.self, forKey: .watermarkInfo)
        callbackURL = try c.decodeIfPresent(String.self, forKey: .callbackURL)
        externalTaskID = try c.decodeIfPresent(String.self, forKey: .externalTaskID)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(modelName, forKey: .modelName)
        try c.encodeIfPresent(prompt, forKey: .prompt)
        try c.encodeIfPresent(subjectImageList, forKey: .subjectImageList)
        try c.encodeIfPresent(sceneImage, forKey: .sceneImage)
        try c.encodeIfPresent(styleImage, forKey: .styleImage)
        try c.encodeIfPresent(n, forKey: .n)
        try c.encodeIfPresent(aspectRatio, forKey: .aspectRatio)
        try c.encodeIfPresent(watermarkInfo, forKey: .watermarkInfo)
        try c.encodeIfPresent(callbackURL, forKey: .callbackURL)
        try c.encodeIfPresent(externalTaskID, forKey: .externalTaskID)
    }

    /// The model the service will run: `model_name`, or kling-v2 when omitted or empty.
    public var effectiveModel: ModelName {
        if let modelName, !modelName.rawValue.isEmpty { return modelName }
        return .multiImageDefault
    }

    /// The number of images the task will produce (`n`, default 1).
    public var imageCount: Int { n ?? 1 }

    /// Every image of the request with its field path: subjects, then scene, then style.
    public var imageFields: [(field: String, value: String)] {
        var fields: [(String, String)] = []
        for (i, subject) in (subjectImageList ?? []).enumerated() {
            fields.append(("subject_image_list[\(i)].subject_image", subject.subjectImage))
        }
        if let sceneImage, !sceneImage.isEmpty { fields.append(("scene_image", sceneImage)) }
        if let styleImage, !styleImage.isEmpty { fields.append(("style_image", styleImage)) }
        return fields
    }
}

/// The bounds of the list route's `pageNum` (1...1000, default 1) and `pageSize` (1...500, default 30).
public struct PageQuery: Sendable, Hashable {
    public var pageNum: Int
    public var pageSize: Int
    public init(pageNum: Int = 1, pageSize: Int = 30) {
        self.pageNum = pageNum
        self.pageSize = pageSize
    }
    public static let pageNumRange = 1...1000
    public static let pageSizeRange = 1...500
}

/// The route family a task belongs to: it decides the create and query paths, and a task is queried
/// under the family it was created on. `multi-image` is the journal's spelling.
public enum TaskKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// `/v1/images/generations` (text→image and image→image).
    case generation
    /// `/v1/images/multi-image2image`.
    case multiImage = "multi-image"

    /// The native path of the family's collection (CometAPI puts `/kling` in front).
    public var path: String { self == .generation ? "/v1/images/generations" : "/v1/images/multi-image2image" }
}
