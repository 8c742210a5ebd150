import Foundation
import Hummingbird
import KlingModels

/// How a task is shown: the shapes differ between the vendor's create answer, CometAPI's create answer
/// and the full object of queries, lists and callbacks (see the examples in `shared/seeds`).
enum TaskView {
    /// Native create (seed 003): `task_id, task_status, task_info, created_at, updated_at`.
    case nativeCreate
    /// CometAPI create (seed 001): the same plus `task_status_msg` and `task_result` as `null`.
    case cometCreate
    /// Query, list item and callback body (seed 003): every field.
    case full
}

/// Builds response bodies in the vendor's field order.
struct ResponseRenderer: Sendable {
    /// `http://127.0.0.1:PORT`, for result URLs.
    var baseURL: String
    /// Signs result URLs so their expiry cannot be edited.
    var urlKey: [UInt8]
    /// Result URL lifetime after the task ends, in milliseconds.
    var urlLifetimeMilliseconds: Int64

    func task(_ task: StoredTask, view: TaskView) -> OrderedJSON {
        let external: OrderedJSON = task.externalID.map { .string($0) } ?? (view == .cometCreate ? .null : .string(""))
        let info: OrderedJSON = .object([("external_task_id", external)])
        switch view {
        case .nativeCreate:
            return .object([
                ("task_id", .string(task.id)), ("task_status", .string(task.status.rawValue)), ("task_info", info),
                ("created_at", .int(task.createdAt)), ("updated_at", .int(task.updatedAt)),
            ])
        case .cometCreate:
            return .object([
                ("created_at", .int(task.createdAt)), ("task_id", .string(task.id)), ("task_info", info),
                ("task_result", .null), ("task_status", .string(task.status.rawValue)), ("task_status_msg", .null),
                ("updated_at", .int(task.updatedAt)),
            ])
        case .full:
            var images: [OrderedJSON] = []
            if task.status == .succeed {
                for index in 0..<task.n {
                    var members: [(String, OrderedJSON)] = [("index", .int(Int64(index))), ("url", .string(resultURL(task, index: index, watermark: false)))]
                    if task.watermark { members.append(("watermark_url", .string(resultURL(task, index: index, watermark: true)))) }
                    images.append(.object(members))
                }
            }
            let message = task.status == .failed ? task.failureMessage : ""
            let units = task.status == .succeed ? String(task.n) : "0"
            return .object([
                ("task_id", .string(task.id)), ("task_status", .string(task.status.rawValue)),
                ("task_status_msg", .string(message)), ("final_unit_deduction", .string(units)),
                ("watermark_info", .object([("enabled", .bool(task.watermark))])), ("task_info", info),
                ("created_at", .int(task.createdAt)), ("updated_at", .int(task.updatedAt)),
                ("task_result", .object([("images", .array(images))])),
            ])
        }
    }

    /// The signed URL of one result image: `/results/<task>/<index>[-wm].png?expires=<ms>&sig=<hex>`.
    func resultURL(_ task: StoredTask, index: Int, watermark: Bool) -> String {
        let path = "/results/\(task.id)/\(index)\(watermark ? "-wm" : "").png"
        let expires = task.endsAt + urlLifetimeMilliseconds
        return baseURL + path + "?expires=\(expires)&sig=" + ResponseRenderer.signature(path: path, expires: expires, key: urlKey)
    }

    static func signature(path: String, expires: Int64, key: [UInt8]) -> String {
        let mac = KlingJWT.signature(signingInput: path + "|" + String(expires), secretKey: key)
        return String(mac.prefix(22))
    }
}

enum HTTPAnswers {
    static func json(_ value: OrderedJSON, status: Int) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.bytes)))
    }

    /// The Kling envelope `{"code","message","request_id"[,"data"]}` with the HTTP status of the code.
    static func envelope(code: BusinessCode, message: String, requestID: String, data: OrderedJSON? = nil) -> Response {
        var members: [(String, OrderedJSON)] = [("code", .int(Int64(code.rawValue))), ("message", .string(message)), ("request_id", .string(requestID))]
        if let data { members.append(("data", data)) }
        return json(.object(members), status: code.httpStatus)
    }

    /// CometAPI's own error body `{"error":{"message","type","code"}}`.
    static func cometError(status: Int, message: String, code: String) -> Response {
        json(.object([("error", .object([("message", .string(message)), ("type", .string("comet_api_error")), ("code", .string(code))]))]), status: status)
    }

    static func text(_ text: String, status: Int, contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
