import Foundation
import Hummingbird
import KlingModels
import KlingSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The result downloads, `/results/...`: signed, expiring URLs, no credentials. Images are rendered on
/// the emulator's own thread pool and kept in the ``ImageCache``.
struct ResultRoutes: Sendable {
    let core: EmulatorCore

    func add(to router: Router<EmulatorRequestContext>) {
        router.get("results/:task/:file") { request, _ in await download(request) }
    }

    /// `GET /results/<task>/<index>[-wm].png?expires=<ms>&sig=<sig>`.
    func download(_ request: Request) async -> Response {
        let path = request.uri.path
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
                // Rendering and PNG encoding are CPU work: the emulator's own pool, not the cooperative pool.
                let render = task.render
                bytes = try await core.imagePool.runIfActive {
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
