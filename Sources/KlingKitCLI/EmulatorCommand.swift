import ArgumentParser
import Dispatch
import Foundation
import KlingEmulator
import KlingModels

/// `klingkit emulator`: runs a local server of the Kling image API in the foreground.
///
/// Serves the native routes with JWT auth and the same routes under `/kling` with a CometAPI bearer key
/// on `127.0.0.1:PORT` until SIGINT or SIGTERM, then stops cleanly (exit 0). Prints the base URL and the
/// keys to use as `NAME=value` lines (the environment variables the client reads), flushed at once so a
/// script can read them from a pipe.
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Run a local emulator of the Kling image API (native JWT and CometAPI flavours) until stopped.",
        discussion: """
            Routes (native; CometAPI = the same paths under /kling): POST /v1/images/generations, GET /v1/images/generations/{id}, GET /v1/images/generations?pageNum=&pageSize= (list) or ?external_task_id=, and the same for /v1/images/multi-image2image. Results are served from /results/...; GET /_emulator/stats counts tasks.

            Output (stdout, flushed at once): KLING_BASE_URL, KLING_ACCESS_KEY, KLING_SECRET_KEY, COMETAPI_BASE_URL and COMETAPI_KEY as NAME=value lines.

            Tasks go submitted -> processing (after a quarter of --task-seconds) -> succeed or failed. Faults are off unless asked for.

            Exit status: 0 after SIGINT/SIGTERM, 1 if the port cannot be bound, 2 on a usage error.
            """
    )

    @Option(name: .long, help: "TCP port on 127.0.0.1 (0 picks a free one).")
    var port: Int = 8787

    @Option(name: .customLong("access-key"), help: "Access key native JWTs must carry as iss.")
    var accessKey: String = EmulatorConfiguration.developmentAccessKey

    @Option(name: .customLong("secret-key"), help: "Secret key native JWTs are signed with (HS256).")
    var secretKey: String = EmulatorConfiguration.developmentSecretKey

    @Option(name: .customLong("cometapi-key"), help: "Bearer key for the CometAPI routes under /kling.")
    var cometAPIKey: String = EmulatorConfiguration.developmentCometAPIKey

    @Option(name: .customLong("task-seconds"), help: "Seconds from submission to the end of a task.")
    var taskSeconds: Double = 3

    @Option(name: .customLong("concurrency-limit"), help: "Images (sum of n) one account may have running; more is 429/1303.")
    var concurrencyLimit: Int = 20

    @Option(name: .customLong("latency-ms"), help: ArgumentHelp("Delay before every API answer: MS or MIN-MAX milliseconds.", valueName: "MS"))
    var latency: String = "0"

    @Option(name: .customLong("failure-rate"), help: "Share of tasks (0-1) that end failed.")
    var failureRate: Double = 0

    @Option(name: .customLong("failure-message"), help: "task_status_msg of a failed task.")
    var failureMessage: String = FaultConfiguration.defaultFailureMessage

    @Option(name: .customLong("rate-limit-rate"), help: "Share of API requests (0-1) answered 429/1302.")
    var rateLimitRate: Double = 0

    @Option(name: .customLong("server-error-rate"), help: "Share of API requests (0-1) answered 500/5000, 503/5001 or 504/5002.")
    var serverErrorRate: Double = 0

    @Option(name: .customLong("drop-after-create-rate"), help: "Share of accepted creates (0-1) whose connection is closed unanswered.")
    var dropAfterCreateRate: Double = 0

    @Option(name: .customLong("download-expiry-seconds"), help: "Result URLs expire this many seconds after the task ends (default 30 days).")
    var downloadExpirySeconds: Double?

    @Option(name: .customLong("slow-download"), help: ArgumentHelp("Stream result downloads at about this many bytes per second.", valueName: "BYTES_PER_SECOND"))
    var slowDownload: Int?

    @Option(name: .customLong("refuse-creates-with"), help: ArgumentHelp("Refuse every create with this business code (e.g. 1101, 1102, 1103, 1304).", valueName: "CODE"))
    var refuseCreatesWith: Int?

    @Option(name: .customLong("blocked-word"), help: "A prompt term content safety refuses with 400/1301 (repeatable).")
    var blockedWords: [String] = []

    @Option(name: .long, help: "Seed of the fault draws (same seed, same sequence).")
    var seed: UInt64 = 0x4B_4C49_4E47

    @Flag(name: .customLong("log-requests"), help: "Log one line per request to stderr.")
    var logRequests = false

    func validate() throws {
        do {
            try makeConfiguration().validate()
        } catch let error as EmulatorError {
            throw ValidationError(error.message)
        }
    }

    /// Parses `MS` or `MIN-MAX`.
    static func parseLatency(_ text: String) throws -> ClosedRange<Int> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let low = Int(parts[0]), let high = Int(parts.last!), low >= 0, low <= high else {
            throw ValidationError("--latency-ms must be MS or MIN-MAX with 0 <= MIN <= MAX, got \"\(text)\"")
        }
        return low...high
    }

    func makeConfiguration() throws -> EmulatorConfiguration {
        EmulatorConfiguration(
            port: port, accessKey: accessKey, secretKey: secretKey, cometAPIKey: cometAPIKey,
            taskSeconds: taskSeconds, concurrencyLimit: concurrencyLimit,
            faults: FaultConfiguration(
                latencyMilliseconds: try Self.parseLatency(latency), taskFailureRate: failureRate,
                taskFailureMessage: failureMessage, rateLimitRate: rateLimitRate, serverErrorRate: serverErrorRate,
                dropAfterCreateRate: dropAfterCreateRate, downloadExpirySeconds: downloadExpirySeconds,
                slowDownloadBytesPerSecond: slowDownload, refuseCreatesWith: refuseCreatesWith.map { BusinessCode($0) },
                blockedPromptTerms: blockedWords),
            seed: seed, logRequests: logRequests)
    }

    func run() async throws {
        let configuration = try makeConfiguration()
        // Take over SIGINT/SIGTERM before listening so an early signal still ends cleanly.
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM])
        let faults = configuration.faults.isEmpty ? "none" : describe(configuration.faults)
        let (received, requests): (Int32, Int)
        do {
            (received, requests) = try await withEmulator(configuration) { server in
                write("""
                    KLING_BASE_URL=\(server.baseURL)
                    KLING_ACCESS_KEY=\(configuration.accessKey)
                    KLING_SECRET_KEY=\(configuration.secretKey)
                    COMETAPI_BASE_URL=\(server.baseURL)
                    COMETAPI_KEY=\(configuration.cometAPIKey)

                    """, to: .standardOutput)
                write("""
                    klingkit emulator: listening on \(server.baseURL) (native) and \(server.baseURL)/kling (CometAPI); \
                    tasks take \(configuration.taskSeconds) s, \(configuration.concurrencyLimit) concurrent images per account; \
                    faults: \(faults). Stop with Ctrl-C or SIGTERM.

                    """, to: .standardError)
                let received = await signals.next()
                // A stop that does not finish in 10 s (a hung connection, or the rare shutdown deadlock
                // between ServiceGroup's cancellation and a task-executor preference, seen once under
                // gdb) ends the process anyway: on a Dispatch timer, independent of Swift concurrency.
                DispatchQueue.global().asyncAfter(deadline: .now() + 10) {
                    note("klingkit emulator: did not stop within 10 s; exiting")
                    Foundation.exit(1)
                }
                return (received, await server.statistics()["requests"] ?? 0)
            }
        } catch let error as EmulatorError {
            throw CommandFailure("emulator: \(error)")
        }
        write("klingkit emulator: stopped by \(received == SIGTERM ? "SIGTERM" : "SIGINT") after \(requests) requests.\n", to: .standardError)
    }

    private func describe(_ faults: FaultConfiguration) -> String {
        var parts: [String] = []
        if faults.latencyMilliseconds.upperBound > 0 { parts.append("latency \(faults.latencyMilliseconds.lowerBound)-\(faults.latencyMilliseconds.upperBound) ms") }
        if faults.taskFailureRate > 0 { parts.append("task failure rate \(faults.taskFailureRate)") }
        if faults.rateLimitRate > 0 { parts.append("429/1302 rate \(faults.rateLimitRate)") }
        if faults.serverErrorRate > 0 { parts.append("5xx rate \(faults.serverErrorRate)") }
        if faults.dropAfterCreateRate > 0 { parts.append("drop-after-create rate \(faults.dropAfterCreateRate)") }
        if let expiry = faults.downloadExpirySeconds { parts.append("URLs expire after \(expiry) s") }
        if let rate = faults.slowDownloadBytesPerSecond { parts.append("downloads at \(rate) B/s") }
        if let code = faults.refuseCreatesWith { parts.append("creates refused with \(code.rawValue)") }
        if !faults.blockedPromptTerms.isEmpty { parts.append("\(faults.blockedPromptTerms.count) blocked prompt term(s)") }
        return parts.joined(separator: ", ")
    }

    private func write(_ text: String, to handle: FileHandle) {
        handle.write(Data(text.utf8))
    }
}
