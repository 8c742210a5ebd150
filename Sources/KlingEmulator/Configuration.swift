import KlingSupport
import KlingModels

/// Everything an ``EmulatorServer`` is started with. The defaults give a fast, fault-free server on a
/// free port with fixed development keys.
public struct EmulatorConfiguration: Sendable {
    /// TCP port on 127.0.0.1; 0 (default) picks a free one (read it back from ``EmulatorServer/baseURL``).
    public var port: Int
    /// The access key native JWTs must carry as `iss`.
    public var accessKey: String
    /// The secret key native JWTs are signed with (HMAC-SHA256 over its UTF-8 bytes). Never logged.
    public var secretKey: String
    /// The key CometAPI callers send as `Authorization: Bearer <key>`. Never logged.
    public var cometAPIKey: String
    /// Seconds from submission to the terminal status (default 3). A task is `submitted` for the first
    /// quarter of that time, then `processing`. 0 ends tasks at once.
    public var taskSeconds: Double
    /// The account's concurrency limit: the most images (`n` summed over tasks that have not ended)
    /// one account may have running; a create over it is answered 429 / 1303. Default 20.
    public var concurrencyLimit: Int
    /// Accepted clock skew for JWT `nbf` and `exp`, in seconds (default 0: checked exactly).
    public var jwtLeewaySeconds: Int64
    /// Largest request body accepted, in bytes (default 96 MiB: six 10 MiB images in base64);
    /// larger bodies are answered 413 / 1200.
    public var maxBodyBytes: Int
    /// Upper bound on the size of an image *file* in a request (default 10,485,760 bytes = 10 MiB).
    public var maxImageBytes: Int
    /// How many tasks are kept per account before the oldest ended ones are forgotten (default 50,000;
    /// a task costs about 1 KiB plus up to ~30 KiB per reference image, kept as a small JPEG).
    public var maxRetainedTasks: Int
    /// Bytes of generated result images kept in memory (default 64 MiB); evicted images are
    /// re-rendered on demand (rendering is deterministic).
    public var imageCacheBytes: Int
    /// Seconds a result URL stays valid (default 30 days, as the vendor says). See also
    /// ``FaultConfiguration/downloadExpirySeconds``.
    public var resultURLLifetimeSeconds: Double
    /// Faults to inject; none by default.
    public var faults: FaultConfiguration
    /// Seed of the random choices (which task fails, which request gets a transient error); the same
    /// seed and the same request sequence give the same outcomes. Default 0x4B4C494E47 ("KLING").
    public var seed: UInt64
    /// The clock that drives task lifecycles, token checks and URL expiry. Default: the system clock.
    public var clock: any TimeSource
    /// Whether to log one line per request at `info` (default false: `debug`).
    public var logRequests: Bool

    public init(
        port: Int = 0,
        accessKey: String = EmulatorConfiguration.developmentAccessKey,
        secretKey: String = EmulatorConfiguration.developmentSecretKey,
        cometAPIKey: String = EmulatorConfiguration.developmentCometAPIKey,
        taskSeconds: Double = 3,
        concurrencyLimit: Int = 20,
        jwtLeewaySeconds: Int64 = 0,
        maxBodyBytes: Int = 96 << 20,
        maxImageBytes: Int = 10_485_760,
        maxRetainedTasks: Int = 50_000,
        imageCacheBytes: Int = 64 << 20,
        resultURLLifetimeSeconds: Double = 30 * 86_400,
        faults: FaultConfiguration = .init(),
        seed: UInt64 = 0x4B_4C49_4E47,
        clock: any TimeSource = SystemClock(),
        logRequests: Bool = false
    ) {
        self.port = port
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.cometAPIKey = cometAPIKey
        self.taskSeconds = taskSeconds
        self.concurrencyLimit = concurrencyLimit
        self.jwtLeewaySeconds = jwtLeewaySeconds
        self.maxBodyBytes = maxBodyBytes
        self.maxImageBytes = maxImageBytes
        self.maxRetainedTasks = maxRetainedTasks
        self.imageCacheBytes = imageCacheBytes
        self.resultURLLifetimeSeconds = resultURLLifetimeSeconds
        self.faults = faults
        self.seed = seed
        self.clock = clock
        self.logRequests = logRequests
    }

