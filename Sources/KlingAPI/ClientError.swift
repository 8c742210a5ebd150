/// The one error type of ``KlingClient``: what failed, where, and whether trying again can help.
///
/// Retryability is decided by the API's business `code` (kling-api.md §5), not by the HTTP status:
/// 429 with 1102 (resource pack used up) is final, 429 with 1303 (concurrency limit) is not. Without a
/// business code (a proxy's HTML page, a dropped connection) the transport class decides.
public struct ClientError: Error, Sendable, Equatable {
    /// The class of failure. An open set: new codes can be added without breaking a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The server answered with a non-zero business code (see ``ClientError/businessCode``).
        public static let api = Code("api")
        /// The connection failed or dropped before a full answer arrived.
        public static let transport = Code("transport")
        /// No answer within the request timeout.
        public static let timeout = Code("timeout")
        /// The answer was not the JSON envelope (HTML page, truncated or malformed JSON, a redirect).
        public static let invalidResponse = Code("invalid-response")
        /// The request broke a rule of the API and was not sent (``ClientError/field`` names the field).
        public static let invalidRequest = Code("invalid-request")
        /// A reference image broke an upload rule and was not sent.
        public static let invalidImage = Code("invalid-image")
        /// The task ended `failed`; ``ClientError/message`` is the server's `task_status_msg`.
        public static let taskFailed = Code("task-failed")
        /// Retrying or polling ran out of time; the task may still finish (resume it later).
        public static let deadlineExceeded = Code("deadline-exceeded")
        /// A result image could not be fetched, was too large, truncated or did not decode.
        public static let download = Code("download")
        /// The task journal could not be read or written.
        public static let journal = Code("journal")
        /// Missing or unusable configuration (credentials, base URL).
        public static let configuration = Code("configuration")
        /// The task does not exist on the server.
        public static let notFound = Code("not-found")
    }

    public var code: Code
    /// The server's `message`, a transport description, or the rule a request broke. Never holds a secret.
    public var message: String
    /// The HTTP status, when an answer arrived.
    public var httpStatus: Int?
    /// The API business code (`code` in the envelope, or a CometAPI error code when numeric).
    public var businessCode: Int?
    /// The server's `request_id`, for the vendor's support.
    public var requestID: String?
    /// The task concerned, when known.
    public var taskID: String?
    /// The request field or file concerned, for ``Code/invalidRequest`` and ``Code/invalidImage``.
    public var field: String?
    /// Whether the same call may succeed if repeated later.
    public var isRetryable: Bool

    public init(_ code: Code, _ message: String, httpStatus: Int? = nil, businessCode: Int? = nil,
                requestID: String? = nil, taskID: String? = nil, field: String? = nil, isRetryable: Bool = false) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.businessCode = businessCode
        self.requestID = requestID
        self.taskID = taskID
        self.field = field
        self.isRetryable = isRetryable
    }

    /// Whether a business code is worth retrying (kling-api.md §5): 1302 and 1303 (after backoff),
    /// 5000–5002 (server side). 1003/1004 are handled by re-signing, not by this flag.
    public static func isRetryable(businessCode: Int) -> Bool {
        switch businessCode {
        case 1302, 1303, 5000, 5001, 5002: return true
        default: return false
        }
    }

    /// Whether a status without a business code is worth retrying: 408, 425, 429, 500, 502, 503, 504.
    public static func isRetryable(httpStatus: Int) -> Bool {
        [408, 425, 429, 500, 502, 503, 504].contains(httpStatus)
    }
}

extension ClientError: CustomStringConvertible {
    /// One line, bounded to ~400 characters: `code: message (HTTP s, code c, request_id r, task t)`.
    public var description: String {
        var parts: [String] = []
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let businessCode { parts.append("code \(businessCode)") }
        if let requestID, !requestID.isEmpty { parts.append("request_id \(requestID)") }
        if let taskID { parts.append("task \(taskID)") }
        var text = message.replacingOccurrences(of: "\n", with: " ")
        if text.count > 300 { text = String(text.prefix(300)) + "…" }
        if let field, code == .invalidRequest || code == .invalidImage, !text.contains(field) { text = "\(field): \(text)" }
        return parts.isEmpty ? "\(code): \(text)" : "\(code): \(text) (\(parts.joined(separator: ", ")))"
    }
}
