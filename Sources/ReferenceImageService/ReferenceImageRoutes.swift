import Foundation
import HTTPTypes
import Hummingbird
import ImageCodecs
import KlingServerSupport
import Logging
import NIOCore
import ReferenceImages

/// The upload-validation routes, ready to add to any Hummingbird router:
///
/// - `POST /v1/check`: one image as the raw body, or `multipart/form-data` with up to
///   ``ReferenceImageServiceLimits/maxFiles`` files → `klingkit check --json`'s object (raw) or an array
///   of them, one per file (multipart); `?face=1` counts faces.
/// - `POST /v1/prepare`: one image → the prepared image (`Content-Type` of its format, actions in
///   `X-KlingKit-Actions`, `; `-separated), or with `Accept: application/json` the sidecar
///   `{report, actions, width, height, format, bytes, base64}`. Query parameters mirror
///   `klingkit prepare`'s flags: `fit=pad|crop`, `pad-style`, `crop-offset`, `background`, `min-side`,
///   `max-side`, `max-bytes`, `format=jpeg|png|auto`, `quality`, `filter`, `icc=keep|srgb`,
///   `keep-metadata`, `optimize-huffman`.
/// - `GET /healthz`, `GET /metrics` (Prometheus text), `GET /openapi.json`, `GET /` (the page).
///
/// Every refusal is `{"code", "rule", "message"}` JSON (``ServiceRefusal``). Image work runs on a
/// pool of threads of its own, at most ``ReferenceImageServiceLimits/maxConcurrentDecodes`` at once,
/// with a short queue behind it (503 and `Retry-After` beyond); the bodies held in memory at once stay
/// within ``ReferenceImageServiceLimits/maxBufferedBodyBytes`` (503 `buffered-bytes` beyond). Access
/// log lines (swift-log, `info`) carry method, route, status, byte counts and milliseconds; never image
/// bytes or file contents.
///
/// ```swift
/// let routes = ReferenceImageRoutes(limits: .init(maxBodyBytes: 10 << 20))
/// let router = Router()
/// routes.add(to: router)
/// // ... run the application; afterwards:
/// await routes.shutdown()
/// ```
public final class ReferenceImageRoutes: Sendable {
    /// The limits every request is held to.
    public let limits: ReferenceImageServiceLimits
    /// The metrics `/metrics` renders.
    public let metrics: ReferenceImageServiceMetrics
    let logger: Logger
    let gate: WorkGate
    let bodies: BodyBudget
    let pool: CPUPool
    private let jobs: ImageJobs

    /// - Parameters:
    ///   - limits: what one request may cost.
    ///   - threads: threads of the decode pool (default ``ReferenceImageServiceLimits/maxConcurrentDecodes``).
    ///   - metrics: where the metrics go (a registry of their own by default).
    ///   - logger: the access log (`info` per request) and refusals (`debug`).
    /// - Precondition: `limits.problem == nil`.
    public init(limits: ReferenceImageServiceLimits = .init(), threads: Int? = nil,
                metrics: ReferenceImageServiceMetrics = .init(), logger: Logger = Logger(label: "klingkit-serve")) {
        precondition(limits.problem == nil, limits.problem ?? "")
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        gate = WorkGate(slots: limits.maxConcurrentDecodes, queueLimit: limits.maxQueuedDecodes) { [metrics] queued, running in
            metrics.depth(queued: queued, running: running)
        }
        bodies = BodyBudget(limit: limits.maxBufferedBodyBytes) { [metrics] held in metrics.buffered(bytes: held) }
        pool = CPUPool(threads: threads ?? limits.maxConcurrentDecodes)
        jobs = ImageJobs(limits: limits)
    }

