import Foundation
import Hummingbird
import KlingModels
import KlingSupport
import Logging

// The emulator's cross-cutting steps as Hummingbird middleware. Router-wide: request counting and
// logging, and the fallback that answers unknown routes the way each provider does. Per provider
// group, in this order: network latency, authentication (JWT natively, the bearer key under
// /kling), then the injected rate-limit and server-error faults.

/// Counts and logs every request (method and path; never headers or bodies).
struct RequestLogMiddleware: RouterMiddleware {
    let core: EmulatorCore
    func handle(_ request: Request, context: EmulatorRequestContext,
                next: (Request, EmulatorRequestContext) async throws -> Response) async throws -> Response {
        core.requestCounter.withLockedValue { $0 += 1 }
        let level: Logger.Level = core.configuration.logRequests ? .info : .debug
        core.logger.log(level: level, "\(request.method) \(request.uri.path)", metadata: ["request_id": "\(context.requestID)"])
        return try await next(request, context)
    }
}

/// Answers what no route matched as the service would: a known task path with the wrong method is
/// 404 / 1202; any other native path 404 / 1203; a CometAPI path CometAPI's HTML 404 page; a
/// malformed result URL a plain 404.
struct RouteFallbackMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: EmulatorRequestContext,
                next: (Request, EmulatorRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            return Self.answer(request, requestID: context.requestID)
        }
    }

    static func answer(_ request: Request, requestID: String) -> Response {
        let path = request.uri.path
        if path.hasPrefix("/results/") { return HTTPAnswers.text("Not Found\n", status: 404) }
        var rest = Substring(path)
        let comet = rest == "/kling" || rest.hasPrefix("/kling/")
        if comet { rest = rest.dropFirst("/kling".count) }
        let segments = rest.split(separator: "/")
        let isTaskPath = (3...4).contains(segments.count) && segments[0] == "v1" && segments[1] == "images"
            && (segments[2] == "generations" || segments[2] == "multi-image2image")
        if isTaskPath {
            return HTTPAnswers.envelope(code: .invalidMethod, message: "Method \(request.method) is not allowed on \(path)", requestID: requestID)
        }
        if comet {
            return HTTPAnswers.text("<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>",
                                    status: 404, contentType: "text/html; charset=utf-8")
        }
        return HTTPAnswers.envelope(code: .resourceNotFound, message: "No route for \(path)", requestID: requestID)
    }
}

/// Adds ``FaultConfiguration/latencyMilliseconds`` before an API answer (real time: it models the network).
struct LatencyMiddleware: RouterMiddleware {
    let core: EmulatorCore
    func handle(_ request: Request, context: EmulatorRequestContext,
                next: (Request, EmulatorRequestContext) async throws -> Response) async throws -> Response {
        let latency = core.configuration.faults.latencyMilliseconds
        if latency.upperBound > 0 {
            let ms = latency.lowerBound == latency.upperBound ? latency.lowerBound
                : latency.lowerBound + Int(core.faultRNG.withLockedValue { $0.next() } % UInt64(latency.count))
            if ms > 0 { try? await Task.sleep(for: .milliseconds(ms)) }
        }
        return try await next(request, context)
    }
}

/// Native authentication: `Authorization: Bearer <JWT>` checked at the emulator's clock (1000–1004).
struct JWTAuthMiddleware: RouterMiddleware {
    let core: EmulatorCore
    func handle(_ request: Request, context: EmulatorRequestContext,
                next: (Request, EmulatorRequestContext) async throws -> Response) async throws -> Response {
        let now = core.configuration.clock.unixMilliseconds / 1000
        if let failure = core.verifier.verify(authorization: request.headers[.authorization], nowSeconds: now) {
            return HTTPAnswers.envelope(code: failure.code, message: failure.message, requestID: context.requestID)
        }
        return try await next(request, context)
    }
}

/// CometAPI authentication: `Authorization: Bearer <key>`, compared in constant time; failures get
/// CometAPI's own error body.
struct BearerKeyMiddleware: RouterMiddleware {
    let core: EmulatorCore
    func handle(_ request: Request, context: EmulatorRequestContext,
                next: (Request, EmulatorRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], !header.isEmpty else {
            return HTTPAnswers.cometError(status: 401, message: "No API key provided: send Authorization: Bearer <CometAPI key>", code: "missing_api_key")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        let key = parts.count == 2 && parts[0].lowercased() == "bearer" ? parts[1].trimmingCharacters(in: .whitespaces) : header
        guard Self.constantTimeEqual(Array(key.utf8), Array(core.configuration.cometAPIKey.utf8)) else {
            return HTTPAnswers.cometError(status: 401, message: "Invalid API key", code: "invalid_api_key")
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// The injected transient faults, drawn from the seeded generator after authentication: 429 / 1302,
/// then the server errors cycling 5000, 5001, 5002.
struct FaultMiddleware: RouterMiddleware {
    let core: EmulatorCore
    func handle(_ request: Request, context: EmulatorRequestContext,
                next: (Request, EmulatorRequestContext) async throws -> Response) async throws -> Response {
        if core.draw(core.configuration.faults.rateLimitRate) {
            return HTTPAnswers.envelope(code: .rateLimited, message: "Too many requests, please slow down (injected fault)", requestID: context.requestID)
        }
        if core.draw(core.configuration.faults.serverErrorRate) {
            let code: BusinessCode = [.internalError, .serviceUnavailable, .serverTimeout][core.serverErrorCycle.withLockedValue { c in defer { c += 1 }; return c % 3 }]
            return HTTPAnswers.envelope(code: code, message: "\(code.meaning.prefix(1).uppercased() + code.meaning.dropFirst()) (injected fault)", requestID: context.requestID)
        }
        return try await next(request, context)
    }
}
