import Foundation
import KlingModels
import NIOConcurrencyHelpers

/// Status callbacks turned into hints for a ``BatchRunner``: each delivery (a bare or enveloped task
/// object, as the vendor POSTs it) is deduplicated on (`task_id`, `task_status`) and, when new, asks
/// the runner to query that task at once — the callback is never believed on its own word (one query
/// confirms it). While hints are attached, the runner polls running tasks only every
/// ``BatchRunnerOptions/callbackPollInterval`` seconds (the fallback when no callback comes).
public final class CallbackHints: Sendable {
    /// Task ids to query now, in delivery order (one consumer: the runner).
    public let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let seen = NIOLockedValueBox(Set<String>())
    private let counters = NIOLockedValueBox((accepted: 0, duplicates: 0, unreadable: 0))

    public init() {
        (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// What a delivery came to.
    public enum Outcome: Sendable, Equatable { case accepted, duplicate, unreadable }

    /// Takes one callback body.
    public func deliver(_ body: [UInt8]) -> Outcome {
        guard let task = Self.decode(body), let id = task.taskID, !id.isEmpty else {
            counters.withLockedValue { $0.unreadable += 1 }
            return .unreadable
        }
        let key = id + "\u{1F}" + (task.taskStatus?.rawValue ?? "")
        let fresh = seen.withLockedValue { $0.insert(key).inserted }
        guard fresh else {
            counters.withLockedValue { $0.duplicates += 1 }
            return .duplicate
        }
        counters.withLockedValue { $0.accepted += 1 }
        continuation.yield(id)
        return .accepted
    }

    /// Deliveries accepted, duplicates dropped, bodies that were not a task object.
    public var statistics: (accepted: Int, duplicates: Int, unreadable: Int) { counters.withLockedValue { $0 } }

    /// No more deliveries.
    public func finish() { continuation.finish() }

    /// A bare task object, or one in the API's envelope (`data`).
    static func decode(_ body: [UInt8]) -> TaskObject? {
        let data = Data(body)
        struct Enveloped: Decodable { var data: TaskObject? }
        if let e = try? JSONDecoder().decode(Enveloped.self, from: data), let task = e.data, task.taskID != nil { return task }
        return try? JSONDecoder().decode(TaskObject.self, from: data)
    }
}
