import Foundation

/// Turns SIGINT/SIGTERM into an awaitable event (the default action would kill the process mid-write).
/// An actor: the signal sources it keeps alive are not `Sendable`, and only it touches them.
actor SignalWaiter {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<Int32>

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    /// The first signal received.
    func next() async -> Int32 {
        for await number in stream { return number }
        return SIGTERM
    }

    /// Gives `signals` back their default action (end the process).
    nonisolated static func restoreDefaults(_ signals: [Int32]) {
        for number in signals { signal(number, SIG_DFL) }
    }

    isolated deinit {
        for source in sources { source.cancel() }
    }
}
