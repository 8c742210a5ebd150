import Foundation
import Hummingbird
import HummingbirdCore
import KlingSupport
import KlingServerSupport
import Logging
import NIOCore
import ServiceLifecycle

/// Where and how `klingkit serve` listens, and what one request may cost.
public struct ReferenceImageServerConfiguration: Sendable {
    /// Interface to bind (default `127.0.0.1`; `0.0.0.0` for every interface).
    public var host: String
    /// TCP port (default 8080; 0 picks a free one, reported by ``ReferenceImageServer/port``).
    public var port: Int
    /// The per-request limits.
    public var limits: ReferenceImageServiceLimits
    /// Longest wait for a complete request head after connecting or after the previous answer (default 10 s).
    public var headTimeout: Duration
    /// Longest pause between two parts of a request body (default 10 s): the slow-client read timeout.
    public var readTimeout: Duration

    public init(host: String = "127.0.0.1", port: Int = 8080, limits: ReferenceImageServiceLimits = .init(),
                headTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.limits = limits
        self.headTimeout = headTimeout
        self.readTimeout = readTimeout
    }

    /// The first setting that makes no sense, as a message naming it; `nil` when all are usable.
    public var problem: String? {
        if !(0...65535).contains(port) { return "port must be 0...65535" }
        if host.isEmpty { return "host must not be empty" }
        if headTimeout <= .zero { return "head-timeout must be more than 0 seconds" }
        if readTimeout <= .zero { return "read-timeout must be more than 0 seconds" }
        return limits.problem
    }
}

/// The standalone server's router: ``ReferenceImageRoutes`` plus JSON refusals (404/405) for what
/// no route matches, counted as route `unmatched`.
public func buildReferenceImageRouter(routes: ReferenceImageRoutes) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: UnmatchedRouteMiddleware(routes: routes))
    routes.add(to: router)
    return router
}

/// Builds `klingkit serve`'s application on `configuration.host:port`: the router of
/// ``buildReferenceImageRouter(routes:)`` on HTTP/1.1 with `Expect: 100-continue` answered, and a
/// ``ConnectionGuardHandler`` holding clients to the head and read timeouts.
/// - Parameter onServerRunning: called with the bound port once the listener is up.
public func buildReferenceImageServer(configuration: ReferenceImageServerConfiguration, routes: ReferenceImageRoutes,
                                      logger: Logger,
                                      onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let head = TimeAmount.nanoseconds(Int64(configuration.headTimeout / .nanoseconds(1)))
    let read = TimeAmount.nanoseconds(Int64(configuration.readTimeout / .nanoseconds(1)))
    return Application(
        router: buildReferenceImageRouter(routes: routes),
        server: .http1(configuration: .init(
            additionalChannelHandlers: [ExpectContinueHandler(continues: { routes.invitesBody($0) }), ConnectionGuardHandler(headTimeout: head, readTimeout: read, lingerTime: .seconds(10))],
            idleTimeout: .seconds(75))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "klingkit-serve"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? -1) },
        logger: logger
    )
}

/// A running `klingkit serve`: started by ``start(_:logger:)``, stopped gracefully by ``shutdown()``
/// (the listener closes, in-flight requests finish, idle connections close).
public final class ReferenceImageServer: Sendable {
    /// `http://HOST:PORT`.
    public let baseURL: String
    /// The bound port.
    public let port: Int
    /// The routes served (their limits and metrics).
    public let routes: ReferenceImageRoutes
    private let group: ServiceGroup
    private let runner: Task<Void, any Error>
    private let stopExecutor: @Sendable () async -> Void

    private init(baseURL: String, port: Int, routes: ReferenceImageRoutes, group: ServiceGroup, runner: Task<Void, any Error>,
                 stopExecutor: @escaping @Sendable () async -> Void) {
        self.baseURL = baseURL
        self.port = port
        self.routes = routes
        self.group = group
        self.runner = runner
        self.stopExecutor = stopExecutor
    }

    /// Binds and starts serving. Signals are the caller's: `klingkit serve` turns SIGTERM and SIGINT
    /// into ``shutdown()`` (ServiceLifecycle's graceful shutdown of the server).
    /// - Throws: ``ReferenceImageServerError`` for a bad configuration or an address that cannot be bound.
    public static func start(_ configuration: ReferenceImageServerConfiguration,
                             logger: Logger = Logger(label: "klingkit-serve")) async throws -> ReferenceImageServer {
        if let problem = configuration.problem { throw ReferenceImageServerError(problem) }
        // A busy port refused before the ServiceGroup starts (see `PortProbe` for why).
        if let error = PortProbe.bindError(host: configuration.host, port: configuration.port) {
            throw ReferenceImageServerError("cannot listen on \(configuration.host):\(configuration.port): "
                + (error == EADDRINUSE ? "the port is in use (choose another --port, or 0 for any free port)"
                                       : String(cString: strerror(error)).lowercased()))
        }
        let routes = ReferenceImageRoutes(limits: configuration.limits, logger: logger)
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = buildReferenceImageServer(configuration: configuration, routes: routes, logger: logger) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        // Connection and route handlers run on two threads of their own (image work on the decode
        // pool), so a process whose cooperative pool is busy still gets answers on time.
        let server = DedicatedServerTask(threads: 2) {
            defer { portContinuation.finish() }
            try await group.run()
        }
        let runner = server.task
        let stopExecutor: @Sendable () async -> Void = { await server.stop() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            // The runner has ended (the stream finishes when it does): no cancellation needed.
            let reason: String
            do { try await runner.value; reason = "the server stopped" } catch { reason = "\(error)" }
            await routes.shutdown()
            await stopExecutor()
            throw ReferenceImageServerError("cannot listen on \(configuration.host):\(configuration.port): \(reason)")
        }
        let shownHost = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return ReferenceImageServer(baseURL: "http://\(shownHost):\(port)", port: port, routes: routes, group: group, runner: runner,
                                    stopExecutor: stopExecutor)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server to end.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
        try? await waitUntilStopped()
    }

    /// Waits until the server has stopped (after ``shutdown()``, or a failure), then stops its threads.
    public func waitUntilStopped() async throws {
        do {
            try await runner.value
        } catch {
            await routes.shutdown()
            await stopExecutor()
            throw error
        }
        await routes.shutdown()
        await stopExecutor()
    }
}

/// Why the server could not start, in one line.
public struct ReferenceImageServerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Answers what no route matches with a JSON refusal, counted and logged like the routes.
struct UnmatchedRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: ReferenceImageRoutes
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            let refusal = error.status == .notFound
                ? ServiceRefusal(.notFound, rule: "route", "no route \(request.method) \(request.uri.path); see /openapi.json")
                : ServiceRefusal(.methodNotAllowed, rule: "route", "\(request.uri.path) does not take \(request.method); see /openapi.json")
            routes.metrics.request(route: "unmatched", status: Int(refusal.code.status.code))
            routes.logger.info("\(request.method) unmatched \(refusal.code.status.code)", metadata: ["status": "\(refusal.code.status.code)"])
            return refusal.response()
        }
    }
}

