import Foundation
import Hummingbird
import KlingKitTestSupport
import ReferenceImageService
import Testing

/// The README's snippet, compiled and run: ``ReferenceImageRoutes`` mounted in an app of one's own,
/// under a prefix, beside the app's own routes.
@Suite("ReferenceImageRoutes mounted in a caller's Hummingbird app")
struct MountingTests {
    @Test("the README snippet serves /uploads/v1/check beside the app's own routes")
    func readmeSnippet() async throws {
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        // README: "Mounting the routes in your own Hummingbird app" (keep the two in step).
        let uploads = ReferenceImageRoutes(limits: ReferenceImageServiceLimits(maxBodyBytes: 10 << 20, maxFiles: 4))
        let router = Router()
        router.get("/hello") { _, _ in "my own route" }
        uploads.add(to: router.group("uploads"))   // POST /uploads/v1/check, /uploads/v1/prepare, GET /uploads/metrics, ...
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portSink.yield($0.localAddress?.port ?? 0) })
        // README end.

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let answer = try await RawHTTP.async {
                try RawHTTP.request(port: port, method: "POST", path: "/uploads/v1/check",
                                    body: try [UInt8](Data(contentsOf: TestCorpus.packageRoot.appendingPathComponent("samples/avatar-tiny.png"))))
            }
            #expect(answer.status == 200 && answer.text.contains(#""rule": "min-dimension""#), "\(answer)")
            let own = try await RawHTTP.async { try RawHTTP.request(port: port, path: "/hello") }
            #expect(own.text == "my own route")
            let page = try await RawHTTP.async { try RawHTTP.request(port: port, path: "/uploads") }
            #expect(page.status == 200 && page.text.contains("<!DOCTYPE html>"), "\(page.status)")
            group.cancelAll()
        }
        await uploads.shutdown()
    }
}
