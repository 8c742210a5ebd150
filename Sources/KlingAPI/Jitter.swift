import KlingSupport
import NIOConcurrencyHelpers

/// A source of uniformly distributed numbers in `0..<1` for backoff jitter.
public protocol JitterSource: Sendable {
    /// The next number in `0..<1`.
    func next() -> Double
}

/// Jitter from the system's cryptographic generator (the default).
public struct SystemJitter: JitterSource {
    public init() {}
    public func next() -> Double { Double.random(in: 0..<1) }
}

/// A deterministic jitter source for tests: ``SplitMix64`` from a seed, top 53 bits mapped to `0..<1`.
public final class SeededJitter: JitterSource, Sendable {
    private let generator: NIOLockedValueBox<SplitMix64>
    public init(seed: UInt64) { generator = NIOLockedValueBox(SplitMix64(seed: seed)) }
    public func next() -> Double { generator.withLockedValue { $0.nextUnit() } }
}

/// A jitter source that always answers the same value (0 = no randomness, handy in tests).
public struct ConstantJitter: JitterSource {
    public var value: Double
    public init(_ value: Double) { self.value = min(max(value, 0), 0.999_999_999) }
    public func next() -> Double { value }
}

