import Foundation
@testable import KlingAPI
import KlingKit
import KlingKitCLI
import KlingModels
import KlingSupport
import Testing

/// Result URLs come from the server: only http(s) to public addresses are fetched (loopback when the
/// API itself is on loopback), and never anything for a local socket or the metadata service.
@Suite("Result download guard")
struct DownloadGuardTests {
    @Test("addresses are classified by the special-purpose registries")
    func classification() {
        let publicGuard = DownloadGuard(baseURL: "https://api-singapore.klingai.com", allowPrivate: false)
        for url in ["http+unix://%2Fvar%2Frun%2Fdocker.sock/x", "file:///etc/passwd", "ftp://example.com/a.png"] {
            #expect(publicGuard.problem(url)?.contains("only http and https") == true, "\(url)")
        }
        for url in ["http://169.254.169.254/latest/meta-data", "http://10.0.0.5/a.png", "http://172.20.1.1/a.png",
                    "http://192.168.1.1/a.png", "http://100.64.0.1/a.png", "http://[fe80::1]/a.png", "http://[fd00::1]/a.png",
                    "http://[::ffff:10.0.0.1]/a.png", "http://0.0.0.0/a.png"] {
            #expect(publicGuard.problem(url)?.contains("private") == true, "\(url)")
        }
        #expect(publicGuard.problem("http://127.0.0.1:8080/a.png")?.contains("loopback") == true)
        #expect(publicGuard.problem("http://[::1]/a.png")?.contains("loopback") == true)
        #expect(publicGuard.problem("https://8.8.8.8/a.png") == nil)
        #expect(publicGuard.problem("https://[2001:4860:4860::8888]/a.png") == nil)

        let emulatorGuard = DownloadGuard(baseURL: "http://127.0.0.1:8787", allowPrivate: false)
        #expect(emulatorGuard.problem("http://127.0.0.1:8787/results/a.png") == nil)
        #expect(emulatorGuard.problem("http://169.254.169.254/x") != nil)

        let relay = DownloadGuard(baseURL: "https://relay.internal", allowPrivate: true)
        #expect(relay.problem("http://10.0.0.5/a.png") == nil)
        #expect(relay.problem("http+unix://x/y") != nil)
    }

    @Test("a task whose result URL is http+unix:// or the metadata address is not downloaded, and nothing is written")
    func hostileResultURLs() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-guard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = ClientConfiguration(provider: .cometAPI(key: "k"), baseURL: "http://127.0.0.1:9")
        c.images = ReferenceImageChecks()
        for url in ["http+unix://%2Ftmp%2Fsock/x.png", "http://169.254.169.254/latest/meta-data/"] {
            let json = #"{"task_id":"t1","task_status":"succeed","task_result":{"images":[{"index":0,"url":"\#(url)"}]}}"#
            let task = try JSONDecoder().decode(TaskObject.self, from: Data(json.utf8))
            try await KlingClient.withClient(c) { client in
                let e = await expectClientError { _ = try await client.download(task, to: dir) }
                #expect(e?.code == .download && e?.message.contains("not fetched") == true, "\(String(describing: e))")
            }
            let written = (try? FileManager.default.subpathsOfDirectory(atPath: dir.path))?.filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") } ?? []
            #expect(written.isEmpty)
        }
    }
}
