import KlingSupport
import AsyncHTTPClient
import Foundation
import KlingModels
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// One API answer that parsed as a success envelope (`code` 0).
struct APISuccess: Sendable {
    var status: Int
    var requestID: String?
    /// The whole body (the `data` member is decoded from it on demand).
    var body: [UInt8]
}

/// Why a call failed, with what the retry logic needs beyond ``ClientError``.
struct AttemptFailure: Error {
    var error: ClientError
    /// The request may have reached the server and been acted upon (timeout after sending,
    /// connection dropped mid-answer, a 5xx, an unreadable answer). A create must be checked by
    /// `external_task_id` before it is sent again.
    var ambiguous: Bool
    /// `Retry-After` seconds, if the server sent one.
    var retryAfter: Double?
}

private struct DataMember<T: Decodable>: Decodable { var data: T? }

extension KlingClient {
    /// Sends one request once: no retries, no re-signing. Maps every outcome to success or an
    /// ``AttemptFailure``.
    func attempt(method: HTTPMethod, path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
                 token: String) async throws -> APISuccess {
        let url = makeURL(path: path, query: query)
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer " + token)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let started = configuration.clock.monotonic
        let logPath = path  // never the query (may hold an external id the caller considers private) nor headers
        let status: Int
        let bytes: [UInt8]
        let retryAfter: Double?
        do {
            let response = try await http.execute(request, timeout: timeAmount(configuration.requestTimeout),
                                                  logger: configuration.logger)
            status = Int(response.status.code)
            retryAfter = response.headers.first(name: "Retry-After").flatMap { Double($0) }
            if (300..<400).contains(status) {
                let location = response.headers.first(name: "Location") ?? "?"
                throw AttemptFailure(error: ClientError(
                    .invalidResponse,
                    "\(method.rawValue) \(logPath) was redirected (HTTP \(status)) to \(location): check the base URL and provider",
                    httpStatus: status), ambiguous: false)
            }
            var buffer = try await response.body.collect(upTo: configuration.maxResponseBytes)
            bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let failure as AttemptFailure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw AttemptFailure(error: transportError(error, what: "\(method.rawValue) \(logPath)"),
                                 ambiguous: !Self.neverSent(error), retryAfter: nil)
        }
        let elapsed = configuration.clock.monotonic - started
        let result = try Self.interpret(status: status, body: bytes, retryAfter: retryAfter, what: "\(method.rawValue) \(logPath)")
        configuration.logger.debug("\(method.rawValue) \(logPath) -> \(status)",
                                   metadata: ["request_id": .string(result.requestID ?? ""),
                                              "ms": .stringConvertible(Int(elapsed.seconds * 1000))])
        return result
    }