    /// The default access key: fine for loopback development, never for anything reachable.
    public static let developmentAccessKey = "emulator-access-key"
    /// The default secret key.
    public static let developmentSecretKey = "emulator-secret-key"
    /// The default CometAPI key.
    public static let developmentCometAPIKey = "emulator-cometapi-key"

    /// Checks the values: positive limits, rates in 0...1, a port in 0...65535.
    /// - Throws: ``EmulatorError`` naming the first bad setting.
    public func validate() throws {
        guard (0...65_535).contains(port) else { throw EmulatorError(.configuration, field: "port", "port \(port) is outside 0...65535") }
        guard !accessKey.isEmpty, !secretKey.isEmpty, !cometAPIKey.isEmpty else {
            throw EmulatorError(.configuration, field: "keys", "access key, secret key and CometAPI key must not be empty")
        }
        guard taskSeconds.isFinite, taskSeconds >= 0 else { throw EmulatorError(.configuration, field: "taskSeconds", "task seconds must be ≥ 0, got \(taskSeconds)") }
        guard concurrencyLimit >= 1 else { throw EmulatorError(.configuration, field: "concurrencyLimit", "concurrency limit must be ≥ 1, got \(concurrencyLimit)") }
        guard maxBodyBytes >= 1024 else { throw EmulatorError(.configuration, field: "maxBodyBytes", "max body bytes must be ≥ 1024, got \(maxBodyBytes)") }
        guard maxImageBytes >= 1 else { throw EmulatorError(.configuration, field: "maxImageBytes", "max image bytes must be ≥ 1") }
        guard maxRetainedTasks >= 1 else { throw EmulatorError(.configuration, field: "maxRetainedTasks", "max retained tasks must be ≥ 1") }
        guard resultURLLifetimeSeconds > 0 else { throw EmulatorError(.configuration, field: "resultURLLifetimeSeconds", "result URL lifetime must be > 0") }
        try faults.validate()
    }
}

/// Faults the emulator injects, for tests and for hardening client code. Rates are probabilities in
/// 0...1 drawn from the configuration's seeded generator; 0 (default) disables a fault, 1 makes it certain.
public struct FaultConfiguration: Sendable, Equatable {
    /// Extra delay before every API answer, in milliseconds (a value drawn uniformly from the range).
    /// Default 0...0. Real time, not the injected clock: it models the network.
    public var latencyMilliseconds: ClosedRange<Int>
    /// Share of tasks that end `failed` with ``taskFailureMessage`` instead of `succeed`.
    public var taskFailureRate: Double
    /// The `task_status_msg` of a failed task.
    public var taskFailureMessage: String
    /// Share of API requests answered 429 / 1302 (too many requests) before anything else happens.
    public var rateLimitRate: Double
    /// Share of API requests answered with a transient server error, cycling 500/5000, 503/5001, 504/5002.
    public var serverErrorRate: Double
    /// Share of accepted creates whose connection is closed without an answer (the task exists:
    /// the client must find it by `external_task_id` rather than submit again).
    public var dropAfterCreateRate: Double
    /// When set, result URLs expire this many seconds after the task ends (overrides the 30-day
    /// lifetime); an expired URL is answered 403.
    public var downloadExpirySeconds: Double?
    /// When set, result downloads are streamed at about this many bytes per second.
    public var slowDownloadBytesPerSecond: Int?
    /// When set, every create (after authentication) is refused with this business code and its HTTP
    /// status — e.g. 1101 (arrears, HTTP 429 but terminal), 1102, 1103, 1300 or 1304 — to test how a
    /// client tells terminal codes from retryable ones.
    public var refuseCreatesWith: BusinessCode?
    /// Prompt terms (case-insensitive) that content safety refuses at submission with 400 / 1301.
    public var blockedPromptTerms: [String]

