import KlingSupport
import Foundation
import NIOConcurrencyHelpers
import Hummingbird
import ImageCodecs
import KlingModels
import Logging
import NIOCore
import NIOPosix

/// The request context: Hummingbird's core storage plus the connection, so the drop-after-create
/// fault can close it without answering.
struct EmulatorRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// A bounded cache of encoded result images, least recently used evicted first.
final class ImageCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (bytes: [UInt8], tick: UInt64)] = [:]
    private var total = 0
    private var tick: UInt64 = 0
    private let budget: Int
    init(budget: Int) { self.budget = budget }

    func get(_ key: String) -> [UInt8]? {
        lock.lock(); defer { lock.unlock() }
        guard var entry = entries[key] else { return nil }
        tick += 1
        entry.tick = tick
        entries[key] = entry
        return entry.bytes
    }

    func put(_ key: String, _ bytes: [UInt8]) {
        lock.lock(); defer { lock.unlock() }
        guard bytes.count <= budget else { return }
        tick += 1
        if let old = entries[key] { total -= old.bytes.count }
        entries[key] = (bytes, tick)
        total += bytes.count
        while total > budget, let oldest = entries.min(by: { $0.value.tick < $1.value.tick }) {
            total -= oldest.value.bytes.count
            entries[oldest.key] = nil
        }
    }
}

/// Everything a request needs, shared by all connections.
final class EmulatorCore: Sendable {
    let configuration: EmulatorConfiguration
    let store: TaskStore
    let callbacks: CallbackDispatcher
    let intake: ReferenceIntake
    let verifier: JWTVerifier
    let images: ImageCache
    let logger: Logger
    let renderer: NIOLockedValueBox<ResponseRenderer>
    let faultRNG: NIOLockedValueBox<SplitMix64>
    let serverErrorCycle = NIOLockedValueBox(0)
    let requestCounter = NIOLockedValueBox(0)

    init(configuration: EmulatorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let callbacks = CallbackDispatcher(logger: logger)
        self.callbacks = callbacks
        intake = ReferenceIntake(maxImageBytes: configuration.maxImageBytes)
        verifier = JWTVerifier(accessKey: configuration.accessKey, secretKey: Array(configuration.secretKey.utf8), leewaySeconds: configuration.jwtLeewaySeconds)
        images = ImageCache(budget: configuration.imageCacheBytes)
        let lifetime = Int64(((configuration.faults.downloadExpirySeconds ?? configuration.resultURLLifetimeSeconds) * 1000).rounded())
        let renderer = NIOLockedValueBox(ResponseRenderer(baseURL: "http://127.0.0.1:\(configuration.port)", urlKey: Array(("urls:" + configuration.secretKey).utf8), urlLifetimeMilliseconds: lifetime))
        self.renderer = renderer
        faultRNG = NIOLockedValueBox(SplitMix64(seed: configuration.seed ^ 0xFA17))
        store = TaskStore(configuration: configuration) { change in
            guard let url = change.task.callbackURL else { return }
            let body = callbackBody(renderer.withLockedValue { $0.task(change.task, layout: .full) })
            Task { await callbacks.enqueue(taskID: change.task.id, url: url, body: body, isTerminal: change.task.isTerminal) }
        }
    }

    /// Draws `true` with probability `rate` from the seeded fault generator.
    func draw(_ rate: Double) -> Bool {
        guard rate > 0 else { return false }
        return faultRNG.withLockedValue { $0.nextUnit() } < rate
    }
}

/// Routes every request. Native paths need a JWT; the same paths under `/kling` need the CometAPI key;
/// `/results/...` (downloads) and `/_emulator/...` (health, stats) need nothing.
struct EmulatorResponder: HTTPResponder {
    typealias Context = EmulatorRequestContext
    let core: EmulatorCore

    private enum Route {
        case collection(TaskKind)          // POST create, GET list / by external id
        case item(TaskKind, String)        // GET one
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let requestID = UUID().uuidString.lowercased()
        core.requestCounter.withLockedValue { $0 += 1 }
        let path = request.uri.path
        let level: Logger.Level = core.configuration.logRequests ? .info : .debug
        core.logger.log(level: level, "\(request.method) \(path)", metadata: ["request_id": "\(requestID)"])

        if path.hasPrefix("/results/") { return await download(request, path: path) }
        if path == "/_emulator/health" { return HTTPAnswers.json(HealthAnswer(), status: 200) }
        if path == "/_emulator/stats" { return await stats() }

