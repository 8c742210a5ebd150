import Foundation
import HTTPTypes
import Hummingbird
import KlingSupport
import NIOCore

/// Why the service refused a request: the one error shape of this layer, answered as the JSON body
/// `{"code", "rule", "message"}` with the ``status`` of its ``code``.
///
/// ``code`` is the kind of refusal (compare with `==`; new codes break no one's `switch`), ``rule``
/// the limit or upload rule concerned (`max-body-bytes`, `too-many-pixels`, an option name), and
/// ``message`` one line with the measured value and the limit. Bad input is always a 4xx; a 503 means
/// "busy, retry" and carries `Retry-After`.
public struct ServiceRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal, with its HTTP status.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case badRequest = "bad-request"
            case notFound = "not-found"
            case methodNotAllowed = "method-not-allowed"
            case payloadTooLarge = "payload-too-large"
            case unsupportedMediaType = "unsupported-media-type"
            case unsupportedImage = "unsupported-image"
            case unprocessableImage = "unprocessable-image"
            case overloaded
            case deadline
            case shuttingDown = "shutting-down"
            case `internal`
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// 400: a malformed multipart body, a bad query option, no image in the upload.
        public static let badRequest = Code(.badRequest)
        /// 404: no such route.
        public static let notFound = Code(.notFound)
        /// 405: the route exists with another method.
        public static let methodNotAllowed = Code(.methodNotAllowed)
        /// 413: the body is over the cap, or the form holds more files than allowed.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// 415: the request's `Content-Type` is neither an image, `application/octet-stream` nor `multipart/form-data`.
        public static let unsupportedMediaType = Code(.unsupportedMediaType)
        /// 415: the bytes are no image format the service reads (`rule` `unsupported-format`).
        public static let unsupportedImage = Code(.unsupportedImage)
        /// 422: an image that cannot be worked on: over the pixel limit (refused from its header,
        /// never decoded), corrupt, or impossible to fit the byte budget.
        public static let unprocessableImage = Code(.unprocessableImage)
        /// 503: every decode slot and queue place is taken; retry after `Retry-After` seconds.
        public static let overloaded = Code(.overloaded)
        /// 503: the request did not complete within the per-request deadline.
        public static let deadline = Code(.deadline)
        /// 503: the server is draining for shutdown.
        public static let shuttingDown = Code(.shuttingDown)

        /// 500: a failure of the service itself, never of the input (the log has the details).
        public static let `internal` = Code(.internal)

        public var description: String { value.rawValue }

        /// The HTTP status answered for this code.
        public var status: HTTPResponse.Status {
            switch value {
            case .badRequest: .badRequest
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .payloadTooLarge: .contentTooLarge
            case .unsupportedMediaType, .unsupportedImage: .unsupportedMediaType
            case .unprocessableImage: .unprocessableContent
            case .overloaded, .deadline, .shuttingDown: .serviceUnavailable
            case .internal: .internalServerError
            }
        }
    }

    /// What kind of refusal this is.
    public var code: Code
    /// The limit or rule concerned.
    public var rule: String
    /// One line naming the file or field, the measured value and the limit.
    public var message: String
    /// Seconds a client should wait before retrying (503 only).
    public var retryAfterSeconds: Int?
    /// Whether the connection is closed after the answer (the body was not read to its end).
    public var closesConnection: Bool

    public init(_ code: Code, rule: String, _ message: String, retryAfterSeconds: Int? = nil, closesConnection: Bool = false) {
        self.code = code
        self.rule = rule
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
        self.closesConnection = closesConnection
    }

    public var description: String { "\(code.status.code) \(code) (\(rule)): \(message)" }

    /// The JSON body: `{"code", "rule", "message"}` in that order.
    public var json: FixedOrderJSON {
        var object = FixedOrderJSON()
        try? object.add("code", code.description)
        try? object.add("rule", rule)
        try? object.add("message", message)
        return object
    }

    /// The answer: ``json`` with the code's status, `Retry-After` when set, `Connection: close` when the
    /// rest of the upload is not read.
    public func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if closesConnection { headers[.connection] = "close" }
        return Response(status: code.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json.text)))
    }
}
