import Foundation

/// The envelope of every Kling response: `{"code", "message", "request_id", "data"}` (kling-api.md §2).
///
/// `code` decodes from an integer or a decimal string; every other field may be absent or `null`.
/// `data` is a ``TaskObject`` for create and query, `[TaskObject]` for the list route, and usually
/// absent on errors. A failed *task* is still code 0: its reason is in `data.task_status_msg`.
public struct Envelope<DataType: Codable & Sendable>: Codable, Sendable {
    /// The business code; ``BusinessCode/success`` (0) on success.
    public var code: BusinessCode
    /// `"SUCCEED"` on success, otherwise a human-readable reason.
    public var message: String?
    /// The server's id for this request, for support tickets.
    public var requestID: String?
    /// The payload; `nil` on most errors.
    public var data: DataType?

    public init(code: BusinessCode, message: String?, requestID: String?, data: DataType?) {
        self.code = code
        self.message = message
        self.requestID = requestID
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case code, message, data
        case requestID = "request_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(BusinessCode.self, forKey: .code)
        message = try container.decodeLenientStringIfPresent(forKey: .message)
        requestID = try container.decodeLenientStringIfPresent(forKey: .requestID)
        data = try container.decodeIfPresent(DataType.self, forKey: .data)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encodeIfPresent(requestID, forKey: .requestID)
        try container.encodeIfPresent(data, forKey: .data)
    }

    /// Whether `code` is 0.
    public var isSuccess: Bool { code == .success }
}

/// CometAPI's own error body: `{"error": {"message", "type", "code"}}` (kling-api.md §5).
///
/// CometAPI answers some failures (bad key, unknown task: `task_not_exist`) with this shape instead of
/// the Kling envelope. `code` may be a string or a number; it is kept as a string.
public struct CometAPIErrorEnvelope: Codable, Sendable, Hashable {
    public var error: CometAPIError
    public init(error: CometAPIError) { self.error = error }
}

/// The `error` member of a ``CometAPIErrorEnvelope``.
public struct CometAPIError: Codable, Sendable, Hashable {
    /// A human-readable message.
    public var message: String?
    /// A category such as `"invalid_request_error"`.
    public var type: String?
    /// A machine code such as `"task_not_exist"` or `"1201"`.
    public var code: String?

    public init(message: String?, type: String?, code: String?) {
        self.message = message
        self.type = type
        self.code = code
    }

    enum CodingKeys: String, CodingKey { case message, type, code }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        message = try container.decodeLenientStringIfPresent(forKey: .message)
        type = try container.decodeLenientStringIfPresent(forKey: .type)
        code = try container.decodeLenientStringIfPresent(forKey: .code)
    }

    /// CometAPI's code for an unknown task id.
    public static let taskNotExistCode = "task_not_exist"
}