        var provider = EmulatorProvider.native
        var rest = Substring(path)
        if rest == "/kling" || rest.hasPrefix("/kling/") {
            provider = .cometAPI
            rest = rest.dropFirst("/kling".count)
        }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count >= 3, segments[0] == "v1", segments[1] == "images", segments.count <= 4,
              let kind: TaskKind = segments[2] == "generations" ? .generation : segments[2] == "multi-image2image" ? .multiImage : nil
        else {
            if provider == .cometAPI {
                return HTTPAnswers.text("<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>",
                                        status: 404, contentType: "text/html; charset=utf-8")
            }
            return HTTPAnswers.envelope(code: .resourceNotFound, message: "No route for \(path)", requestID: requestID)
        }
        let route: Route = segments.count == 4
            ? .item(kind, String(segments[3]).removingPercentEncoding ?? String(segments[3]))
            : .collection(kind)
        let allowed: [HTTPRequest.Method] = if case .item = route { [.get] } else { [.get, .post] }
        guard allowed.contains(request.method) else {
            return HTTPAnswers.envelope(code: .invalidMethod, message: "Method \(request.method) is not allowed on \(path)", requestID: requestID)
        }

        // Network latency first, as a real link would add it.
        let latency = core.configuration.faults.latencyMilliseconds
        if latency.upperBound > 0 {
            let ms = latency.lowerBound == latency.upperBound ? latency.lowerBound
                : latency.lowerBound + Int(core.faultRNG.withLockedValue { $0.next() } % UInt64(latency.count))
            if ms > 0 { try? await Task.sleep(for: .milliseconds(ms)) }
        }
        if let refused = authenticate(request, provider: provider, requestID: requestID) { return refused }
        if core.draw(core.configuration.faults.rateLimitRate) {
            return HTTPAnswers.envelope(code: .rateLimited, message: "Too many requests, please slow down (injected fault)", requestID: requestID)
        }
        if core.draw(core.configuration.faults.serverErrorRate) {
            let code: BusinessCode = [.internalError, .serviceUnavailable, .serverTimeout][core.serverErrorCycle.withLockedValue { c in defer { c += 1 }; return c % 3 }]
            return HTTPAnswers.envelope(code: code, message: "\(code.meaning.prefix(1).uppercased() + code.meaning.dropFirst()) (injected fault)", requestID: requestID)
        }

        switch (route, request.method) {
        case (.collection(let kind), .post):
            return await create(request, context: context, kind: kind, provider: provider, requestID: requestID)
        case (.collection(let kind), _):
            return await listOrFind(request, kind: kind, provider: provider, requestID: requestID)
        case (.item(let kind, let id), _):
            if let task = await core.store.task(id: id, provider: provider, kind: kind) {
                return success(core.renderer.withLockedValue { $0.task(task, layout: .full) }, requestID: requestID)
            }
            return notFound(id, provider: provider, requestID: requestID)
        }
    }

    // MARK: Auth

    private func authenticate(_ request: Request, provider: EmulatorProvider, requestID: String) -> Response? {
        let header = request.headers[.authorization]
        switch provider {
        case .native:
            let now = core.configuration.clock.unixMilliseconds / 1000
            guard let failure = core.verifier.verify(authorization: header, nowSeconds: now) else { return nil }
            return HTTPAnswers.envelope(code: failure.code, message: failure.message, requestID: requestID)
        case .cometAPI:
            guard let header, !header.isEmpty else {
                return HTTPAnswers.cometError(status: 401, message: "No API key provided: send Authorization: Bearer <CometAPI key>", code: "missing_api_key")
            }
            let parts = header.split(separator: " ", maxSplits: 1)
            let key = parts.count == 2 && parts[0].lowercased() == "bearer" ? parts[1].trimmingCharacters(in: .whitespaces) : header
            guard constantTimeEqual(Array(key.utf8), Array(core.configuration.cometAPIKey.utf8)) else {
                return HTTPAnswers.cometError(status: 401, message: "Invalid API key", code: "invalid_api_key")
            }
            return nil
        }
    }

    private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    // MARK: Create

