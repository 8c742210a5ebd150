import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers

/// The service routes' cross-cutting step: turns every error into its JSON refusal (a
/// ``ServiceRefusal`` as itself, anything unforeseen as a 500 `internal` without details), counts the
/// request and its bytes in the metrics, and writes one access-log line: method, route, status, body
/// bytes in and out, milliseconds, request number. Never headers, query values or image bytes.
struct ServiceMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: ReferenceImageRoutes
    private static var counter: NIOLockedValueBox<UInt64> { requestCounter }

    init(routes: ReferenceImageRoutes) { self.routes = routes }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let number = Self.counter.withLockedValue { value -> UInt64 in
            value += 1
            return value
        }
        var response: Response
        var refusal: ServiceRefusal?
        do {
            response = try await next(request, context)
        } catch let error as ServiceRefusal {
            refusal = error
            response = error.response()
        } catch let error as HTTPError {
            // Hummingbird's own refusals (a body read past a limit it enforces): same JSON shape.
            let converted = ServiceRefusal(error.status.code == 413 ? .payloadTooLarge : .badRequest,
                                           rule: "http", error.body ?? "\(error.status.code) \(error.status.reasonPhrase)",
                                           closesConnection: true)
            refusal = converted
            response = converted.response()
        } catch is CancellationError {
            let converted = ServiceRefusal(.deadline, rule: "request-deadline", "the request was cancelled before it completed",
                                           retryAfterSeconds: routes.limits.retryAfterSeconds, closesConnection: true)
            refusal = converted
            response = converted.response()
        } catch {
            routes.logger.error("internal error", metadata: ["request": "\(number)", "error": "\(String(describing: error).prefix(200))"])
            response = ServiceRefusal(.internal, rule: "internal", "internal error (logged)", closesConnection: true).response()
        }
        let route = context.endpointPath ?? "unmatched"
        let status = Int(response.status.code)
        let bytesOut = response.body.contentLength ?? 0
        routes.metrics.request(route: route, status: status)
        routes.metrics.wrote(bytes: bytesOut)
        let milliseconds = (ContinuousClock.now - start) / .milliseconds(1)
        var metadata: Logger.Metadata = [
            "request": "\(number)", "method": "\(request.method)", "route": "\(route)", "status": "\(status)",
            "bytes_in": "\(request.headers[.contentLength] ?? "-")", "bytes_out": "\(bytesOut)",
            "ms": "\(String(format: "%.1f", milliseconds))",
        ]
        if let refusal { metadata["refusal"] = "\(refusal.code)/\(refusal.rule)" }
        routes.logger.info("\(request.method) \(route) \(status)", metadata: metadata)
        return response
    }
}

/// Request numbers for the access log, process-wide (they only label lines).
private let requestCounter = NIOLockedValueBox<UInt64>(0)
