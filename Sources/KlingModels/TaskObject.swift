import Foundation

/// A task's status. The vendor spells success `succeed`; ``succeed`` and ``failed`` are terminal.
/// Values the service adds later decode as ``unknown(_:)`` instead of failing.
public enum TaskStatus: Sendable, Hashable, Codable, CustomStringConvertible {
    case submitted
    case processing
    case succeed
    case failed
    case unknown(String)

    /// The status for a wire spelling, compared case-insensitively (`SUCCEED` is ``succeed``); any
    /// other text is kept as ``unknown(_:)``.
    public init(rawValue: String) {
        switch rawValue.lowercased() {
        case "submitted": self = .submitted
        case "processing": self = .processing
        case "succeed": self = .succeed
        case "failed": self = .failed
        default: self = .unknown(rawValue)
        }
    }

    /// The wire spelling.
    public var rawValue: String {
        switch self {
        case .submitted: "submitted"
        case .processing: "processing"
        case .succeed: "succeed"
        case .failed: "failed"
        case .unknown(let value): value
        }
    }

    /// Whether the task has ended (`succeed` or `failed`); an unknown status is not terminal.
    public var isTerminal: Bool { self == .succeed || self == .failed }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// `task_info`: the creation parameters echoed back.
public struct TaskInfo: Codable, Sendable, Hashable {
    /// The caller's `external_task_id`, if one was sent.
    public var externalTaskID: String?
    public init(externalTaskID: String? = nil) { self.externalTaskID = externalTaskID }
    enum CodingKeys: String, CodingKey { case externalTaskID = "external_task_id" }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        externalTaskID = try container.decodeLenientStringIfPresent(forKey: .externalTaskID)
    }
}

/// `watermark_info`: whether a watermarked copy of each result is produced.
public struct WatermarkInfo: Codable, Sendable, Hashable {
    public var enabled: Bool?
    public init(enabled: Bool?) { self.enabled = enabled }
}

/// One generated image of `task_result.images`.
public struct ResultImage: Codable, Sendable, Hashable {
    /// Position in the result, 0 ..< n.
    public var index: Int?
    /// Download URL of the image; expires (30 days at the vendor, 24 h at some relays): download at once.
    public var url: String?
    /// Download URL of the watermarked copy, when `watermark_info.enabled` was true.
    public var watermarkURL: String?

    public init(index: Int?, url: String?, watermarkURL: String? = nil) {
        self.index = index
        self.url = url
        self.watermarkURL = watermarkURL
    }

    enum CodingKeys: String, CodingKey {
        case index, url
        case watermarkURL = "watermark_url"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        index = try container.decodeLenientInt64IfPresent(forKey: .index).map { Int(clamping: $0) }
        url = try container.decodeIfPresent(String.self, forKey: .url)
        watermarkURL = try container.decodeIfPresent(String.self, forKey: .watermarkURL)
    }
}

/// `task_result`: the generated images, present once the task has succeeded.
public struct TaskResult: Codable, Sendable, Hashable {
    public var images: [ResultImage]?
    public init(images: [ResultImage]?) { self.images = images }
}

/// A task as the service returns it from create, query, list, and in callbacks (kling-api.md §2).
///
/// Every field is optional: CometAPI returns `null`s and create answers carry only a few fields.
/// Times are Unix **milliseconds**.
public struct TaskObject: Codable, Sendable, Hashable {
    /// The service's opaque task id.
    public var taskID: String?
    /// The task's status.
    public var taskStatus: TaskStatus?
    /// The failure reason when `taskStatus` is `failed` (and sometimes a note otherwise).
    public var taskStatusMessage: String?
    /// Echo of the creation parameters (`external_task_id`).
    public var taskInfo: TaskInfo?
    /// Creation time, Unix milliseconds.
    public var createdAt: Int64?
    /// Last status change, Unix milliseconds.
    public var updatedAt: Int64?
    /// Units deducted for the task, as a decimal string (e.g. `"1"`).
    public var finalUnitDeduction: String?
    /// Whether watermarked copies were requested.
    public var watermarkInfo: WatermarkInfo?
    /// The result images, once the task has succeeded.
    public var taskResult: TaskResult?

    public init(
        taskID: String? = nil, taskStatus: TaskStatus? = nil, taskStatusMessage: String? = nil,
        taskInfo: TaskInfo? = nil, createdAt: Int64? = nil, updatedAt: Int64? = nil,
        finalUnitDeduction: String? = nil, watermarkInfo: WatermarkInfo? = nil, taskResult: TaskResult? = nil
    ) {
        self.taskID = taskID
        self.taskStatus = taskStatus
        self.taskStatusMessage = taskStatusMessage
        self.taskInfo = taskInfo
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finalUnitDeduction = finalUnitDeduction
        self.watermarkInfo = watermarkInfo
        self.taskResult = taskResult
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id"
        case taskStatus = "task_status"
        case taskStatusMessage = "task_status_msg"
        case taskInfo = "task_info"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case finalUnitDeduction = "final_unit_deduction"
        case watermarkInfo = "watermark_info"
        case taskResult = "task_result"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        taskID = try container.decodeLenientStringIfPresent(forKey: .taskID)
        taskStatus = try container.decodeIfPresent(TaskStatus.self, forKey: .taskStatus)
        taskStatusMessage = try container.decodeLenientStringIfPresent(forKey: .taskStatusMessage)
        taskInfo = try container.decodeIfPresent(TaskInfo.self, forKey: .taskInfo)
        createdAt = try container.decodeLenientInt64IfPresent(forKey: .createdAt)
        updatedAt = try container.decodeLenientInt64IfPresent(forKey: .updatedAt)
        finalUnitDeduction = try container.decodeLenientStringIfPresent(forKey: .finalUnitDeduction)
        watermarkInfo = try container.decodeIfPresent(WatermarkInfo.self, forKey: .watermarkInfo)
        taskResult = try container.decodeIfPresent(TaskResult.self, forKey: .taskResult)
    }