    private func create(_ request: Request, context: Context, kind: TaskKind, provider: EmulatorProvider, requestID: String) async -> Response {
        if let code = core.configuration.faults.refuseCreatesWith {
            return HTTPAnswers.envelope(code: code, message: "\(code.meaning.prefix(1).uppercased() + code.meaning.dropFirst()) (injected fault)", requestID: requestID)
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: core.configuration.maxBodyBytes)
        } catch {
            return HTTPAnswers.envelope(code: .invalidRequest, message: "Request body is larger than \(core.configuration.maxBodyBytes) bytes", requestID: requestID, status: 413)
        }
        let route: CreateRoute = kind == .multiImage ? .multiImage : .generation(acceptsLegacyMultiImage: provider == .cometAPI)
        let (decoded, found) = RequestRules.decodeCreate(Data(buffer.readableBytesView), route: route)
        var violations = found
        let imageFields: [(field: String, value: String)]
        var new: TaskStore.NewTask
        switch decoded {
        case nil:
            return refuse(violations, requestID: requestID)
        case .multiImage(let r, _)?:
            let size = (r.aspectRatio ?? .default).pixelSize(at: .default) ?? (1368, 768)
            let spec = RenderSpec(prompt: r.prompt ?? "", model: r.effectiveModel.rawValue, width: size.width, height: size.height, count: r.imageCount, references: [])
            imageFields = r.imageFields
            new = .init(kind: kind, externalID: nonEmpty(r.externalTaskID), n: r.imageCount, watermark: r.watermarkInfo?.enabled ?? false,
                        callbackURL: nonEmpty(r.callbackURL), render: spec)
        case .generation(let r)?:
            let size = (r.aspectRatio ?? .default).pixelSize(at: r.resolution ?? .default) ?? (1368, 768)
            let spec = RenderSpec(prompt: r.prompt ?? "", model: r.effectiveModel.rawValue, width: size.width, height: size.height, count: r.imageCount, references: [])
            imageFields = r.hasImage ? [("image", r.image!)] : []
            new = .init(kind: kind, externalID: nonEmpty(r.externalTaskID), n: r.imageCount, watermark: r.watermarkInfo?.enabled ?? false,
                        callbackURL: nonEmpty(r.callbackURL), render: spec)
        }
        // Image content: only fields whose text passed the encoding checks.
        let flagged = Set(violations.map(\.field))
        let intake = core.intake
        let outcome = await intake.check(imageFields.filter { !flagged.contains($0.field) })
        violations += outcome.violations
        if !violations.isEmpty { return refuse(violations, requestID: requestID) }
        let prompt = new.render.prompt.lowercased()
        if let term = core.configuration.faults.blockedPromptTerms.first(where: { prompt.contains($0.lowercased()) }) {
            return HTTPAnswers.envelope(code: .contentSafety, message: "Content safety: prompt refused (it contains the blocked term \"\(term)\")", requestID: requestID)
        }
        new.render.references = outcome.thumbnails

