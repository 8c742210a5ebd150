import Foundation

/// What `klingkit generate` records about a request, as `request.json` in the task's result folder
/// (`<out>/<task_id>/request.json`, beside the images and `task.json`), so a gallery can show how each
/// result was made and regenerate it. Written right after the task is accepted; every field is optional
/// when read, so older folders and hand-made ones still load.
///
/// Reference images are recorded as given: an absolute path for a local file (resolved when written), or
/// the http(s) URL. Image bytes are never written here.
public struct RequestRecord: Codable, Sendable, Equatable {
    /// `image_generation` (text→image and image→image) or `multi_image_generation`.
    public var kind: String?
    public var prompt: String?
    public var negativePrompt: String?
    public var model: String?
    /// Images requested, 1...9.
    public var n: Int?
    public var aspectRatio: String?
    /// `1k` or `2k`.
    public var resolution: String?
    /// Image→image reference: an absolute path or URL.
    public var image: String?
    /// `subject` or `face`.
    public var imageReference: String?
    /// 0...1.
    public var imageFidelity: Double?
    /// 0...1.
    public var humanFidelity: Double?
    /// Multi-image subjects (paths or URLs).
    public var subjects: [String]?
    public var scene: String?
    public var style: String?
    public var elementIDs: [String]?
    public var watermark: Bool?
    public var externalTaskID: String?

    public init(kind: String? = nil, prompt: String? = nil) {
        self.kind = kind
        self.prompt = prompt
    }

    enum CodingKeys: String, CodingKey {
        case kind, prompt, model, n, resolution, image, subjects, scene, style, watermark
        case negativePrompt = "negative_prompt", aspectRatio = "aspect_ratio", imageReference = "image_reference"
        case imageFidelity = "image_fidelity", humanFidelity = "human_fidelity", elementIDs = "element_ids"
        case externalTaskID = "external_task_id"
    }

    /// Every reference image in the request with its role (`image`, `subject`, `scene`, `style`).
    public var references: [(role: String, location: String)] {
        var list: [(String, String)] = []
        if let image { list.append(("image", image)) }
        for subject in subjects ?? [] { list.append(("subject", subject)) }
        if let scene { list.append(("scene", scene)) }
        if let style { list.append(("style", style)) }
        return list
    }
}

/// `task.json`, written by `klingkit generate` (and `resume`, `demo`) beside a task's images when they are
/// downloaded, read by the gallery. Every field is optional when read.
public struct TaskRecord: Codable, Sendable, Equatable {
    public var taskID: String?
    public var externalTaskID: String?
    /// `kling` or `cometapi`.
    public var provider: String?
    /// The image files, relative to the task folder.
    public var files: [String]?
    public var prompt: String?
    public var taskStatus: String?
    public var taskStatusMessage: String?
    /// As the API gave it (a decimal string).
    public var finalUnitDeduction: String?
    /// The task's `created_at` and `updated_at`, Unix milliseconds (the gallery's wall time).
    public var createdAt: Int64?
    public var updatedAt: Int64?

