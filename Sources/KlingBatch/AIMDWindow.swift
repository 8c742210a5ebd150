/// The runner's own cap on slots, under the budget: additive increase, multiplicative decrease.
///
/// It starts at the budget. A 1303 (the account's limit reached — someone else is using slots, or
/// the budget is set above the plan) halves it, at most once per ``cooldownSeconds`` so one burst of
/// refusals counts once; each task that ends adds `n / window` (about one slot per window's worth of
/// finished tasks), back up to the budget. Never below 1.
public struct AIMDWindow: Sendable, Equatable {
    public private(set) var value: Double
    public let maximum: Int
    /// Seconds after a decrease during which further 1303s do not decrease again (default 1).
    public let cooldownSeconds: Double
    private var lastDecrease: Double = -.infinity
    /// Decreases so far.
    public private(set) var decreases = 0

    public init(maximum: Int, cooldownSeconds: Double = 1) {
        self.maximum = max(1, maximum)
        self.value = Double(max(1, maximum))
        self.cooldownSeconds = cooldownSeconds
    }

    /// Slots the runner may hold now: ⌊window⌋, at least 1.
    public var cap: Int { max(1, min(maximum, Int(value))) }

    /// A 1303 at time `now` (seconds, any monotonic origin): halve, unless within the cooldown.
    public mutating func concurrencyLimited(at now: Double) {
        guard now - lastDecrease >= cooldownSeconds else { return }
        lastDecrease = now
        decreases += 1
        value = max(1, value / 2)
    }

    /// A task of `slots` images ended: grow by `slots / window`, up to the budget.
    public mutating func taskEnded(slots: Int) {
        value = min(Double(maximum), value + Double(max(1, slots)) / value)
    }
}
