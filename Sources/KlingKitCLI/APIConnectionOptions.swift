import ArgumentParser
import Foundation
import KlingAPI
import KlingKit
import KlingSupport

// The options and conventions every API command (`generate | status | list | download | resume`)
// shares. Credentials come only from the environment (KLING_ACCESS_KEY + KLING_SECRET_KEY, or
// COMETAPI_KEY), never from flags, so they stay out of shell history and process lists; they are
// never printed.

/// Exit codes of the API commands.
enum APIExit {
    /// A request broke an API rule (refused before sending) or an argument is wrong.
    static let invalid: Int32 = 2
    /// The task ended `failed` (the reason is the service's `task_status_msg`).
    static let taskFailed: Int32 = 3
    /// Waiting ran out of time; the task is journaled and `klingkit resume` finishes it.
    static let unfinished: Int32 = 4
}

/// `--provider`: which service (case-insensitive).
enum ProviderOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case kling, cometapi
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// `--region`: the native endpoint (case-insensitive).
enum RegionOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case global, china, legacy
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
    var region: Provider.Region { Provider.Region(rawValue: rawValue)! }
}

/// Options every API command shares: which service, where, and how patiently.
struct APIConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("kling (native, JWT from KLING_ACCESS_KEY + KLING_SECRET_KEY) or cometapi (COMETAPI_KEY).",
                                            valueName: "PROVIDER"))
    var provider: ProviderOption = .kling

    @Option(name: .customLong("base-url"), help: ArgumentHelp(
        "Service base URL (default: KLING_BASE_URL / COMETAPI_BASE_URL, else the provider's public endpoint).", valueName: "URL"))
    var baseURL: String?

    @Option(name: .long, help: ArgumentHelp("Native endpoint when --base-url is not given: global (Singapore), china (Beijing) or legacy.",
                                            valueName: "REGION"))
    var region: RegionOption?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds allowed for one API call.", valueName: "SECONDS"))
    var timeout: Double = 30

    @Option(name: .customLong("poll-interval"), help: ArgumentHelp(
        "Seconds between status queries while waiting (default 5 native, 20 CometAPI; the first query comes sooner).",
        valueName: "SECONDS"))
    var pollInterval: Double?

    @Option(name: .customLong("wait-timeout"), help: ArgumentHelp(
        "Give up waiting after this many seconds (the task stays journaled: `klingkit resume` finishes it).", valueName: "SECONDS"))
    var waitTimeout: Double = 900

    @Option(name: .customLong("download-timeout"), help: ArgumentHelp(
        "Seconds one result image may take to download, head and body together; a miss is retried.", valueName: "SECONDS"))
    var downloadTimeout: Double = 120

    @Option(name: .customLong("min-download-rate"), help: ArgumentHelp(
        "Abandon (and retry) a download that brings fewer bytes per second than this over any 10 s; 0 = no floor.",
        valueName: "BYTES"))
    var minDownloadRate: Int = 8192

    @Flag(name: .customLong("allow-private-downloads"), help: ArgumentHelp(
        "Fetch result images from private, link-local or loopback addresses (an on-premise relay)."))
    var allowPrivateDownloads = false

    @Option(name: .long, help: ArgumentHelp(
        "Journal folder (default: KLINGKIT_JOURNAL, else $XDG_STATE_HOME/klingkit/journal, else ~/.local/state/klingkit/journal). For batch run/resume: postgres://USER@HOST:PORT/DB (shared by workers) or a SQLite file (default OUT/.klingkit-batch/journal.sqlite).",
        valueName: "DIR"), completion: .directory)
    var journal: String?

    func validate() throws {
        if region != nil, provider != .kling { throw ValidationError("--region applies to --provider kling only") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        if let pollInterval, !(pollInterval > 0 && pollInterval.isFinite) {
            throw ValidationError("--poll-interval must be a positive number of seconds")
        }
        guard waitTimeout > 0, waitTimeout.isFinite else { throw ValidationError("--wait-timeout must be a positive number of seconds") }
        guard downloadTimeout > 0, downloadTimeout.isFinite else {
            throw ValidationError("--download-timeout must be a positive number of seconds")
        }
        guard minDownloadRate >= 0 else { throw ValidationError("--min-download-rate must be 0 or more bytes per second") }
        if let baseURL {
            guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  url.host != nil else {
                throw ValidationError("--base-url must be an http(s) URL, not '\(baseURL)'")
            }
        }
    }

    /// The client configuration for `providerName` (default: this command's `--provider`) at `baseURL`.
    func configuration(provider providerName: String? = nil, baseURL explicitBase: String? = nil,
                       withJournal: Bool = true) throws -> ClientConfiguration {
        var c: ClientConfiguration
        do {
            c = try ClientConfiguration.fromEnvironment(provider: providerName ?? provider.rawValue,
                                                        baseURL: explicitBase ?? baseURL ?? region?.region.baseURL)
        } catch let e as ClientError {
            throw CommandFailure(e.message + " (credentials are read from the environment only)", exitCode: APIExit.invalid)
        }
        c.images = ReferenceImageChecks()
        c.allowPrivateDownloads = allowPrivateDownloads
        c.downloadTimeout = .milliseconds(Int64(downloadTimeout * 1000))
        c.minimumDownloadRate = minDownloadRate
        c.requestTimeout = .milliseconds(Int64(timeout * 1000))
        // --timeout bounds one call as a whole: connecting, and the retries of a failed attempt.
        c.connectTimeout = min(c.connectTimeout, c.requestTimeout)
        c.retry.deadline = c.requestTimeout
        if isatty(STDERR_FILENO) == 1 {
            c.onRetry = { retry in
                let seconds = retry.delay.seconds < 10 ? String(format: "%.1f", retry.delay.seconds) : String(Int(retry.delay.seconds))
                notice("klingkit: retrying \(retry.nextAttempt)/\(retry.maxAttempts) in \(seconds) s: \(retry.reason)")
            }
        }
        if let pollInterval {
            let interval = Duration.milliseconds(Int64(pollInterval * 1000))
            c.polling.interval = interval
            c.polling.initialDelay = min(c.polling.initialDelay, interval)
        }
        c.polling.timeout = .milliseconds(Int64(waitTimeout * 1000))
        if withJournal { c.journal = try openJournal() }
        return c
    }

    func openJournal() throws -> TaskJournal {
        let dir = journal.map { URL(fileURLWithPath: $0) } ?? TaskJournal.defaultDirectory()
        do { return try TaskJournal(directory: dir) } catch let e as ClientError {
            throw CommandFailure("cannot open the journal: \(e.message)")
        }
    }
}


/// Maps a client error to a one-line command failure with the right exit code.
func failure(_ error: ClientError) -> CommandFailure {
    switch error.code {
    case .invalidRequest, .invalidImage, .configuration: return CommandFailure(error.description, exitCode: APIExit.invalid)
    case .taskFailed: return CommandFailure(error.description, exitCode: APIExit.taskFailed)
    case .deadlineExceeded: return CommandFailure(error.description, exitCode: APIExit.unfinished)
    default: return CommandFailure(error.description)
    }
}
