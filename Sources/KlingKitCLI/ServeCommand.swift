import ArgumentParser
import Foundation
import Logging
import ReferenceImageService
import ReferenceImages

/// `klingkit serve`: the upload-validation service (``ReferenceImageServer``) in the foreground.
///
/// Prints `klingkit serve: listening on http://HOST:PORT` to stdout (flushed at once, so a script can
/// read the port chosen for `--port 0`), then serves until SIGTERM or SIGINT, which stop it gracefully:
/// no new connections, in-flight requests finish, exit 0. Access log lines go to stderr.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve upload validation over HTTP: /v1/check, /v1/prepare, a page to drop images on, /metrics.",
        discussion: """
            Routes: POST /v1/check (raw image body, or multipart/form-data with up to --max-files images; \
            answers check --json's object, an array for multipart; ?face=1 counts faces), POST /v1/prepare \
            (the prepared image with X-KlingKit-Actions, or with Accept: application/json \
            {report, actions, width, height, format, bytes, base64}; query parameters mirror prepare's flags), \
            GET / (the page), GET /healthz, GET /metrics (Prometheus), GET /openapi.json.

            Every refusal is JSON {code, rule, message}: 400 malformed form or option, 413 body over \
            --max-body-bytes or more than --max-files files, 415 not an image, 422 over --max-pixels \
            (judged from the header, never decoded) or corrupt, 503 with Retry-After when --max-decodes \
            slots and --max-queue waiting places are taken, the bodies held would pass \
            --max-buffered-bytes, or the --deadline passed.

            Exit status: 0 after SIGTERM/SIGINT (in-flight requests finish first), 1 if the address \
            cannot be bound, 2 on a usage error.
            """
    )

    @Option(name: .long, help: "Interface to bind (0.0.0.0 for all).")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "TCP port (0 picks a free one, printed on start).")
    var port: Int = 8080

    @Option(name: .customLong("max-files"), help: "Most images in one multipart /v1/check request.")
    var maxFiles: Int = ReferenceImageServiceLimits().maxFiles

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body, in bytes (413 beyond).")
    var maxBodyBytes: Int = ReferenceImageServiceLimits().maxBodyBytes

    @Option(name: .customLong("max-pixels"), help: "Most pixels an image header may declare (422 beyond, never decoded).")
    var maxPixels: Int = ReferenceImageServiceLimits().maxPixels

    @Option(name: .customLong("max-decodes"), help: "Image jobs at once (default: the number of cores).")
    var maxDecodes: Int?

    @Option(name: .customLong("max-queue"), help: "Requests that may wait for a decode slot (default: 2 x --max-decodes); 503 beyond.")
    var maxQueue: Int?

    @Option(name: .customLong("max-buffered-bytes"),
            help: "Request-body bytes held in memory at once by all requests (default: (--max-decodes + --max-queue + 2) x --max-body-bytes); 503 beyond.")
    var maxBufferedBytes: Int?

    @Option(name: .customLong("retry-after"), help: "Retry-After seconds of a 503.")
    var retryAfter: Int = 1

    @Option(name: .customLong("deadline"), help: "Seconds a request may take from head to answer (503 beyond).")
    var deadline: Double = 30

    @Option(name: .customLong("read-timeout"), help: "Seconds a client may pause while sending a request head or body before it is disconnected.")
    var readTimeout: Double = 10

    @Flag(name: .customLong("quiet"), help: "No access log.")
    var quiet = false

    func validate() throws {
        if let problem = try makeConfiguration().problem { throw ValidationError(problem) }
    }

    func makeConfiguration() throws -> ReferenceImageServerConfiguration {
        guard deadline > 0, deadline.isFinite else { throw ValidationError("--deadline must be more than 0 seconds") }
        guard readTimeout > 0, readTimeout.isFinite else { throw ValidationError("--read-timeout must be more than 0 seconds") }
        let decodes = maxDecodes ?? ReferenceImageServiceLimits().maxConcurrentDecodes
        let limits = ReferenceImageServiceLimits(
            maxBodyBytes: maxBodyBytes, maxFiles: maxFiles, maxPixels: maxPixels, maxConcurrentDecodes: decodes,
            maxQueuedDecodes: maxQueue, maxBufferedBodyBytes: maxBufferedBytes, retryAfterSeconds: retryAfter,
            requestDeadline: .milliseconds(Int64(deadline * 1000)))
        let timeout = Duration.milliseconds(Int64(readTimeout * 1000))
        return ReferenceImageServerConfiguration(host: host, port: port, limits: limits, headTimeout: timeout, readTimeout: timeout)
    }

    func run() async throws {
        let configuration = try makeConfiguration()
        var logger = Logger(label: "klingkit-serve") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = quiet ? .warning : .info
        // Take over SIGINT/SIGTERM before listening so an early signal still ends cleanly.
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM])
        let server: ReferenceImageServer
        do {
            server = try await ReferenceImageServer.start(configuration, logger: logger)
        } catch let error as ReferenceImageServerError {
            throw CommandFailure("serve: \(error.message)")
        }
        let limits = configuration.limits
        FileHandle.standardOutput.write(Data("klingkit serve: listening on \(server.baseURL)\n".utf8))
        FileHandle.standardError.write(Data("""
            klingkit serve: open \(server.baseURL)/ in a browser; bodies up to \(limits.maxBodyBytes) bytes, \
            \(limits.maxFiles) files, \(limits.maxPixels) pixels; \(limits.maxConcurrentDecodes) decodes at once, \
            \(limits.maxQueuedDecodes) waiting. Stop with Ctrl-C or SIGTERM.

            """.utf8))
        let received = await signals.next()
        FileHandle.standardError.write(Data("klingkit serve: \(received == SIGTERM ? "SIGTERM" : "SIGINT"): draining\n".utf8))
        // In-flight requests end within their deadline; a drain that outlasts it by 10 s (a stuck
        // client, or the rare shutdown deadlock noted in `klingkit emulator`) ends the process anyway,
        // on a Dispatch timer independent of Swift concurrency.
        let grace = limits.requestDeadline.components.seconds + 10
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Int(grace))) {
            note("klingkit serve: did not drain within \(grace) s; exiting")
            Foundation.exit(1)
        }
        await server.shutdown()
        note("klingkit serve: stopped; in-flight requests finished.")
    }
}
