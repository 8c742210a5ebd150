import Foundation
import NIOConcurrencyHelpers
import Hummingbird
import KlingModels
import Logging
import NIOCore
import ServiceLifecycle

/// Runs `body` with a callback receiver on `127.0.0.1:port` (0 = a free port) answering `status`, and
/// stops it afterwards, whether `body` returns or throws.
public func withCallbackSink<T>(port: Int = 0, status: Int = 200, isolation: isolated (any Actor)? = #isolation,
                                _ body: (CallbackSink) async throws -> T) async throws -> T {
    let sink = try await CallbackSink.start(port: port, status: status)
    do {
        let value = try await body(sink)
        await sink.shutdown()
        return value
    } catch {
        await sink.shutdown()
        throw error
    }
}

/// A tiny loopback HTTP receiver that records every POST it gets: point `callback_url` at
/// ``url`` to see what the emulator (or the real service, through a tunnel) delivers.
/// Answers 200 with `{"ok":true}` (or ``statusToReturn``) to every request.
public final class CallbackSink: Sendable {
    /// One delivery as received.
    public struct Delivery: Sendable {
        /// The request path, e.g. `/hook`.
        public var path: String
        /// The raw body.
        public var body: [UInt8]
        /// The body decoded as a task object (bare or enveloped), when it is one.
        public var task: TaskObject? { try? TaskObject.decodeCallback(Data(body)) }
    }

    /// `http://127.0.0.1:PORT/callback`.
    public let url: String
    /// The bound port.
    public let port: Int
    private let deliveries: NIOLockedValueBox<[Delivery]>
    private let waiters: NIOLockedValueBox<[(Int, CheckedContinuation<Void, Never>)]>
    private let runner: Task<Void, any Error>
    private let group: ServiceGroup

    private init(url: String, port: Int, deliveries: NIOLockedValueBox<[Delivery]>, waiters: NIOLockedValueBox<[(Int, CheckedContinuation<Void, Never>)]>, runner: Task<Void, any Error>, group: ServiceGroup) {
        self.group = group
        self.url = url
        self.port = port
        self.deliveries = deliveries
        self.waiters = waiters
        self.runner = runner
    }

    /// Starts a receiver on `127.0.0.1:port` (0 = a free port) answering `status` to everything.
    static func start(port: Int = 0, status: Int = 200) async throws -> CallbackSink {
        let deliveries = NIOLockedValueBox<[Delivery]>([])
        let waiters = NIOLockedValueBox<[(Int, CheckedContinuation<Void, Never>)]>([])
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 16 << 20)
            let delivery = Delivery(path: request.uri.path, body: Array(buffer.readableBytesView))
            let ready: [CheckedContinuation<Void, Never>] = deliveries.withLockedValue { list in
                list.append(delivery)
                let count = list.count
                return waiters.withLockedValue { w in
                    let due = w.filter { $0.0 <= count }.map(\.1)
                    w.removeAll { $0.0 <= count }
                    return due
                }
            }
            for continuation in ready { continuation.resume() }
            return HTTPAnswers.json(ReceivedAnswer(), status: status)
        }
        var logger = Logger(label: "kling-callback-sink")
        logger.logLevel = .warning
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "kling-callback-sink"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? -1)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let runner = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = portStream.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            runner.cancel()
            throw EmulatorError(.listen, "cannot listen on 127.0.0.1:\(port) for callbacks")
        }
        return CallbackSink(url: "http://127.0.0.1:\(bound)/callback", port: bound, deliveries: deliveries, waiters: waiters, runner: runner, group: group)
    }

    /// Every delivery so far, in arrival order.
    public var received: [Delivery] { deliveries.withLockedValue { $0 } }

    /// Waits until at least `count` deliveries have arrived or `timeout` seconds pass; returns them.
    public func waitFor(count: Int, timeout: Double = 10) async -> [Delivery] {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now: Bool = self.deliveries.withLockedValue { list in
                        if list.count >= count { return true }
                        self.waiters.withLockedValue { $0.append((count, continuation)) }
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: .seconds(timeout)) }
            await group.next()
            group.cancelAll()
            // Release a waiter left behind by the timeout.
            let stale = self.waiters.withLockedValue { w in defer { w.removeAll { $0.0 == count } }; return w.filter { $0.0 == count }.map(\.1) }
            for continuation in stale { continuation.resume() }
            await group.waitForAll()
        }
        return received
    }

    /// Stops the receiver.
    func shutdown() async {
        await group.triggerGracefulShutdown()
        _ = try? await runner.value
    }
}
