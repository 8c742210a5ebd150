import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// Delivers status changes to `callback_url`s: one POST of the bare task object (JSON, no envelope)
/// per change, in order per task, 10 s timeout, no retries (the vendor documents none). Deliveries are
/// hints: a receiver must confirm by querying.
actor CallbackDispatcher {
    private var chains: [String: Task<Void, Never>] = [:]
    private let session: URLSession
    private let logger: Logger
    private(set) var delivered = 0
    private(set) var failed = 0

    init(logger: Logger) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.httpMaximumConnectionsPerHost = 8
        session = URLSession(configuration: configuration)
        self.logger = logger
    }

    /// Queues one delivery of `body` to `url` after the task's earlier deliveries.
    func enqueue(taskID: String, url: String, body: [UInt8], isTerminal: Bool) {
        let previous = chains[taskID]
        let session = self.session
        let logger = self.logger
        let chain = Task { [weak self] in
            await previous?.value
            guard let target = URL(string: url) else { return }
            var request = URLRequest(url: target)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body)
            var ok = false
            do {
                let (_, response) = try await session.data(for: request)
                ok = ((response as? HTTPURLResponse)?.statusCode ?? 0) < 300
            } catch {
                logger.debug("callback delivery failed", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            }
            await self?.record(ok: ok, taskID: taskID, isTerminal: isTerminal)
        }
        chains[taskID] = chain
    }

    private func record(ok: Bool, taskID: String, isTerminal: Bool) {
        if ok { delivered += 1 } else { failed += 1 }
        if isTerminal { chains[taskID] = nil }
    }

    /// Waits until every queued delivery has been attempted.
    func drain() async {
        while !chains.isEmpty {
            let pending = chains
            for chain in pending.values { await chain.value }
            for (id, chain) in pending where chains[id] == chain { chains[id] = nil }
        }
    }

    /// Cancels pending deliveries and closes the session.
    func shutdown() {
        for chain in chains.values { chain.cancel() }
        chains.removeAll()
        session.invalidateAndCancel()
    }
}
