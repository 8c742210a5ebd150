import Foundation
import NIOConcurrencyHelpers
import Hummingbird
import KlingModels
import Logging
import NIOCore
import ServiceLifecycle

/// A running emulator of the Kling image API on `127.0.0.1`.
///
/// ```swift
/// let server = try await EmulatorServer.start(EmulatorConfiguration(port: 0))
/// defer { Task { await server.shutdown() } }
/// print(server.baseURL)   // http://127.0.0.1:54321 — native paths; CometAPI under /kling
/// ```
/// - Important: call ``shutdown()`` when done; it stops the listener, the lifecycle drivers and
///   pending callback deliveries.
public final class EmulatorServer: Sendable {
    /// `http://127.0.0.1:PORT`. Native routes hang off it; CometAPI routes off `baseURL + "/kling"`.
    public let baseURL: String
    /// The bound port.
    public let port: Int
    /// The configuration it runs with (port as requested, possibly 0).
    public let configuration: EmulatorConfiguration
    private let core: EmulatorCore
    private let runner: Task<Void, any Error>
    private let group: ServiceGroup

    private init(baseURL: String, port: Int, configuration: EmulatorConfiguration, core: EmulatorCore, runner: Task<Void, any Error>, group: ServiceGroup) {
        self.group = group
        self.baseURL = baseURL
        self.port = port
        self.configuration = configuration
        self.core = core
        self.runner = runner
    }

    /// Binds `127.0.0.1:configuration.port` and starts serving.
    /// - Throws: ``EmulatorError`` for a bad configuration or when the port cannot be bound.
    public static func start(_ configuration: EmulatorConfiguration, logger: Logger? = nil) async throws -> EmulatorServer {
        try configuration.validate()
        var log = logger ?? Logger(label: "kling-emulator")
        if logger == nil { log.logLevel = configuration.logRequests ? .info : .warning }
        let core = EmulatorCore(configuration: configuration, logger: log)
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: EmulatorResponder(core: core),
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
            configuration: .init(address: .hostname("127.0.0.1", port: configuration.port), serverName: "kling-emulator"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? -1)
                portContinuation.finish()
            },
            logger: log
        )
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: log))
        let runner = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            runner.cancel()
            let reason: String
            do { try await runner.value; reason = "the server stopped" } catch { reason = "\(error)" }
            throw EmulatorError("cannot listen on 127.0.0.1:\(configuration.port): \(reason)")
        }
        let baseURL = "http://127.0.0.1:\(port)"
        core.renderer.withLockedValue { $0.baseURL = baseURL }
        return EmulatorServer(baseURL: baseURL, port: port, configuration: configuration, core: core, runner: runner, group: group)
    }

    /// Stops listening, cancels lifecycle drivers and pending callbacks, and waits for the server to end.
    public func shutdown() async {
        await core.store.cancelDrivers()
        await core.callbacks.shutdown()
        await group.triggerGracefulShutdown()
        _ = try? await runner.value
    }

    /// Waits until every callback queued so far has been attempted (for tests and orderly exits).
    public func drainCallbacks() async {
        await core.callbacks.drain()
    }

    /// Task counts by status over both accounts, plus request and callback counters.
    public func statistics() async -> [String: Int] {
        var counts = await core.store.statistics()
        counts["requests"] = core.requestCounter.withLockedValue { $0 }
        counts["callbacks_delivered"] = await core.callbacks.delivered
        counts["callbacks_failed"] = await core.callbacks.failed
        return counts
    }

    /// Image slots in use (`n` summed over tasks that have not ended) for a provider's account.
    public func runningSlots(provider: EmulatorProvider) async -> Int {
        await core.store.runningSlots(provider: provider)
    }

    /// A native `Authorization` header value for this emulator's keys, signed at the emulator's clock.
    public func nativeAuthorization(lifetime: Int64 = JWTClaims.defaultLifetime) -> String {
        "Bearer " + KlingJWT.token(accessKey: configuration.accessKey, secretKey: configuration.secretKey,
                                   now: configuration.clock.unixMilliseconds / 1000, lifetime: lifetime)
    }

    /// The CometAPI `Authorization` header value for this emulator's key.
    public var cometAPIAuthorization: String { "Bearer " + configuration.cometAPIKey }
}