        let task: StoredTask
        switch await core.store.create(new, provider: provider) {
        case .success(let created):
            task = created
        case .failure(.duplicateExternalID(let external, let existing)):
            return HTTPAnswers.envelope(code: .invalidParameter, message: "external_task_id: \"\(external)\" is already used by task \(existing) (must be unique per account)", requestID: requestID)
        case .failure(.concurrency(let running, let requested, let limit)):
            return HTTPAnswers.envelope(code: .concurrencyLimit, message: "Concurrent task limit reached: \(running) image(s) running + \(requested) requested > limit \(limit)", requestID: requestID)
        }
        if core.draw(core.configuration.faults.dropAfterCreateRate) {
            core.logger.debug("dropping the connection after accepting task \(task.id) (injected fault)")
            context.channel.close(mode: .all, promise: nil)
        }
        let layout: TaskObjectLayout = provider == .cometAPI ? .cometCreate : .nativeCreate
        return success(core.renderer.withLockedValue { $0.task(task, layout: layout) }, requestID: requestID)
    }

    private func refuse(_ violations: [FieldViolation], requestID: String) -> Response {
        let code: BusinessCode
        if violations.contains(where: { $0.rule == .body }) {
            code = .invalidRequest
        } else if violations.count == 1, violations[0].field == "model_name", violations[0].rule == .enumeration {
            code = .resourceNotFound
        } else {
            code = .invalidParameter
        }
        return HTTPAnswers.envelope(code: code, message: violations.map(\.message).joined(separator: "; "), requestID: requestID)
    }

    private func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }

    // MARK: Queries

    private func listOrFind(_ request: Request, kind: TaskKind, provider: EmulatorProvider, requestID: String) async -> Response {
        let query = request.uri.queryParameters
        if let external = query["external_task_id"].map(String.init), !external.isEmpty {
            if let task = await core.store.task(externalID: external, provider: provider, kind: kind) {
                return success(core.renderer.withLockedValue { $0.task(task, layout: .full) }, requestID: requestID)
            }
            return notFound(external, provider: provider, requestID: requestID)
        }
        let (page, violations) = RequestRules.validatePage(pageNum: query["pageNum"].map(String.init), pageSize: query["pageSize"].map(String.init))
        guard let page else { return refuse(violations, requestID: requestID) }
        let tasks = await core.store.list(provider: provider, kind: kind, page: page)
        let items = core.renderer.withLockedValue { r in tasks.map { r.task($0, layout: .full) } }
        return success(items, requestID: requestID)
    }

    private func success<T: Encodable & Sendable>(_ data: T, requestID: String) -> Response {
        HTTPAnswers.envelope(code: .success, message: "SUCCEED", requestID: requestID, data: data)
    }

    private func notFound(_ id: String, provider: EmulatorProvider, requestID: String) -> Response {
        if provider == .cometAPI {
            return HTTPAnswers.cometError(status: 400, message: "task_not_exist", code: CometAPIError.taskNotExistCode)
        }
        return HTTPAnswers.envelope(code: .resourceNotFound, message: "Task \((id.count > 64 ? String(id.prefix(64)) + "…" : id)) does not exist", requestID: requestID)
    }

    private func stats() async -> Response {
        let counts = await core.store.statistics()
        let delivered = await core.callbacks.delivered
        let failed = await core.callbacks.failed
        var members = counts
        members["requests"] = core.requestCounter.withLockedValue { $0 }
        members["callbacks_delivered"] = delivered
        members["callbacks_failed"] = failed
        return HTTPAnswers.json(members, status: 200)
    }

    // MARK: Downloads

    private func download(_ request: Request, path: String) async -> Response {
        // /results/<task>/<index>[-wm].png?expires=<ms>&sig=<sig>
        let parts = path.split(separator: "/")
        guard parts.count == 3, parts[2].hasSuffix(".png") else { return HTTPAnswers.text("Not Found\n", status: 404) }
        let name = parts[2].dropLast(4)
        let watermark = name.hasSuffix("-wm")
        guard let index = Int(watermark ? name.dropLast(3) : name) else { return HTTPAnswers.text("Not Found\n", status: 404) }
        let query = request.uri.queryParameters
        guard let expires = query["expires"].flatMap({ Int64($0) }), let sig = query["sig"],
              sig == ResponseRenderer.signature(path: path, expires: expires, key: core.renderer.withLockedValue { $0.urlKey }) else {
            return HTTPAnswers.text("Forbidden: the URL signature is missing or wrong\n", status: 403)
        }
        if core.configuration.clock.unixMilliseconds >= expires {
            return HTTPAnswers.text("Forbidden: the URL has expired\n", status: 403)
        }
        guard let task = await core.store.anyTask(id: String(parts[1])), task.status == .succeed, (0..<task.n).contains(index),
              !watermark || task.watermark else {
            return HTTPAnswers.text("Not Found\n", status: 404)
        }
        let key = "\(task.id)/\(name)"
        let bytes: [UInt8]
        if let cached = core.images.get(key) {
            bytes = cached
        } else {
            do {
                // Rendering and PNG encoding are CPU work: NIO's blocking pool, not the cooperative pool.
                let render = task.render
                bytes = try await NIOThreadPool.singleton.runIfActive {
                    try ResultRenderer.encode(render, index: index, watermark: watermark).bytes
                }
            } catch {
                core.logger.error("rendering \(key) failed: \(error)")
                return HTTPAnswers.text("Internal Server Error\n", status: 500)
            }
            core.images.put(key, bytes)
        }
        var headers = HTTPFields()
        headers[.contentType] = "image/png"
        headers[.contentLength] = String(bytes.count)
        if let rate = core.configuration.faults.slowDownloadBytesPerSecond {
            // About ten chunks a second at the configured rate.
            let chunk = max(1, rate / 10)
            let body = ResponseBody(contentLength: bytes.count) { writer in
                var offset = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + chunk)
                    try await writer.write(ByteBuffer(bytes: bytes[offset..<end]))
                    offset = end
                    if offset < bytes.count { try await Task.sleep(for: .milliseconds(100)) }
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
