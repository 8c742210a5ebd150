import AsyncHTTPClient
import KlingSupport
import NIOConcurrencyHelpers
import NIOCore

/// Reads a result image's body under the two rules a download must keep: one absolute deadline (head and
/// body together), and a minimum rate averaged over a sliding window, so a server that trickles bytes
/// (or stops sending without closing) is abandoned instead of holding a command for hours.
///
/// AsyncHTTPClient's own deadline covers the request until the answer's head arrives; the body is read
/// here, beside a watchdog that samples the byte count four times a second (real time: these are
/// network rules, not the injected clock of polling). The first of the two tasks to end decides; the
/// other is cancelled, which also cancels the request.
struct DownloadBodyReader: Sendable {
    /// Largest accepted body, bytes.
    var cap: Int
    /// When the whole download must be over.
    var deadline: ContinuousClock.Instant
    /// Minimum bytes per second over `window`; 0 = no rate rule.
    var minimumRate: Int
    var window: Duration
    /// When the download started (the window rule applies from `start + window`).
    var start: ContinuousClock.Instant

    /// Why a body was abandoned.
    enum Failure: Error, Equatable {
        case deadline(received: Int)
        case tooSlow(received: Int, inWindow: Int)
        case tooLarge
    }

    func read(_ body: HTTPClientResponse.Body) async throws -> [UInt8] {
        let received = NIOLockedValueBox(0)
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                var bytes: [UInt8] = []
                for try await chunk in body {
                    guard bytes.count + chunk.readableBytes <= cap else { throw Failure.tooLarge }
                    bytes.append(contentsOf: chunk.readableBytesView)
                    let count = bytes.count
                    received.withLockedValue { $0 = count }
                }
                return bytes
            }
            group.addTask {
                try await watch(received)
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let bytes = result { return bytes }
            }
            throw CancellationError()
        }
    }

    /// Returns only when cancelled (the body ended first); throws when a rule is broken.
    private func watch(_ received: NIOLockedValueBox<Int>) async throws {
        let clock = ContinuousClock()
        let tick = Duration.milliseconds(250)
        var samples: [(at: ContinuousClock.Instant, bytes: Int)] = [(start, 0)]
        while true {
            try await clock.sleep(for: min(tick, max(.zero, deadline - clock.now)))
            let now = clock.now
            let bytes = received.withLockedValue { $0 }
            if now >= deadline { throw Failure.deadline(received: bytes) }
            guard minimumRate > 0 else { continue }
            samples.append((now, bytes))
            // samples[0]: the newest sample at least a window old, the base the rate is measured from.
            while samples.count > 1, now - samples[1].at >= window { samples.removeFirst() }
            let span = now - samples[0].at
            guard span >= window else { continue }
            let moved = bytes - samples[0].bytes
            if Double(moved) < Double(minimumRate) * span.seconds {
                throw Failure.tooSlow(received: bytes, inWindow: moved)
            }
        }
    }
}