    public init(taskID: String?, externalTaskID: String? = nil, provider: String? = nil, files: [String]? = nil,
                prompt: String? = nil, taskStatus: String? = nil, taskStatusMessage: String? = nil,
                finalUnitDeduction: String? = nil, createdAt: Int64? = nil, updatedAt: Int64? = nil) {
        self.taskID = taskID
        self.externalTaskID = externalTaskID
        self.provider = provider
        self.files = files
        self.prompt = prompt
        self.taskStatus = taskStatus
        self.taskStatusMessage = taskStatusMessage
        self.finalUnitDeduction = finalUnitDeduction
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case provider, files, prompt
        case taskID = "task_id", externalTaskID = "external_task_id", taskStatus = "task_status"
        case taskStatusMessage = "task_status_msg", finalUnitDeduction = "final_unit_deduction"
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// `gallery.json`: everything the page shows, also embedded in `gallery.js` (a `file://` page cannot
/// fetch it). Groups are in input order; in each group the references come first, then the results.
public struct GalleryDocument: Codable, Sendable {
    /// Always `klingkit-gallery/1`.
    public var format: String
    /// A stable id for this gallery's folder (its picks are stored under it in the browser).
    public var id: String
    public var title: String
    /// When the gallery was written (ISO 8601, UTC).
    public var created: String
    /// The side of the square thumbnails are fitted into, in pixels.
    public var thumbnailSize: Int
    public var groups: [GalleryGroup]
    /// Inputs that were left out, one line each (file and reason).
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case format, id, title, created, groups, warnings
        case thumbnailSize = "thumbnail_size"
    }
}

/// One task (or one batch line, or one plain folder) with its references and results.
public struct GalleryGroup: Codable, Sendable {
    /// Unique in the document: `task:<task_id>`, `line:<n>` or `folder:<path>`.
    public var id: String
    /// `task`, `batch-line` or `folder`.
    public var kind: String
    /// What the page shows as the group's heading.
    public var label: String
    public var taskID: String?
    /// The batch file's line number (1-based), for a manifest group.
    public var line: Int?
    /// `succeed`, `failed`, … when known.
    public var status: String?
    /// `task_status_msg` (or the manifest's error) when the task failed.
    public var message: String?
    /// The request that made the results, when it was recorded (for regenerating them).
    public var request: RequestRecord?
    /// The absolute folder the task's folder is in: where `klingkit generate --out` wrote it.
    public var outputFolder: String?
    /// References first, then results.
    public var entries: [GalleryEntry]

    enum CodingKeys: String, CodingKey {
        case id, kind, label, line, status, message, request, entries
        case taskID = "task_id", outputFolder = "output_folder"
    }
}

/// One picture on the page: a result or a reference, with every fact the page shows about it.
public struct GalleryEntry: Codable, Sendable {
    /// Unique in the document: `<task_id>#<index>`, `<task_id>/ref<k>`, or the group id plus the file name.
    public var id: String
    /// `result` or `reference`.
    public var role: String
    /// For a reference: `image`, `subject`, `scene` or `style`.
    public var referenceRole: String?
    /// The file's name.
    public var name: String
    /// The full-size picture, relative to the gallery folder (percent-encoded URL path), or its http(s) URL.
    public var href: String
    /// The thumbnail, relative to the gallery folder; nil when it could not be made (see ``error``).
    public var thumbnail: String?
    /// Displayed width and height of the full-size picture, in pixels; nil when unreadable.
    public var width: Int?
    public var height: Int?
    /// File size in bytes.
    public var bytes: Int?
    /// `jpeg` or `png`.
    public var format: String?
    public var taskID: String?
    public var externalTaskID: String?
    /// The result's `index`.
    public var index: Int?
    public var line: Int?
    public var prompt: String?
    public var negativePrompt: String?
    public var model: String?
    public var aspectRatio: String?
    public var resolution: String?
    /// The request's reference kind (`subject`/`face`) and fidelities.
    public var imageReference: String?
    public var imageFidelity: Double?
    public var humanFidelity: Double?
    /// The task's `final_unit_deduction`, as the API gave it.
    public var finalUnitDeduction: String?
    /// From the task's `created_at` to its `updated_at`, in seconds.
    public var wallTimeSeconds: Double?
    /// Why the picture could not be read (the entry is still listed).
    public var error: String?

    init(id: String, role: String, name: String, href: String) {
        self.id = id
        self.role = role
        self.name = name
        self.href = href
    }

    enum CodingKeys: String, CodingKey {
        case id, role, name, href, thumbnail, width, height, bytes, format, index, line, prompt, model, resolution, error
        case referenceRole = "reference_role", taskID = "task_id", externalTaskID = "external_task_id"
        case negativePrompt = "negative_prompt", aspectRatio = "aspect_ratio", imageReference = "image_reference"
        case imageFidelity = "image_fidelity", humanFidelity = "human_fidelity"
        case finalUnitDeduction = "final_unit_deduction", wallTimeSeconds = "wall_time_seconds"
    }
}

/// An error that stops a gallery: an input that does not exist or holds nothing to show, bad options,
/// or an output that cannot be written. A damaged image never is one; its entry carries ``GalleryEntry/error``.
public struct GalleryError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        fileprivate let raw: String
        public static let input = Code(raw: "input")
        public static let invalidOption = Code(raw: "invalid-option")
        public static let output = Code(raw: "output")
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
