import Foundation
@testable import KlingKitCLI
import Testing

@Suite("SignalWaiter")
struct SignalWaiterTests {
    @Test("a signal sent the instant the waiter exists is delivered, every time")
    func noWindow() async throws {
        // SIGUSR2 (not SIGINT): if a delivery were lost the test process must not be the one to die.
        for round in 0..<50 {
            let waiter = SignalWaiter(signals: [SIGUSR2])
            kill(getpid(), SIGUSR2)
            let received = try await withThrowingTaskGroup(of: Int32?.self) { group in
                group.addTask { await waiter.next() }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            #expect(received == SIGUSR2, "round \(round): the signal was lost")
            if received != SIGUSR2 { break }
        }
    }
}
