/// A failure of the batch layer: a batch file that cannot be read, a journal that cannot be reached or
/// refuses a change, or a setting out of range. One line, never a secret (a journal URL's password is
/// never part of the message).
public struct BatchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. An open set: compare with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable { case file, invalid, journal, journalUnavailable, leaseLost, configuration }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// The batch file cannot be read (missing, not a regular file, not UTF-8).
        public static let file = Code(.file)
        /// Lines break rules (see ``BatchError/problems``); nothing was sent.
        public static let invalid = Code(.invalid)
        /// The journal cannot be opened, migrated, read or written.
        public static let journal = Code(.journal)
        /// The journal's server could not be reached or dropped the connection (refused, reset, shutting
        /// down, too many connections): the call may succeed when retried. A runner rides such an
        /// outage out for ``BatchRunnerOptions/journalPatience`` seconds before it gives up.
        public static let journalUnavailable = Code(.journalUnavailable)
        /// The worker no longer holds the job's lease (it expired and another worker took the line).
        public static let leaseLost = Code(.leaseLost)
        /// A setting is out of range (budget, lease, workers).
        public static let configuration = Code(.configuration)
        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    /// For ``Code/invalid``: every problem found, in line order.
    public var problems: [BatchProblem]

    public init(_ code: Code, _ message: String, problems: [BatchProblem] = []) {
        self.code = code
        self.message = message
        self.problems = problems
    }

    public var description: String { message }
}

/// One thing wrong with one line of a batch file.
public struct BatchProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The batch file's path as given.
    public var file: String
    /// 1-based line (JSON Lines) or row (CSV, the header being row 1).
    public var line: Int
    /// The field concerned (`prompt`, `image`, `n` …), when one is.
    public var field: String?
    /// The rule it breaks, one line.
    public var message: String

    public init(file: String, line: Int, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `FILE:LINE: FIELD: MESSAGE`.
    public var description: String {
        let prefix = field.map { message.hasPrefix($0 + ":") || message.hasPrefix($0 + " ") ? "" : "\($0): " } ?? ""
        return "\(file):\(line): " + prefix + message
    }
}
