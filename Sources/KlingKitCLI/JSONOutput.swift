import Foundation
import KlingAPI
import KlingModels
import KlingSupport
import ReferenceImages

// Every `--json` output and manifest of the commands is written by `JSONEncoder`: the API outputs are
// `Encodable` values with sorted keys (as they always were); the image commands' JSON lines keep the
// member order and spacing their documentation shows, through `FixedOrderJSON` (whose values
// `JSONEncoder` encodes), because `JSONEncoder` does not keep `CodingKeys` order on Linux.

/// Compact (or, with `pretty`, indented) JSON text of `value`; slashes are not escaped unless `escapeSlashes`.
func jsonText<T: Encodable>(_ value: T, sorted: Bool, pretty: Bool = false, escapeSlashes: Bool = false) -> String {
    String(decoding: jsonBytes(value, sorted: sorted, pretty: pretty, escapeSlashes: escapeSlashes), as: UTF8.self)
}

/// The UTF-8 bytes of ``jsonText(_:sorted:pretty:escapeSlashes:)``.
func jsonBytes<T: Encodable>(_ value: T, sorted: Bool, pretty: Bool = false, escapeSlashes: Bool = false) -> [UInt8] {
    let encoder = JSONEncoder()
    var format: JSONEncoder.OutputFormatting = []
    if sorted { format.insert(.sortedKeys) }
    if pretty { format.insert(.prettyPrinted) }
    if !escapeSlashes { format.insert(.withoutEscapingSlashes) }
    encoder.outputFormatting = format
    // Every output type below holds strings, integers, booleans and arrays of them: encoding cannot fail.
    return Array((try? encoder.encode(value)) ?? Data())
}

/// Prints `value` as one line of JSON with sorted keys.
func printJSON<T: Encodable>(_ value: T) {
    outputJSON(jsonText(value, sorted: true))
}

/// A task as `generate`, `status` and `list` print it with `--json` (sorted keys): `task_id` and
/// `task_status` always (`null` when unknown), the other task members when present, and what the
/// command adds (`files`, `sheet`).
struct TaskSummary: Encodable {
    struct Image: Encodable {
        var index: Int
        var url: String?
        var watermarkURL: String?
        enum CodingKeys: String, CodingKey {
            case index, url
            case watermarkURL = "watermark_url"
        }
    }

    var taskID: String?
    var taskStatus: String?
    var taskStatusMessage: String?
    var externalTaskID: String?
    var createdAt: Int64?
    var updatedAt: Int64?
    var finalUnitDeduction: String?
    var images: [Image]
    var files: [String]?
    var sheet: String?

    init(_ task: TaskObject) {
        taskID = task.taskID
        taskStatus = task.taskStatus?.rawValue
        taskStatusMessage = (task.taskStatusMessage ?? "").isEmpty ? nil : task.taskStatusMessage
        externalTaskID = task.externalTaskID
        createdAt = task.createdAt
        updatedAt = task.updatedAt
        finalUnitDeduction = task.finalUnitDeduction
        images = task.images.map { Image(index: $0.index ?? 0, url: $0.url, watermarkURL: $0.watermarkURL) }
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", taskStatus = "task_status", taskStatusMessage = "task_status_msg"
        case externalTaskID = "external_task_id", createdAt = "created_at", updatedAt = "updated_at"
        case finalUnitDeduction = "final_unit_deduction", images, files, sheet
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let taskID { try c.encode(taskID, forKey: .taskID) } else { try c.encodeNil(forKey: .taskID) }
        if let taskStatus { try c.encode(taskStatus, forKey: .taskStatus) } else { try c.encodeNil(forKey: .taskStatus) }
        try c.encodeIfPresent(taskStatusMessage, forKey: .taskStatusMessage)
        try c.encodeIfPresent(externalTaskID, forKey: .externalTaskID)
        try c.encodeIfPresent(createdAt, forKey: .createdAt)
        try c.encodeIfPresent(updatedAt, forKey: .updatedAt)
        try c.encodeIfPresent(finalUnitDeduction, forKey: .finalUnitDeduction)
        try c.encode(images, forKey: .images)
        try c.encodeIfPresent(files, forKey: .files)
        try c.encodeIfPresent(sheet, forKey: .sheet)
    }
}

/// `download --json`: `{"files": [...], "task_id": ...}`.
struct DownloadSummary: Encodable {
    var taskID: String
    var files: [String]
    enum CodingKeys: String, CodingKey { case taskID = "task_id", files }
}

/// One `resume --json` line.
struct ResumeLine: Encodable {
    var externalTaskID: String
    var state: String
    var files: [String]
    var taskID: String?
    var error: String?
    var sheetError: String?
    enum CodingKeys: String, CodingKey {
        case externalTaskID = "external_task_id", state, files, taskID = "task_id", error, sheetError = "sheet_error"
    }
}

/// One `check --json` line: ``ValidationReport/checkJSON(faces:strictFace:)``, the encoding
/// `klingkit serve`'s `/v1/check` shares.
func checkLine(_ report: ValidationReport, faces: CheckFaces.Result? = nil, strictFace: Bool = false) -> String {
    report.checkJSON(faces: faces, strictFace: strictFace).text
}

/// One `prepare --json` line, in its documented order and spacing: `input, output, actions, width,
/// height, bytes, error{rule, message}` (`error` `null` on success).
func prepareLine(_ outcome: PrepareOutcome) -> String {
    var line = FixedOrderJSON(spacing: .spaced)
    try? line.add("input", outcome.input)
    try? line.add("output", outcome.output)
    try? line.add("actions", outcome.actions)
    try? line.add("width", outcome.width)
    try? line.add("height", outcome.height)
    try? line.add("bytes", outcome.bytes)
    if let error = outcome.error {
        var entry = FixedOrderJSON(spacing: .spaced)
        try? entry.add("rule", error.rule)
        try? entry.add("message", error.message)
        try? line.add("error", object: entry)
    } else {
        try? line.add("error", String?.none)
    }
    return line.text
}
