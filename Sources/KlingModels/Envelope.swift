import Foundation

/// The envelope of every Kling response: `{"code", "message", "request_id", "data"}` (kling-api.md §2).
///
/// `code` decodes from an integer or a decimal string; every other field may be absent or `null`.
/// `data` is a ``TaskObject`` for create and query, `[TaskObject]` for the list route, and usually
/// absent on errors. A failed *task* is still code 0: its reason is in `data.task_status_msg`.
public struct Envelope<DataType: Sendable>: Sendable {
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

    /// Whether `code` is 0.
    public var isSuccess: Bool { code == .success }
}

extension Envelope: Decodable where DataType: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(BusinessCode.self, forKey: .code)
        message = try container.decodeLenientStringIfPresent(forKey: .message)
        requestID = try container.decodeLenientStringIfPresent(forKey: .requestID)
        data = try container.decodeIfPresent(DataType.self, forKey: .data)
    }
}

extension Envelope: Encodable where DataType: Encodable {
    /// Encodes `code, message, request_id, data` in that order; absent members are left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encodeIfPresent(requestID, forKey: .requestID)
        try container.encodeIfPresent(data, forKey: .data)
    }
}

/// The head of any answer: the envelope's `code`, `message`, `request_id`, or CometAPI's `error`
/// member, read leniently (a `code` that is neither an integer nor a decimal string is `nil`, as is
/// a member of the wrong type), so a client can classify every body that is a JSON object.
public struct AnswerHead: Decodable, Sendable {
    /// The business code, when the body has a usable one.
    public var code: BusinessCode?
    public var message: String?
    public var requestID: String?
    /// CometAPI's own error body, when present.
    public var error: CometAPIError?

    enum CodingKeys: String, CodingKey {
        case code, message, error
        case requestID = "request_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try? container.decodeIfPresent(BusinessCode.self, forKey: .code)
        message = try? container.decodeLenientStringIfPresent(forKey: .message)
        requestID = try? container.decodeLenientStringIfPresent(forKey: .requestID)
        error = try? container.decodeIfPresent(CometAPIError.self, forKey: .error)
    }
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

    /// Encodes `message, type, code` in that order.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(message, forKey: .message)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(code, forKey: .code)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        message = try container.decodeLenientStringIfPresent(forKey: .message)
        type = try container.decodeLenientStringIfPresent(forKey: .type)
        code = try container.decodeLenientStringIfPresent(forKey: .code)
    }

    /// CometAPI's code for an unknown task id.
    public static let taskNotExistCode = "task_not_exist"
}
