import NIOConcurrencyHelpers

/// A bounded cache of encoded result images, least recently used evicted first. Rendering is
/// deterministic, so an evicted image is simply rendered again.
final class ImageCache: Sendable {
    private struct State {
        var entries: [String: (bytes: [UInt8], tick: UInt64)] = [:]
        var total = 0
        var tick: UInt64 = 0
    }
    private let state = NIOLockedValueBox(State())
    /// Most bytes kept.
    let budget: Int

    init(budget: Int) { self.budget = budget }

    /// The bytes cached under `key`, marking them recently used.
    func get(_ key: String) -> [UInt8]? {
        state.withLockedValue { s in
            guard var entry = s.entries[key] else { return nil }
            s.tick += 1
            entry.tick = s.tick
            s.entries[key] = entry
            return entry.bytes
        }
    }

    /// Caches `bytes` (not when they alone exceed the budget), evicting the least recently used.
    func put(_ key: String, _ bytes: [UInt8]) {
        guard bytes.count <= budget else { return }
        state.withLockedValue { s in
            s.tick += 1
            if let old = s.entries[key] { s.total -= old.bytes.count }
            s.entries[key] = (bytes, s.tick)
            s.total += bytes.count
            while s.total > budget, let oldest = s.entries.min(by: { $0.value.tick < $1.value.tick }) {
                s.total -= oldest.value.bytes.count
                s.entries[oldest.key] = nil
            }
        }
    }
}
