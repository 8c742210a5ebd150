import NIOConcurrencyHelpers

/// The one budget of request-body bytes the service holds in memory at once, across every request:
/// bodies are buffered whole before their image is judged, so without it memory would grow with the
/// number of connections × ``ReferenceImageServiceLimits/maxBodyBytes`` rather than with the work
/// admitted. Each request takes a ``Lease`` and grows it as its body arrives (a declared
/// `Content-Length` is taken whole before anything is read); when a lease cannot grow, the request is
/// answered 503 `buffered-bytes` with `Retry-After`, and its bytes go back when the answer is made.
final class BodyBudget: Sendable {
    /// Most bytes held at once.
    let limit: Int
    private let held = NIOLockedValueBox(0)
    private let onChange: @Sendable (_ held: Int) -> Void

    /// - Parameter onChange: gets the bytes held after every change (the metrics' gauge). It runs under
    ///   the budget's lock, so gauge updates land in the order of the changes; it must be quick and must
    ///   not touch the budget.
    init(limit: Int, onChange: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.limit = max(1, limit)
        self.onChange = onChange
    }

    /// Bytes held by every lease now.
    var heldBytes: Int { held.withLockedValue { $0 } }

    /// Whether `bytes` more would fit now (for `Expect: 100-continue`, before a body is invited).
    func wouldFit(_ bytes: Int) -> Bool { held.withLockedValue { $0 + bytes <= limit } }

    /// A lease for one request, holding nothing yet.
    func lease() -> Lease { Lease(budget: self) }

    fileprivate func take(_ bytes: Int) -> Bool {
        held.withLockedValue { held in
            guard held + bytes <= limit else { return false }
            held += bytes
            onChange(held)
            return true
        }
    }

    fileprivate func give(_ bytes: Int) {
        held.withLockedValue { held in
            held -= bytes
            onChange(held)
        }
    }

    /// One request's share of the budget; what it holds goes back on ``release()`` (or when it is freed).
    /// Not `Sendable`: the one request task that made it grows and releases it.
    final class Lease {
        private let budget: BodyBudget
        private var holding = 0

        fileprivate init(budget: BodyBudget) {
            self.budget = budget
        }

        /// The budget's limit, bytes.
        var limit: Int { budget.limit }
        /// Bytes held by every lease now.
        var heldByAll: Int { budget.heldBytes }

        /// Grows the lease to `total` bytes; false (holding what it held) when the budget has no room.
        func grow(to total: Int) -> Bool {
            guard total > holding else { return true }
            guard budget.take(total - holding) else { return false }
            holding = total
            return true
        }

        /// Gives every byte held back to the budget; idempotent.
        func release() {
            if holding > 0 { budget.give(holding) }
            holding = 0
        }

        deinit { release() }
    }
}
