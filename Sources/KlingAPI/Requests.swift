import KlingModels

/// A reference image as the caller has it.
public enum ImageInput: Sendable, Equatable {
    /// A local JPEG or PNG: checked against the upload rules (and fixed up on request), then sent as
    /// prefix-free base64.
    case file(String)
    /// Image bytes already in memory (checked like a file); `name` is used in messages.
    case bytes([UInt8], name: String)
    /// A public http(s) URL, sent as is (optionally fetched and checked first, see ``ImageHandling``).
    case url(String)

    /// `http://…`/`https://…` become ``url(_:)``, anything else ``file(_:)``.
    public static func parse(_ text: String) -> ImageInput {
        let lower = text.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") ? .url(text) : .file(text)
    }

    var displayName: String {
        switch self {
        case .file(let path): return path
        case .bytes(_, let name): return name
        case .url(let url): return url
        }
    }
}

/// How reference images are handled before sending.
public struct ImageHandling: Sendable {
    /// Fix a local image that breaks a rule (resize, pad/crop, re-encode) instead of refusing it.
    /// Default `false`: an invalid image is refused with the rule it breaks.
    public var prepare: Bool
    /// Fetch URL images and check them against the rules too (they are still sent as URLs).
    /// Default `false`.
    public var checkURLs: Bool

    public init(prepare: Bool = false, checkURLs: Bool = false) {
        self.prepare = prepare
        self.checkURLs = checkURLs
    }
}

/// A text→image or image→image request (`POST /v1/images/generations`, kling-api.md §3.1).
///
/// Fields left `nil` are not sent. Validated against every rule of the API before anything is sent.
public struct GenerationRequest: Sendable, Equatable {
    /// Required, 1…2500 characters.
    public var prompt: String
    /// At most 2500 characters; not allowed together with ``image``.
    public var negativePrompt: String?
    /// A reference image for image→image.
    public var image: ImageInput?
    /// `subject` or `face`; needs ``image``; required for kling-v1-5 with an image.
    public var imageReference: ImageReference?
    /// 0…1 (service default 0.5); kling-v1 and kling-v1-5 only.
    public var imageFidelity: Double?
    /// 0…1 (service default 0.45); kling-v1-5 with `subject` only.
    public var humanFidelity: Double?
    /// Element-library ids (Int64: they exceed 2^53); elements + images ≤ 10.
    public var elementIDs: [Int64]
    /// Default `kling-v3` (always sent).
    public var model: ModelName
    /// 1…9 (service default 1).
    public var n: Int?
    /// Service default `16:9`.
    public var aspectRatio: AspectRatio?
    /// `1k` (service default) or `2k`.
    public var resolution: Resolution?
    /// Also produce watermarked copies.
    public var watermark: Bool?
    /// An http(s) URL for status callbacks.
    public var callbackURL: String?
    /// Your id for the task, unique per account; a UUID is generated when `nil`.
    public var externalTaskID: String?

    public init(prompt: String, negativePrompt: String? = nil, image: ImageInput? = nil,
                imageReference: ImageReference? = nil, imageFidelity: Double? = nil, humanFidelity: Double? = nil,
                elementIDs: [Int64] = [], model: ModelName = .recommended, n: Int? = nil,
                aspectRatio: AspectRatio? = nil, resolution: Resolution? = nil, watermark: Bool? = nil,
                callbackURL: String? = nil, externalTaskID: String? = nil) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.image = image
        self.imageReference = imageReference
        self.imageFidelity = imageFidelity
        self.humanFidelity = humanFidelity
        self.elementIDs = elementIDs
        self.model = model
        self.n = n
        self.aspectRatio = aspectRatio
        self.resolution = resolution
        self.watermark = watermark
        self.callbackURL = callbackURL
        self.externalTaskID = externalTaskID
    }
}

/// A multi-image request (`POST /v1/images/multi-image2image`, kling-api.md §3.2).
public struct MultiImageGenerationRequest: Sendable, Equatable {
    /// Required, 1…2500 characters.
    public var prompt: String
    /// 1…4 subject images.
    public var subjects: [ImageInput]
    /// Optional scene reference.
    public var scene: ImageInput?
    /// Optional style reference.
    public var style: ImageInput?
    /// `kling-v2` (default) or `kling-v2-1`.
    public var model: ModelName
    public var n: Int?
    public var aspectRatio: AspectRatio?
    public var watermark: Bool?
    public var callbackURL: String?
    /// Your id for the task; a UUID is generated when `nil`.
    public var externalTaskID: String?

    public init(prompt: String, subjects: [ImageInput], scene: ImageInput? = nil, style: ImageInput? = nil,
                model: ModelName = .multiImageDefault, n: Int? = nil, aspectRatio: AspectRatio? = nil,
                watermark: Bool? = nil, callbackURL: String? = nil, externalTaskID: String? = nil) {
        self.prompt = prompt
        self.subjects = subjects
        self.scene = scene
        self.style = style
        self.model = model
        self.n = n
        self.aspectRatio = aspectRatio
        self.watermark = watermark
        self.callbackURL = callbackURL
        self.externalTaskID = externalTaskID
    }
}

/// What ``KlingClient/submit(_:options:)`` returns once the create is accepted and journaled.
public struct SubmittedTask: Sendable, Equatable {
    public var taskID: String
    public var externalTaskID: String
    public var kind: TaskKind
    /// The task as the create (or the recovery query) answered it.
    public var task: TaskObject
    /// Whether an earlier attempt's task was found by external id instead of creating a new one.
    public var recovered: Bool
    /// Create attempts actually sent (1 unless transient failures were retried).
    public var attempts: Int
}

/// Per-submit options beyond the request itself.
public struct SubmitOptions: Sendable {
    public var images: ImageHandling
    /// Recorded in the journal entry for a later `resume`: where results go.
    public var outputDirectory: String?
    /// Recorded in the journal entry: also fetch watermarked copies.
    public var includeWatermarked: Bool
    /// Recorded in the journal entry: a contact sheet to write after download.
    public var sheetPath: String?

    public init(images: ImageHandling = .init(), outputDirectory: String? = nil, includeWatermarked: Bool = false,
                sheetPath: String? = nil) {
        self.images = images
        self.outputDirectory = outputDirectory
        self.includeWatermarked = includeWatermarked
        self.sheetPath = sheetPath
    }
}