    /// Adds the routes (with their access log, metrics, deadline and refusal middleware) to `router`.
    public func add<Context: RequestContext>(to router: some RouterMethods<Context>) {
        let group = router.group().add(middleware: ServiceMiddleware<Context>(routes: self))
        group.post("/v1/check") { request, _ in try await self.withDeadline { try await self.check(request) } }
        group.post("/v1/prepare") { request, _ in try await self.withDeadline { try await self.prepare(request) } }
        group.get("/healthz") { _, _ in Self.json(#"{"status":"ok"}"#) }
        group.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.exposition())))
        }
        group.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(bytes: ServiceDocuments.openAPI)))
        }
        group.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                     body: .init(byteBuffer: ByteBuffer(bytes: ServiceDocuments.page)))
        }
    }

    /// Stops the decode pool's threads once the jobs queued so far have run. Call after the server stopped.
    public func shutdown() async {
        await pool.shutdown()
    }

    /// Whether an upload with this head would have its body read now: not when its declared length
    /// is over the cap or would not fit the bodies already held, or the decode queue is full (all
    /// refused before the body). For `Expect: 100-continue` (``ExpectContinueHandler``): a refused
    /// client then sends no body at all.
    public func invitesBody(_ head: HTTPRequest) -> Bool {
        guard head.method == .post else { return true }
        if let declared = head.headerFields[.contentLength].flatMap(Int.init) {
            if declared > limits.maxBodyBytes || !bodies.wouldFit(declared) { return false }
        }
        return !gate.isSaturated
    }

    // MARK: Routes

    func check(_ request: Request) async throws -> Response {
        let face = try Self.flag(request, "face")
        try Self.refuseUnknownQuery(request, known: ["face", "name"])
        let lease = bodies.lease()
        defer { lease.release() }
        let files = try await uploads(of: request, maxFiles: limits.maxFiles, holding: lease)
        let multipart = UploadReader.Kind.raw != (try UploadReader.kind(of: request.headers[.contentType]))
        let jobs = self.jobs, metrics = self.metrics
        let checked = try await gate.withSlot(retryAfterSeconds: limits.retryAfterSeconds) {
            try await pool.run {
                try files.map { file in
                    let start = ContinuousClock.now
                    let result = try jobs.check(file, faces: face)
                    metrics.decoded(in: ContinuousClock.now - start)
                    return result
                }
            }
        }
        for file in checked { metrics.verdict(rules: file.rules) }
        let text = multipart ? "[" + checked.map(\.json.text).joined(separator: ", ") + "]" : checked[0].json.text
        return Self.json(text)
    }

    func prepare(_ request: Request) async throws -> Response {
        var settings = PrepareSettings()
        try Self.refuseUnknownQuery(request, known: PrepareSettings.names + ["name"])
        let query = request.uri.queryParameters
        func text(_ key: String) -> String? { query.get(key) }
        settings.fit = text("fit")
        settings.padStyle = text("pad-style")
        settings.cropOffset = text("crop-offset")
        settings.background = text("background")
        settings.minSide = text("min-side")
        settings.maxSide = text("max-side")
        settings.maxBytes = text("max-bytes")
        settings.format = text("format")
        settings.quality = text("quality")
        settings.filter = text("filter")
        settings.icc = text("icc")
        settings.keepMetadata = try Self.flag(request, "keep-metadata")
        settings.optimizeHuffman = try Self.flag(request, "optimize-huffman")
        settings.threads = 1
        let options: PrepareOptions
        do {
            options = try settings.options()
        } catch {
            var refusal = ImageJobs.refusal(error, file: "query")
            refusal.closesConnection = true   // refused before the body is read: do not drain it
            throw refusal
        }
        let lease = bodies.lease()
        defer { lease.release() }
        let files = try await uploads(of: request, maxFiles: 1, holding: lease)
        guard files.count == 1 else {
            throw ServiceRefusal(.badRequest, rule: "one-file", "/v1/prepare takes one image; the form holds \(files.count)")
        }
        let file = files[0]
        let jobs = self.jobs, metrics = self.metrics
        let prepared = try await gate.withSlot(retryAfterSeconds: limits.retryAfterSeconds) {
            try await pool.run {
                let start = ContinuousClock.now
                let prepared = try jobs.prepare(file, options: options)
                metrics.prepared(in: ContinuousClock.now - start)
                return prepared
            }
        }
        metrics.verdict(rules: prepared.report.rules.map(\.rawValue))
        let actions = prepared.image.actions.map { $0.description.replacingOccurrences(of: ";", with: ",") }
            .joined(separator: "; ")
        var headers: HTTPFields = [
            Self.actionsHeader: Self.headerSafe(actions.isEmpty ? "none" : actions),
            Self.widthHeader: String(prepared.image.width),
            Self.heightHeader: String(prepared.image.height),
        ]
        if (request.headers[.accept] ?? "").lowercased().contains("application/json") {
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: ImageJobs.sidecar(prepared))))
        }
        let format = prepared.image.encoded.format
        headers[.contentType] = format.mediaType
        let stem = Self.headerSafe(URL(fileURLWithPath: file.name).deletingPathExtension().lastPathComponent)
            .replacingOccurrences(of: "\"", with: "")
        headers[.contentDisposition] = "inline; filename=\"\(stem.isEmpty ? "prepared" : stem).\(format.fileExtension)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: prepared.image.encoded.bytes)))
    }

    // MARK: Helpers

    /// The admission of every upload: refused at once (503) when the decode queue is full, else its
    /// files read within the body cap and the budget of bodies held, on `lease`, which the caller keeps
    /// until its job is done.
    private func uploads(of request: Request, maxFiles: Int, holding lease: BodyBudget.Lease) async throws -> [UploadedFile] {
        try gate.refuseIfSaturated(retryAfterSeconds: limits.retryAfterSeconds)
        return try await UploadReader(maxBodyBytes: limits.maxBodyBytes, maxFiles: maxFiles, retryAfterSeconds: limits.retryAfterSeconds)
            .files(of: request, holding: lease) { self.metrics.read(bytes: $0) }
    }

    /// Runs `body`, refusing with 503 `request-deadline` when it has not finished within
    /// ``ReferenceImageServiceLimits/requestDeadline`` (reading the body and waiting for a slot are
    /// cancelled then; a decode under way finishes first, bounded by the pixel limit).
    func withDeadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = limits.requestDeadline, retry = limits.retryAfterSeconds
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: deadline)
                throw ServiceRefusal(.deadline, rule: "request-deadline",
                                     "the request did not complete within the deadline of \(deadline)", retryAfterSeconds: retry,
                                     closesConnection: true)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    static let actionsHeader = HTTPField.Name("X-KlingKit-Actions")!
    static let widthHeader = HTTPField.Name("X-KlingKit-Width")!
    static let heightHeader = HTTPField.Name("X-KlingKit-Height")!

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Printable ASCII only (a header value may hold nothing else).
    static func headerSafe(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { (0x20...0x7E).contains($0.value) ? $0 : "?" }))
    }

    /// A boolean query parameter: absent, `0`/`false`/`no` → false; empty, `1`/`true`/`yes` → true.
    static func flag(_ request: Request, _ name: String) throws -> Bool {
        guard let value = request.uri.queryParameters.get(name) else { return false }
        switch value.lowercased() {
        case "", "1", "true", "yes": return true
        case "0", "false", "no": return false
        default:
            throw ServiceRefusal(.badRequest, rule: name, "\(name) must be 1 or 0, not '\(value)'", closesConnection: true)
        }
    }

    static func refuseUnknownQuery(_ request: Request, known: [String]) throws {
        for (key, _) in request.uri.queryParameters where !known.contains(String(key)) {
            throw ServiceRefusal(.badRequest, rule: "query", "unknown query parameter '\(key)'; known: \(known.joined(separator: ", "))",
                                 closesConnection: true)
        }
    }
}

/// The decode pool: image work runs on threads of its own (a ``DedicatedExecutor``), never on the
/// cooperative pool that serves connections.
final class CPUPool: Sendable {
    private let executor: (any Sendable)?

    init(threads: Int) {
        if #available(macOS 15.0, *) {
            executor = DedicatedExecutor(threads: threads)
        } else {
            executor = nil
        }
    }

    /// Runs `body` on the pool and returns its result.
    func run<T: Sendable>(_ body: @Sendable () throws -> T) async throws -> T {
        if #available(macOS 15.0, *), let executor = executor as? DedicatedExecutor {
            return try await withTaskExecutorPreference(executor) { try body() }
        }
        return try body()
    }

    func shutdown() async {
        if #available(macOS 15.0, *), let executor = executor as? DedicatedExecutor {
            await executor.shutdown()
        }
    }
}
