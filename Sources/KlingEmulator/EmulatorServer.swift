import Foundation
import NIOConcurrencyHelpers
import Hummingbird
import KlingModels
import KlingServerSupport
import KlingSupport
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Runs `body` with an emulator of the Kling image API on `127.0.0.1` and stops it afterwards, whether
/// `body` returns or throws: the listener, the task lifecycle drivers and pending callback deliveries
/// all end before this returns.
///
/// ```swift
/// try await withEmulator(EmulatorConfiguration(port: 0)) { emulator in
///     print(emulator.baseURL)   // http://127.0.0.1:54321 — native paths; CometAPI under /kling
/// }
/// ```
/// - Throws: ``EmulatorError`` for a bad configuration or a port that cannot be bound; whatever `body` throws.
public func withEmulator<T>(_ configuration: EmulatorConfiguration, logger: Logger? = nil,
                            isolation: isolated (any Actor)? = #isolation,
                            _ body: (EmulatorServer) async throws -> T) async throws -> T {
    let server = try await EmulatorServer.start(configuration, logger: logger)
    do {
        let value = try await body(server)
        await server.shutdown()
        return value
    } catch {
        await server.shutdown()
        throw error
    }
}

/// A running emulator of the Kling image API on `127.0.0.1`, as ``withEmulator(_:logger:isolation:_:)``
/// hands it to its body.
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
    private let stopExecutor: @Sendable () async -> Void

    private init(baseURL: String, port: Int, configuration: EmulatorConfiguration, core: EmulatorCore, runner: Task<Void, any Error>, group: ServiceGroup,
                 stopExecutor: @escaping @Sendable () async -> Void) {
        self.stopExecutor = stopExecutor
        self.group = group
        self.baseURL = baseURL
        self.port = port
        self.configuration = configuration
        self.core = core
        self.runner = runner
    }

    /// Binds `127.0.0.1:configuration.port` and starts serving.
    /// - Throws: ``EmulatorError`` for a bad configuration or when the port cannot be bound.
    static func start(_ configuration: EmulatorConfiguration, logger: Logger? = nil) async throws -> EmulatorServer {
        try configuration.validate()
        var log = logger ?? Logger(label: "kling-emulator")
        if logger == nil { log.logLevel = configuration.logRequests ? .info : .warning }
        if let error = PortProbe.bindError(host: "127.0.0.1", port: configuration.port) {
            throw EmulatorError(.listen, "cannot listen on 127.0.0.1:\(configuration.port): "
                + (error == EADDRINUSE ? "the port is in use (choose another --port, or 0 for any free port)"
                                       : String(cString: strerror(error)).lowercased()))
        }
        let core = EmulatorCore(configuration: configuration, logger: log)
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = buildEmulatorApplication(core: core) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: log))
        // The server task (and so every connection and route handler, its structured children) runs
        // on the emulator's own threads where task executors exist; the cooperative pool otherwise.
        let server = DedicatedServerTask(threads: max(2, System.coreCount)) {
            defer { portContinuation.finish() }
            try await group.run()
        }
        let runner = server.task
        let stopExecutor: @Sendable () async -> Void = { await server.stop() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            // No port means the runner has ended (the stream finishes when it does): nothing to cancel.
            // (Cancelling it here could deadlock: see the note on shutdown in `klingkit emulator`.)
            let reason: String
            do { try await runner.value; reason = "the server stopped" } catch let io as IOError where io.errnoCode == EADDRINUSE {
                reason = "the port is in use (choose another --port, or 0 for any free port)"
            } catch let io as IOError {
                reason = String(cString: strerror(io.errnoCode)).lowercased()
            } catch { reason = "\(error)" }
            try? await core.imagePool.shutdownGracefully()
            await stopExecutor()
            throw EmulatorError(.listen, "cannot listen on 127.0.0.1:\(configuration.port): \(reason)")
        }
        let baseURL = "http://127.0.0.1:\(port)"
        core.renderer.withLockedValue { $0.baseURL = baseURL }
        return EmulatorServer(baseURL: baseURL, port: port, configuration: configuration, core: core, runner: runner, group: group,
                              stopExecutor: stopExecutor)
    }

    /// Stops listening, cancels lifecycle drivers and pending callbacks, and waits for the server to end.
    func shutdown() async {
        await core.store.cancelDrivers()
        await core.callbacks.shutdown()
        await group.triggerGracefulShutdown()
        _ = try? await runner.value
        try? await core.imagePool.shutdownGracefully()
        await stopExecutor()
    }

    /// Waits until every callback queued so far has been attempted (for tests and orderly exits).
    public func drainCallbacks() async {
        await core.callbacks.drain()
    }

    /// Task counts by status over both accounts, plus request and callback counters.
    public func statistics() async -> [String: Int] { await core.statistics() }

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