    /// The caller's external id, if any (`task_info.external_task_id`).
    public var externalTaskID: String? { taskInfo?.externalTaskID }

    /// The result images in index order (empty until the task succeeds).
    public var images: [ResultImage] {
        (taskResult?.images ?? []).sorted { ($0.index ?? 0) < ($1.index ?? 0) }
    }
}

extension TaskObject {
    /// Decodes a callback body: the bare task object, or (tolerated) one wrapped in an ``Envelope``.
    /// - Throws: `DecodingError` when the body is neither.
    public static func decodeCallback(_ body: Data) throws -> TaskObject {
        let decoder = JSONDecoder()
        if let envelope = try? decoder.decode(Envelope<TaskObject>.self, from: body), let task = envelope.data {
            return task
        }
        return try decoder.decode(TaskObject.self, from: body)
    }
}

/// The shapes a service answers a task in (the examples in `shared/seeds`): which members appear and
/// which absent ones are written as `null`. (Member order is the encoder's: the emulator sorts keys.)
public enum TaskObjectLayout: Sendable, Hashable {
    /// Native create (seed 003): `task_id, task_status, task_info, created_at, updated_at`.
    case nativeCreate
    /// CometAPI create (seed 001): `created_at, task_id, task_info, task_result, task_status,
    /// task_status_msg, updated_at`, absent members as `null`.
    case cometCreate
    /// Query, list item and callback body (seed 003): `task_id, task_status, task_status_msg,
    /// final_unit_deduction, watermark_info, task_info, created_at, updated_at, task_result`.
    case full
}

/// A ``TaskObject`` encoded in one ``TaskObjectLayout``: what a server (the emulator) answers with.
public struct LaidOutTask: Encodable, Sendable, Hashable {
    public var task: TaskObject
    public var layout: TaskObjectLayout

    public init(_ task: TaskObject, layout: TaskObjectLayout) {
        self.task = task
        self.layout = layout
    }

    public func encode(to encoder: any Encoder) throws {
        typealias Key = TaskObject.CodingKeys
        var c = encoder.container(keyedBy: Key.self)
        let t = task
        func info(nullWhenAbsent: Bool) throws {
            guard let taskInfo = t.taskInfo else {
                if nullWhenAbsent { try c.encodeNil(forKey: .taskInfo) }
                return
            }
            var nested = c.nestedContainer(keyedBy: TaskInfo.CodingKeys.self, forKey: .taskInfo)
            if let external = taskInfo.externalTaskID {
                try nested.encode(external, forKey: .externalTaskID)
            } else if nullWhenAbsent {
                try nested.encodeNil(forKey: .externalTaskID)
            }
        }
        switch layout {
        case .nativeCreate:
            try c.encodeIfPresent(t.taskID, forKey: .taskID)
            try c.encodeIfPresent(t.taskStatus, forKey: .taskStatus)
            try info(nullWhenAbsent: false)
            try c.encodeIfPresent(t.createdAt, forKey: .createdAt)
            try c.encodeIfPresent(t.updatedAt, forKey: .updatedAt)
        case .cometCreate:
            func orNull<T: Encodable>(_ value: T?, _ key: Key) throws {
                if let value { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
            }
            try orNull(t.createdAt, .createdAt)
            try orNull(t.taskID, .taskID)
            try info(nullWhenAbsent: true)
            try orNull(t.taskResult, .taskResult)
            try orNull(t.taskStatus, .taskStatus)
            try orNull(t.taskStatusMessage, .taskStatusMessage)
            try orNull(t.updatedAt, .updatedAt)
        case .full:
            try c.encodeIfPresent(t.taskID, forKey: .taskID)
            try c.encodeIfPresent(t.taskStatus, forKey: .taskStatus)
            try c.encodeIfPresent(t.taskStatusMessage, forKey: .taskStatusMessage)
            try c.encodeIfPresent(t.finalUnitDeduction, forKey: .finalUnitDeduction)
            try c.encodeIfPresent(t.watermarkInfo, forKey: .watermarkInfo)
            try info(nullWhenAbsent: false)
            try c.encodeIfPresent(t.createdAt, forKey: .createdAt)
            try c.encodeIfPresent(t.updatedAt, forKey: .updatedAt)
            try c.encodeIfPresent(t.taskResult, forKey: .taskResult)
        }
    }
}
