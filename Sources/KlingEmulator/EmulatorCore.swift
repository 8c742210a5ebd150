import Foundation
import Hummingbird
import KlingModels
import KlingSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The request context: Hummingbird's core storage, the connection (so the drop-after-create fault
/// can close it without answering) and the request's id (`request_id` of every envelope).
struct EmulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    let requestID: String
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        requestID = UUID().uuidString.lowercased()
    }
}

/// Everything a request needs, shared by all connections.
final class EmulatorCore: Sendable {
    let configuration: EmulatorConfiguration
    let store: TaskStore
    let callbacks: CallbackDispatcher
    let intake: ReferenceIntake
    /// The emulator's own threads for CPU work (reference intake, result rendering), so neither the
    /// cooperative pool that answers HTTP nor a client's image work in the same process waits on it.
    let imagePool: NIOThreadPool
    let verifier: JWTVerifier
    let images: ImageCache
    let logger: Logger
    let renderer: NIOLockedValueBox<ResponseRenderer>
    let faultRNG: NIOLockedValueBox<SplitMix64>
    let serverErrorCycle = NIOLockedValueBox(0)
    let requestCounter = NIOLockedValueBox(0)

    init(configuration: EmulatorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let callbacks = CallbackDispatcher(logger: logger)
        self.callbacks = callbacks
        imagePool = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        imagePool.start()
        intake = ReferenceIntake(maxImageBytes: configuration.maxImageBytes, pool: imagePool)
        verifier = JWTVerifier(accessKey: configuration.accessKey, secretKey: Array(configuration.secretKey.utf8), leewaySeconds: configuration.jwtLeewaySeconds)
        images = ImageCache(budget: configuration.imageCacheBytes)
        let lifetime = Int64(((configuration.faults.downloadExpirySeconds ?? configuration.resultURLLifetimeSeconds) * 1000).rounded())
        let renderer = NIOLockedValueBox(ResponseRenderer(baseURL: "http://127.0.0.1:\(configuration.port)", urlKey: Array(("urls:" + configuration.secretKey).utf8), urlLifetimeMilliseconds: lifetime))
        self.renderer = renderer
        faultRNG = NIOLockedValueBox(SplitMix64(seed: configuration.seed ^ 0xFA17))
        store = TaskStore(configuration: configuration) { change in
            guard let url = change.task.callbackURL else { return }
            let body = callbackBody(renderer.withLockedValue { $0.task(change.task, layout: .full) })
            Task { await callbacks.enqueue(taskID: change.task.id, url: url, body: body, isTerminal: change.task.isTerminal) }
        }
    }

    /// Draws `true` with probability `rate` from the seeded fault generator.
    func draw(_ rate: Double) -> Bool {
        guard rate > 0 else { return false }
        return faultRNG.withLockedValue { $0.nextUnit() } < rate
    }
}

