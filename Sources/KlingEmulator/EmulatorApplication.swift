import Hummingbird
import HummingbirdCore
import KlingModels
import KlingServerSupport
import Logging
import NIOCore

/// Builds the emulator's router: the native task routes behind JWT authentication, the same routes
/// under `/kling` behind the CometAPI key, result downloads and the `/_emulator` service routes
/// without credentials. Latency and the injected faults are middleware of the two API groups; request
/// logging and the providers' answers to unknown routes are router-wide.
func buildEmulatorRouter(core: EmulatorCore) -> Router<EmulatorRequestContext> {
    let router = Router(context: EmulatorRequestContext.self)
    router.add(middleware: RequestLogMiddleware(core: core))
    router.add(middleware: RouteFallbackMiddleware())

    let native = router.group()
        .add(middleware: LatencyMiddleware(core: core))
        .add(middleware: JWTAuthMiddleware(core: core))
        .add(middleware: FaultMiddleware(core: core))
    TaskRoutes(core: core, provider: .native).add(to: native)

    let comet = router.group("kling")
        .add(middleware: LatencyMiddleware(core: core))
        .add(middleware: BearerKeyMiddleware(core: core))
        .add(middleware: FaultMiddleware(core: core))
    TaskRoutes(core: core, provider: .cometAPI).add(to: comet)

    ResultRoutes(core: core).add(to: router)
    router.get("_emulator/health") { _, _ in HTTPAnswers.json(HealthAnswer(), status: 200) }
    router.get("_emulator/stats") { _, _ in HTTPAnswers.json(await core.statistics(), status: 200) }
    return router
}

/// Builds the emulator application on `127.0.0.1:configuration.port` (0 = a free port): the router of
/// ``buildEmulatorRouter(core:)`` on HTTP/1.1 with `Expect: 100-continue` answered before the body is read.
/// - Parameter onServerRunning: called with the bound port once the listener is up.
func buildEmulatorApplication(core: EmulatorCore, onServerRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
    Application(
        router: buildEmulatorRouter(core: core),
        server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])),
        configuration: .init(address: .hostname("127.0.0.1", port: core.configuration.port), serverName: "kling-emulator"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? -1) },
        logger: core.logger
    )
}

extension EmulatorCore {
    /// Task counts by status over both accounts, plus request and callback counters.
    func statistics() async -> [String: Int] {
        var counts = await store.statistics()
        counts["requests"] = requestCounter.withLockedValue { $0 }
        counts["callbacks_delivered"] = await callbacks.delivered
        counts["callbacks_failed"] = await callbacks.failed
        return counts
    }
}
