import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Delivers status changes to `callback_url`s: one POST of the bare task object (JSON, no envelope)
/// per change, in order per task, 10 s timeout, no retries (the vendor documents none). Deliveries are
/// hints: a receiver must confirm by querying.
actor CallbackDispatcher {
    private var chains: [String: Task<Void, Never>] = [:]
    private let client: HTTPClient
    private let logger: Logger
    private(set) var delivered = 0
    private(set) var failed = 0

    init(logger: Logger) {
        // AsyncHTTPClient rather than URLSession: FoundationNetworking drags libcurl and ~28 shared
        // libraries into every `klingkit` launch (about 7 ms), even for commands that never post.
        client = HTTPClient.shared
        self.logger = logger
    }

    /// Queues one delivery of `body` to `url` after the task's earlier deliveries.
    func enqueue(taskID: String, url: String, body: [UInt8], isTerminal: Bool) {
        let previous = chains[taskID]
        let client = self.client
        let logger = self.logger
        let chain = Task { [weak self] in
            await previous?.value
            guard URL(string: url) != nil else { return }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
            var ok = false
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                ok = response.status.code < 300
                // Drain (and drop) the receiver's answer so the connection goes back to the pool.
                _ = try? await response.body.collect(upTo: 1 << 20)
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

    /// Cancels pending deliveries (the shared HTTP client needs no shutdown).
    func shutdown() {
        for chain in chains.values { chain.cancel() }
        chains.removeAll()
    }
}
