import Foundation

/// Settings of one ``BatchRunner``.
public struct BatchRunnerOptions: Sendable {
    /// Most slots (`n` summed over running tasks) the account may use through the journal. Default 5.
    public var budget: Int
    /// Seconds a claimed line stays this worker's without renewal (default 30; renewed every third of it).
    public var leaseSeconds: Double
    /// This worker's name in leases (default `HOST-PID-RANDOM`).
    public var worker: String
    /// Lines leased ahead of need (default: twice the budget, at least 8).
    public var claimAhead: Int?
    /// API calls of each kind (creates, queries, downloads) in flight at once: each kind has its own
    /// allowance, so queries of running tasks never hold back the creates that fill freed slots.
    /// Default 16.
    public var maxConcurrentCalls: Int
    /// Create attempts per line before it is failed (each after a lookup by external id). Default 8.
    public var maxSubmitAttempts: Int
    /// Download attempts per line (each after a fresh query for new URLs). Default 3.
    public var maxDownloadAttempts: Int
    /// Where images go: `DIR/<task_id>/<index>.<ext>`.
    public var outputDirectory: String
    /// Also fetch watermarked copies.
    public var includeWatermarked: Bool
    /// Sent as every create's `callback_url`, if set.
    public var callbackURL: String?
    /// Seconds between queries of a running task once a callback source is attached (default 30):
    /// callbacks say when to look; polling remains the fallback.
    public var callbackPollInterval: Double
    /// Seconds one journal call keeps retrying while the journal's server is unreachable
    /// (``BatchError/Code/journalUnavailable``: a PostgreSQL restart, a failover, a network blip) before
    /// the runner gives up with that error. Default 120; 0 gives up at once.
    public var journalPatience: Double

    public init(budget: Int = 5, leaseSeconds: Double = 30, worker: String? = nil, outputDirectory: String,
                includeWatermarked: Bool = false, callbackURL: String? = nil) {
        self.budget = budget
        self.leaseSeconds = leaseSeconds
        self.worker = worker ?? Self.defaultWorker()
        self.outputDirectory = outputDirectory
        self.includeWatermarked = includeWatermarked
        self.callbackURL = callbackURL
        self.maxConcurrentCalls = 16
        self.maxSubmitAttempts = 8
        self.maxDownloadAttempts = 3
        self.callbackPollInterval = 30
        self.journalPatience = 120
    }

    /// `HOST-PID-XXXX`.
    public static func defaultWorker() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        return "\(host)-\(getpid())-\(String(UInt16.random(in: .min ... .max), radix: 16))"
    }

    /// - Throws: ``BatchError`` `.configuration` naming the bad setting.
    public func validate() throws {
        guard budget >= 1 else { throw BatchError(.configuration, "--budget must be at least 1, got \(budget)") }
        guard leaseSeconds.isFinite, leaseSeconds >= 2, leaseSeconds <= 3600 else {
            throw BatchError(.configuration, "--lease-seconds must be in 2...3600, got \(leaseSeconds)")
        }
        guard journalPatience.isFinite, journalPatience >= 0, journalPatience <= 86_400 else {
            throw BatchError(.configuration, "--journal-patience must be in 0...86400 seconds, got \(journalPatience)")
        }
        guard maxConcurrentCalls >= 1 else { throw BatchError(.configuration, "concurrent calls must be at least 1") }
    }
}
