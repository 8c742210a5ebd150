import Foundation
import NIOConcurrencyHelpers

/// Turns SIGINT/SIGTERM into an awaitable event (the default action would kill the process mid-write).
///
/// The handler is installed with `sigaction(2)` before `init` returns, so a signal sent the moment
/// after (a test that interrupts as soon as a command says it is waiting) is never lost. A Dispatch
/// signal source is not used for this: on Linux it arms itself asynchronously on libdispatch's manager
/// thread after `resume()` returns, and a signal in that window was dropped (seen as a `generate` that
/// ignored its first Ctrl-C). The handler only writes the signal number to a pipe (the self-pipe
/// pattern: `write(2)` is async-signal-safe); a thread of its own reads the pipe and wakes the waiters.
actor SignalWaiter {
    private let stream: AsyncStream<Int32>
    private let subscription: Int

    init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        subscription = SignalRelay.shared.subscribe(continuation, to: Set(signals))
        for number in signals { SignalRelay.shared.install(number) }
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
        SignalRelay.shared.unsubscribe(subscription)
    }
}

/// The write end of the relay's pipe, read by the signal handler. Set once, before any handler is installed.
nonisolated(unsafe) private var relayWriteEnd: Int32 = -1

/// The signal handler: one `write(2)` of the signal number, `errno` preserved.
private func relaySignal(_ number: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(relayWriteEnd, &byte, 1)
    errno = saved
}

/// The process's one signal pipe and the thread that reads it.
private final class SignalRelay: Sendable {
    static let shared = SignalRelay()

    private typealias Waiter = (signals: Set<Int32>, continuation: AsyncStream<Int32>.Continuation)
    private let waiters = NIOLockedValueBox<(next: Int, all: [Int: Waiter])>((0, [:]))

    private init() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }   // no pipe: signals keep their default action
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        // A full pipe (a flood of signals nobody reads) drops the extra bytes instead of blocking the handler.
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        relayWriteEnd = ends[1]
        let readEnd = ends[0]
        let waiters = self.waiters
        let reader = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(readEnd, &byte, 1)
                if n == 1 {
                    let number = Int32(byte)
                    for waiter in waiters.withLockedValue({ Array($0.all.values) }) where waiter.signals.contains(number) {
                        waiter.continuation.yield(number)
                    }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        reader.name = "klingkit-signals"
        reader.start()
    }

    /// Routes `number` to the pipe (done synchronously: the handler is in place when this returns).
    func install(_ number: Int32) {
        guard relayWriteEnd >= 0 else { return }
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = relaySignal
        #else
        action.__sigaction_u.__sa_handler = relaySignal
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(number, &action, nil)
    }

    /// Routes `signals` to `continuation` until ``unsubscribe(_:)``.
    func subscribe(_ continuation: AsyncStream<Int32>.Continuation, to signals: Set<Int32>) -> Int {
        waiters.withLockedValue { state in
            state.next += 1
            state.all[state.next] = (signals, continuation)
            return state.next
        }
    }

    func unsubscribe(_ id: Int) {
        let waiter = waiters.withLockedValue { $0.all.removeValue(forKey: id) }
        waiter?.continuation.finish()
    }
}
