import Foundation
import Hummingbird
import KlingBatch
import Logging
import ServiceLifecycle

/// `batch run --callback-listen HOST:PORT`: receives the service's status callbacks (any path, POST,
/// a bare or enveloped task object, up to 1 MiB) and hands them to the runner's ``CallbackHints``,
/// which deduplicates on (task_id, task_status) and has the runner confirm each by one query.
/// Answers 200 to every well-formed delivery (duplicates too), 400 to a body that is not a task.
final class CallbackListener: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let runner: Task<Void, any Error>

    private init(port: Int, group: ServiceGroup, runner: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.runner = runner
    }

    static func start(address: String, hints: CallbackHints) async throws -> CallbackListener {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65_535).contains(port) else {
            throw CommandFailure("--callback-listen must be HOST:PORT, not \(address)", exitCode: APIExit.invalid)
        }
        let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let outcome = hints.deliver(Array(buffer.readableBytesView))
            return Response(status: outcome == .unreadable ? .badRequest : .ok,
                            headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: outcome == .unreadable ? "{\"error\":\"not a task object\"}" : "{\"ok\":true}")))
        }
        router.post("/", use: handler)
        router.post("**", use: handler)
        var logger = Logger(label: "klingkit.batch.callbacks")
        logger.logLevel = .warning
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname(host.isEmpty ? "127.0.0.1" : host, port: port),
                                                                   serverName: "klingkit-batch"),
                              onServerRunning: { channel in
                                  portContinuation.yield(channel.localAddress?.port ?? -1)
                                  portContinuation.finish()
                              }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let runner = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = portStream.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            runner.cancel()
            throw CommandFailure("cannot listen on \(address) for callbacks")
        }
        return CallbackListener(port: bound, group: group, runner: runner)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await runner.value
    }
}
