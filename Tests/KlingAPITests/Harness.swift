import Foundation
@testable import KlingAPI
import KlingEmulator
import KlingKit
import KlingKitCLI
import KlingModels
import KlingSupport
import NIOConcurrencyHelpers
import Testing

/// A client clock tied to the emulator's manual clock: every client sleep moves the emulator's time
/// forward by the same amount, so task lifecycles, backoff and polling run without real waiting.
final class LinkedClock: TimeSource, Sendable {
    let emulator: ManualClock
    private let recorded = NIOLockedValueBox<[Duration]>([])
    private let origin: Duration
    init(_ emulator: ManualClock) {
        self.emulator = emulator
        self.origin = emulator.sinceEpoch
    }
    var sinceEpoch: Duration { emulator.sinceEpoch }
    var monotonic: Duration { emulator.sinceEpoch - origin }
    var sleeps: [Duration] { recorded.withLockedValue { $0 } }
    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        recorded.withLockedValue { $0.append(duration) }
        emulator.advance(by: duration)
        await Task.yield()
    }
}

enum Flavour: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case native, comet
    var testDescription: String { rawValue }
}

/// A running emulator plus a client pointed at it.
struct Harness: Sendable {
    let server: EmulatorServer
    let client: KlingClient
    let clock: LinkedClock
    let emulatorClock: ManualClock
    let journal: TaskJournal
    let out: URL

    /// Tasks the emulator holds in any state.
    func tasksCreated() async -> Int {
        let s = await server.statistics()
        return ["submitted", "processing", "succeed", "failed"].reduce(0) { $0 + (s[$1] ?? 0) }
    }
    func requests() async -> Int { await server.statistics()["requests"] ?? 0 }

    static func clientConfiguration(_ flavour: Flavour, server: EmulatorServer, clock: any TimeSource) -> ClientConfiguration {
        let provider: Provider = flavour == .native
            ? .kling(accessKey: server.configuration.accessKey, secretKey: server.configuration.secretKey)
            : .cometAPI(key: server.configuration.cometAPIKey)
        var c = ClientConfiguration(provider: provider, baseURL: server.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = clock
        c.jitter = SeededJitter(seed: 1)
        c.polling = PollingPolicy(initialDelay: .seconds(3), interval: .seconds(5), jitter: 0.2, timeout: .seconds(300))
        c.retry = RetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(500), deadline: .seconds(120))
        // The emulator's image work runs on NIO's blocking pool, so answers are not held behind the
        // CPU-bound suites running at the same time. The timeout tests set their own short limits.
        c.requestTimeout = .seconds(10)
        return c
    }

    static func run(_ flavour: Flavour = .native,
                    emulator: (inout EmulatorConfiguration) -> Void = { _ in },
                    client: (inout ClientConfiguration) -> Void = { _ in },
                    _ body: (Harness) async throws -> Void) async throws {
        let eclock = ManualClock(unixMilliseconds: Int64(Date().timeIntervalSince1970 * 1000), mode: .waits)
        var econfig = EmulatorConfiguration(port: 0, taskSeconds: 30)
        econfig.clock = eclock
        emulator(&econfig)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("klingclient-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try await withEmulator(econfig) { server in
            let journal = try TaskJournal(directory: root.appendingPathComponent("journal"))
            let clock = LinkedClock(eclock)
            var cconfig = clientConfiguration(flavour, server: server, clock: clock)
            cconfig.journal = journal
            client(&cconfig)
            try await KlingClient.withClient(cconfig) { c in
                try await body(Harness(server: server, client: c, clock: clock, emulatorClock: eclock, journal: journal,
                                       out: root.appendingPathComponent("out")))
            }
        }
    }
}

/// The shared corpus, read from the package root as every test of the project does.
enum Corpus {
    static let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .appendingPathComponent("../shared/corpus").standardizedFileURL
    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }
    static let jpeg = path("jpeg/pillow_flower.jpg")          // 480x360, valid
    static let png = path("png/pillow_test-card.png")         // 640x480, valid
    static let hopper = path("png/pillow_hopper_bw_500.png")  // 500x500, valid
    static let tiny = path("png-suite/basn2c08.png")          // 32x32: breaks min-dimension
}

/// Runs `body` expecting a ``ClientError`` and returns it (nil and a recorded issue otherwise).
func expectClientError(_ body: () async throws -> Void) async -> ClientError? {
    do {
        try await body()
        return nil
    } catch let e as ClientError {
        return e
    } catch {
        return ClientError(.transport, "unexpected \(type(of: error)): \(error)")
    }
}