    func makeURL(path: String, query: [(String, String)]) -> String {
        var url = configuration.baseURL + configuration.provider.pathPrefix + path
        if !query.isEmpty {
            url += "?" + query.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    /// Classifies a status and body: the success envelope, the Kling error envelope, CometAPI's
    /// `{"error":{…}}`, or something that is not the API at all (HTML, malformed JSON).
    static func interpret(status: Int, body: [UInt8], retryAfter: Double?, what: String) throws -> APISuccess {
        guard let head = try? JSONDecoder().decode(AnswerHead.self, from: Data(body)) else {
            let snippet = Self.snippet(body)
            let kind = looksLikeHTML(body) ? "an HTML page" : (body.isEmpty ? "an empty body" : "malformed JSON")
            throw AttemptFailure(
                error: ClientError(.invalidResponse, "\(what) answered \(kind) instead of the JSON envelope: \(snippet)",
                                   httpStatus: status, isRetryable: ClientError.isRetryable(httpStatus: status)),
                ambiguous: true, retryAfter: retryAfter)
        }
        let requestID = head.requestID
        // CometAPI's own error envelope.
        if let error = head.error {
            let message = error.message ?? "error"
            let codeText = error.code ?? error.type
            let numeric = error.code.flatMap { Int($0) }
            let notFound = status == 404 || (codeText ?? "").contains("not_exist") || (codeText ?? "").contains("not_found")
            var retryable = numeric.map { BusinessCode($0).isRetryable } ?? ClientError.isRetryable(httpStatus: status)
            if numeric == nil, status == 429, let codeText, codeText.contains("quota") || codeText.contains("insufficient") {
                retryable = false
            }
            let text = codeText.map { "\(message) [\($0)]" } ?? message
            throw AttemptFailure(
                error: ClientError(notFound ? .notFound : .api, text, httpStatus: status, businessCode: numeric,
                                   requestID: requestID, isRetryable: retryable),
                ambiguous: status >= 500, retryAfter: retryAfter)
        }
        guard let business = head.code else {
            throw AttemptFailure(
                error: ClientError(.invalidResponse, "\(what) answered JSON without a business code: \(snippet(body))",
                                   httpStatus: status, requestID: requestID,
                                   isRetryable: ClientError.isRetryable(httpStatus: status)),
                ambiguous: true, retryAfter: retryAfter)
        }
        let code = business.rawValue
        if code == 0 && (200..<300).contains(status) {
            return APISuccess(status: status, requestID: requestID, body: body)
        }
        let message = head.message ?? business.meaning
        let isNotFound = business == .resourceNotFound
        throw AttemptFailure(
            error: ClientError(isNotFound ? .notFound : .api, message, httpStatus: status,
                               businessCode: code == 0 ? nil : code, requestID: requestID,
                               isRetryable: code == 0 ? ClientError.isRetryable(httpStatus: status) : business.isRetryable),
            ambiguous: code >= 5000 || status >= 500, retryAfter: retryAfter)
    }

    /// Decodes `data` of a success envelope.
    static func decodeData<T: Decodable>(_ type: T.Type, from success: APISuccess, what: String) throws -> T? {
        do {
            return try JSONDecoder().decode(DataMember<T>.self, from: Data(success.body)).data
        } catch {
            throw ClientError(.invalidResponse, "\(what): unexpected data in the answer: \(decodingSummary(error))",
                              httpStatus: success.status, requestID: success.requestID)
        }
    }

    func transportError(_ error: Error, what: String) -> ClientError {
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded || e == .readTimeout || e == .writeTimeout {
                return ClientError(.timeout, "\(what) got no answer within \(configuration.requestTimeout)",
                                   isRetryable: true)
            }
            if e == .connectTimeout {
                return ClientError(.timeout, "\(what): could not connect to \(configuration.baseURL) within \(configuration.connectTimeout)",
                                   isRetryable: true)
            }
            if e == .remoteConnectionClosed {
                return ClientError(.transport, "\(what): the server closed the connection before answering", isRetryable: true)
            }
        }
        if let unreachable = unreachableReason(error) {
            // Not retried: nothing listens there, or the name does not exist; waiting will not change it.
            return ClientError(.transport, "\(what): cannot reach \(configuration.baseURL): \(unreachable). "
                + "Check --base-url (or \(configuration.provider.baseURLVariable)), or start a local server with `klingkit emulator`")
        }
        if error is NIOTooManyBytesError {
            return ClientError(.invalidResponse, "\(what): answer larger than \(configuration.maxResponseBytes) bytes")
        }
        return ClientError(.transport, "\(what): \(String(describing: error))", isRetryable: true)
    }

    /// "connection refused" or "unknown host NAME" when `error` says the server cannot be reached at
    /// all; `nil` for anything that may pass (timeouts, resets).
    func unreachableReason(_ error: Error) -> String? {
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return "connection refused (nothing listens on that port)" }
        guard let connection = error as? NIOConnectionError else { return nil }
        let refused = connection.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
        if refused { return "connection refused (nothing listens on that port)" }
        if connection.connectionErrors.isEmpty, connection.dnsAError != nil || connection.dnsAAAAError != nil {
            return "unknown host '\(connection.host)' (the name does not resolve)"
        }
        return nil
    }

    /// Errors that prove the request never left (safe to resend anything).
    static func neverSent(_ error: Error) -> Bool {
        if let e = error as? HTTPClientError, e == .connectTimeout || e == .invalidURL || e == .emptyHost { return true }
        if error is NIOConnectionError { return true }
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return true }
        return false
    }

    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(120), as: UTF8.self)
            .replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return body.count > 120 ? "'\(text)…'" : "'\(text)'"
    }

    static func looksLikeHTML(_ body: [UInt8]) -> Bool {
        let head = String(decoding: body.prefix(256), as: UTF8.self).lowercased()
        return head.contains("<html") || head.contains("<!doctype") || head.contains("<head") || head.contains("<body")
    }
}

func decodingSummary(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return String(describing: error) }
    func path(_ c: DecodingError.Context) -> String {
        c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
    }
    switch e {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
        return "\(path(c).isEmpty ? "body" : path(c)): \(c.debugDescription)"
    case .keyNotFound(let key, let c):
        return "\(path(c)).\(key.stringValue) is missing"
    @unknown default:
        return String(describing: e)
    }
}

func timeAmount(_ d: Duration) -> TimeAmount {
    .nanoseconds(Int64(min(d.seconds, 9e9) * 1e9))
}

private func percentEncode(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}
