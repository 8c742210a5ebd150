import Foundation
import Hummingbird
import KlingModels

/// Builds the task objects of answers and callbacks, with signed result URLs.
struct ResponseRenderer: Sendable {
    /// `http://127.0.0.1:PORT`, for result URLs.
    var baseURL: String
    /// Signs result URLs so their expiry cannot be edited.
    var urlKey: [UInt8]
    /// Result URL lifetime after the task ends, in milliseconds.
    var urlLifetimeMilliseconds: Int64

    /// The task as the service shows it in `layout`: every member for ``TaskObjectLayout/full``
    /// (`task_status_msg` empty unless failed, units deducted once succeeded, the images once succeeded).
    func task(_ task: StoredTask, layout: TaskObjectLayout) -> LaidOutTask {
        let external = task.externalID ?? (layout == .cometCreate ? nil : "")
        var object = TaskObject(taskID: task.id, taskStatus: task.status, taskInfo: TaskInfo(externalTaskID: external),
                                createdAt: task.createdAt, updatedAt: task.updatedAt)
        if layout == .full {
            var images: [ResultImage] = []
            if task.status == .succeed {
                for index in 0..<task.n {
                    images.append(ResultImage(index: index, url: resultURL(task, index: index, watermark: false),
                                              watermarkURL: task.watermark ? resultURL(task, index: index, watermark: true) : nil))
                }
            }
            object.taskStatusMessage = task.status == .failed ? task.failureMessage : ""
            object.finalUnitDeduction = task.status == .succeed ? String(task.n) : "0"
            object.watermarkInfo = WatermarkInfo(enabled: task.watermark)
            object.taskResult = TaskResult(images: images)
        }
        return LaidOutTask(object, layout: layout)
    }

    /// The signed URL of one result image: `/results/<task>/<index>[-wm].png?expires=<ms>&sig=<sig>`.
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

/// `{"status":"ok"}` of the health route.
struct HealthAnswer: Encodable { var status = "ok" }

/// `{"ok":true}` of the callback sink.
struct ReceivedAnswer: Encodable { var ok = true }


enum HTTPAnswers {
    /// `value` as compact JSON, keys sorted (a stable byte form: `JSONEncoder` keeps no member order on
    /// Linux), slashes unescaped.
    static func json<T: Encodable>(_ value: T, status: Int) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The answer types hold strings, integers and booleans only: encoding cannot fail.
        let bytes = (try? encoder.encode(value)) ?? Data()
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The Kling envelope `{"code","message","request_id"[,"data"]}`, by default with the HTTP status of the code.
    static func envelope<T: Encodable & Sendable>(code: BusinessCode, message: String, requestID: String, data: T?,
                                                  status: Int? = nil) -> Response {
        json(Envelope(code: code, message: message, requestID: requestID, data: data), status: status ?? code.httpStatus)
    }

    /// An error envelope without `data`.
    static func envelope(code: BusinessCode, message: String, requestID: String, status: Int? = nil) -> Response {
        envelope(code: code, message: message, requestID: requestID, data: LaidOutTask?.none, status: status)
    }

    /// CometAPI's own error body `{"error":{"message","type","code"}}`.
    static func cometError(status: Int, message: String, code: String) -> Response {
        json(CometAPIErrorEnvelope(error: CometAPIError(message: message, type: "comet_api_error", code: code)), status: status)
    }

    static func text(_ text: String, status: Int, contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The compact JSON bytes of a callback body.
func callbackBody(_ task: LaidOutTask) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array((try? encoder.encode(task)) ?? Data())
}