    public init(
        latencyMilliseconds: ClosedRange<Int> = 0...0,
        taskFailureRate: Double = 0,
        taskFailureMessage: String = FaultConfiguration.defaultFailureMessage,
        rateLimitRate: Double = 0,
        serverErrorRate: Double = 0,
        dropAfterCreateRate: Double = 0,
        downloadExpirySeconds: Double? = nil,
        slowDownloadBytesPerSecond: Int? = nil,
        refuseCreatesWith: BusinessCode? = nil,
        blockedPromptTerms: [String] = []
    ) {
        self.latencyMilliseconds = latencyMilliseconds
        self.taskFailureRate = taskFailureRate
        self.taskFailureMessage = taskFailureMessage
        self.rateLimitRate = rateLimitRate
        self.serverErrorRate = serverErrorRate
        self.dropAfterCreateRate = dropAfterCreateRate
        self.downloadExpirySeconds = downloadExpirySeconds
        self.slowDownloadBytesPerSecond = slowDownloadBytesPerSecond
        self.refuseCreatesWith = refuseCreatesWith
        self.blockedPromptTerms = blockedPromptTerms
    }

    /// The vendor's usual wording for a task stopped by moderation.
    public static let defaultFailureMessage = "Failure to pass the risk control system"

    /// Whether any fault is enabled.
    public var isEmpty: Bool { self == FaultConfiguration() }

    /// - Throws: ``EmulatorError`` for a rate outside 0...1 or a negative duration.
    public func validate() throws {
        for (name, rate) in [("task failure rate", taskFailureRate), ("rate-limit rate", rateLimitRate),
                             ("server error rate", serverErrorRate), ("drop-after-create rate", dropAfterCreateRate)] {
            guard rate.isFinite, (0...1).contains(rate) else { throw EmulatorError(.configuration, field: "faults", "\(name) must be in 0...1, got \(rate)") }
        }
        guard latencyMilliseconds.lowerBound >= 0 else { throw EmulatorError(.configuration, field: "faults.latencyMilliseconds", "latency must be ≥ 0 ms") }
        if let expiry = downloadExpirySeconds, !(expiry.isFinite && expiry >= 0) {
            throw EmulatorError(.configuration, field: "faults.downloadExpirySeconds", "download expiry must be ≥ 0 s, got \(expiry)")
        }
        if let rate = slowDownloadBytesPerSecond, rate < 1 {
            throw EmulatorError(.configuration, field: "faults.slowDownloadBytesPerSecond", "slow download rate must be ≥ 1 byte/s, got \(rate)")
        }
        if let code = refuseCreatesWith, code == .success || !code.isDocumented {
            throw EmulatorError(.configuration, field: "faults.refuseCreatesWith", "refuse-creates code must be a documented non-zero business code, got \(code.rawValue)")
        }
        if blockedPromptTerms.contains(where: { $0.isEmpty }) { throw EmulatorError(.configuration, field: "faults.blockedPromptTerms", "a blocked prompt term must not be empty") }
    }
}

/// A failure to configure or start the emulator (or its callback sink): what kind, the setting
/// concerned, and a one-line message. Request-level problems are answered over HTTP, not thrown.
public struct EmulatorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. An open set: compare with `==`; new codes break no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable { case configuration, listen }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// A setting is out of range (``EmulatorError/field`` names it).
        public static let configuration = Code(.configuration)
        /// The port cannot be bound.
        public static let listen = Code(.listen)
        public var description: String { value.rawValue }
    }

    public var code: Code
    /// The setting concerned, for ``Code/configuration`` (e.g. `port`, `faults.taskFailureRate`).
    public var field: String?
    /// One line naming the setting and the value found; never a key.
    public var message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
