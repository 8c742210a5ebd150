import Foundation
import Hummingbird
import KlingModels
import KlingSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The task routes of one provider (`/v1/images/generations`, `/v1/images/multi-image2image`, each
/// with `/{task_id}`), added to that provider's route group behind its authentication.
struct TaskRoutes: Sendable {
    let core: EmulatorCore
    let provider: EmulatorProvider

    /// Adds the four routes of both families to `group`.
    func add(to group: RouterGroup<EmulatorRequestContext>) {
        for kind in TaskKind.allCases {
            let path = String(kind.path.dropFirst())
            group.post(RouterPath(path)) { request, context in await create(request, context: context, kind: kind) }
            group.get(RouterPath(path)) { request, context in await listOrFind(request, context: context, kind: kind) }
            group.get(RouterPath(path + "/:task_id")) { request, context in await item(context: context, kind: kind) }
        }
    }

    /// `GET /{task_id}`: one task (by id, or by external id as the path segment).
    func item(context: EmulatorRequestContext, kind: TaskKind) async -> Response {
        let raw = context.parameters.get("task_id") ?? ""
        let id = raw.removingPercentEncoding ?? raw
        if let task = await core.store.task(id: id, provider: provider, kind: kind) {
            return success(core.renderer.withLockedValue { $0.task(task, layout: .full) }, requestID: context.requestID)
        }
        return notFound(id, requestID: context.requestID)
    }

    /// `POST`: validate every field, check reference images, create the task.
    func create(_ request: Request, context: EmulatorRequestContext, kind: TaskKind) async -> Response {
        let requestID = context.requestID
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
        var faceFields: Set<String> = []
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
            if r.imageReference == .face { faceFields = ["image"] }
            new = .init(kind: kind, externalID: nonEmpty(r.externalTaskID), n: r.imageCount, watermark: r.watermarkInfo?.enabled ?? false,
                        callbackURL: nonEmpty(r.callbackURL), render: spec)
        }
        // Image content: only fields whose text passed the encoding checks.
        let flagged = Set(violations.map(\.field))
        let intake = core.intake
        let outcome = await intake.check(imageFields.filter { !flagged.contains($0.field) }, faceFields: faceFields)
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
        return HTTPAnswers.envelope(code: code, message: FieldViolation.summary(violations), requestID: requestID)
    }

    private func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }


    /// `GET` on the collection: one task by `external_task_id`, or a page of tasks.
    func listOrFind(_ request: Request, context: EmulatorRequestContext, kind: TaskKind) async -> Response {
        let requestID = context.requestID
        let query = request.uri.queryParameters
        if let external = query["external_task_id"].map(String.init), !external.isEmpty {
            if let task = await core.store.task(externalID: external, provider: provider, kind: kind) {
                return success(core.renderer.withLockedValue { $0.task(task, layout: .full) }, requestID: requestID)
            }
            return notFound(external, requestID: requestID)
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

    private func notFound(_ id: String, requestID: String) -> Response {
        if provider == .cometAPI {
            return HTTPAnswers.cometError(status: 400, message: "task_not_exist", code: CometAPIError.taskNotExistCode)
        }
        return HTTPAnswers.envelope(code: .resourceNotFound, message: "Task \((id.count > 64 ? String(id.prefix(64)) + "…" : id)) does not exist", requestID: requestID)
    }

}
