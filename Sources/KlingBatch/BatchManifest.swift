import Foundation
import KlingSupport

/// One line of `manifest.jsonl`: a batch line, its task, files and outcome, and the request fields a
/// gallery shows. Keys in a fixed order (see ``json()``); absent values are `null`.
public struct ManifestEntry: Sendable, Hashable, Codable {
    public var line: Int
    public var id: String
    public var externalTaskID: String
    public var taskID: String?
    /// `succeeded`, `failed`, or the unfinished state (`pending`, `running`, …).
    public var outcome: String
    public var files: [String]
    public var message: String?
    public var code: Int?
    public var requestID: String?
    public var prompt: String?
    public var model: String
    public var aspectRatio: String?
    public var resolution: String?
    public var n: Int
    /// Reference images as given (paths made absolute, URLs as they are), every image field in order.
    public var references: [String]
    /// The same references by role, under the request's field names, so a reader (`klingkit gallery`)
    /// can tell a subject from a scene: `image` with `image_reference`, `subjects`, `scene`, `style`.
    public var image: String?
    public var imageReference: String?
    public var subjects: [String]?
    public var scene: String?
    public var style: String?

    public init(_ job: BatchJob) {
        let spec = (try? JSONDecoder().decode(BatchSpec.self, from: Data(job.request.utf8))) ?? BatchSpec()
        line = job.line
        id = job.lineID
        externalTaskID = job.externalTaskID
        taskID = job.taskID
        outcome = job.state.rawValue
        files = job.files
        message = job.message
        code = job.businessCode
        requestID = job.requestID
        prompt = spec.prompt
        model = spec.effectiveModel.rawValue
        aspectRatio = spec.aspectRatio
        resolution = spec.resolution
        n = spec.slots
        references = spec.imageFields.map(\.value)
        image = spec.image
        imageReference = spec.imageReference
        subjects = spec.subjects
        scene = spec.scene
        style = spec.style
    }

    /// The entry as one line of JSON, keys in this order: line, id, external_task_id, task_id, outcome,
    /// files, message, code, request_id, prompt, model, aspect_ratio, resolution, n, references, image,
    /// image_reference, subjects, scene, style.
    public func json() throws -> String {
        var o = FixedOrderJSON()
        try o.add("line", line)
        try o.add("id", id)
        try o.add("external_task_id", externalTaskID)
        try o.add("task_id", taskID)
        try o.add("outcome", outcome)
        try o.add("files", files)
        try o.add("message", message)
        try o.add("code", code)
        try o.add("request_id", requestID)
        try o.add("prompt", prompt)
        try o.add("model", model)
        try o.add("aspect_ratio", aspectRatio)
        try o.add("resolution", resolution)
        try o.add("n", n)
        try o.add("references", references)
        try o.add("image", image)
        try o.add("image_reference", imageReference)
        try o.add("subjects", subjects)
        try o.add("scene", scene)
        try o.add("style", style)
        return o.text
    }

    /// Writes `manifest.jsonl` for `jobs` to `path`, atomically.
    /// - Throws: ``BatchError`` `.file`.
    public static func write(_ jobs: [BatchJob], to path: String) throws {
        var text = ""
        for job in jobs.sorted(by: { $0.line < $1.line }) { text += try ManifestEntry(job).json() + "\n" }
        do { try AtomicOutputFile.write(Array(text.utf8), to: path) } catch {
            throw BatchError(.file, "cannot write \(path): \(error.message)")
        }
    }
}
