import Foundation
import KlingKitTestSupport
import ReferenceImageService
import Testing

/// The committed OpenAPI document against the running server: every operation it lists answers,
/// every status the server gives is documented for that operation, and every documented status of
/// the upload routes is produced by some request.
@Suite("klingkit serve: OpenAPI document vs the running server")
struct OpenAPITests {
    /// Documented statuses by "METHOD path".
    static func documented() throws -> [String: Set<Int>] {
        let data = try Data(contentsOf: TestCorpus.packageRoot.appendingPathComponent("docs/openapi/serve.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let paths = try #require(root["paths"] as? [String: [String: Any]])
        var result: [String: Set<Int>] = [:]
        for (path, operations) in paths {
            for (method, operation) in operations {
                let responses = try #require((operation as? [String: Any])?["responses"] as? [String: Any])
                result["\(method.uppercased()) \(path)"] = Set(responses.keys.compactMap(Int.init))
            }
        }
        return result
    }

    @Test("every route and status of the server is in docs/openapi/serve.json, and every documented one occurs")
    func matches() async throws {
        let documented = try Self.documented()
        #expect(Set(documented.keys) == ["POST /v1/check", "POST /v1/prepare", "GET /healthz", "GET /metrics", "GET /openapi.json", "GET /"])
        let seen = try await withService(.init(maxBodyBytes: 20 << 20, maxFiles: 2, maxConcurrentDecodes: 1, maxQueuedDecodes: 0,
                                                   requestDeadline: .seconds(900))) { server in
            var seen: [String: Set<Int>] = [:]
            func record(_ method: String, _ path: String, _ answer: RawHTTP.Answer) {
                let route = method + " " + (path.split(separator: "?").first.map(String.init) ?? path)
                seen[route, default: []].insert(answer.status)
            }
            for path in ["/healthz", "/metrics", "/openapi.json", "/"] {
                record("GET", path, try await call(server, "GET", path))
            }
            var three = Multipart()
            for i in 0..<3 { three.add(file: try Samples.bytes("avatar-tiny.png"), filename: "a\(i).png") }
            let inputs: [(String, [String: String], [UInt8])] = [
                ("", [:], try Samples.bytes("portrait-valid.jpg")),
                ("", ["Content-Type": "text/plain"], Array("x".utf8)),
                ("", ["Content-Type": "multipart/form-data"], Array("x".utf8)),
                ("", ["Content-Type": three.contentType], three.body),
                ("", [:], try Samples.jpegBomb()),
                ("", [:], (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
                ("", [:], try Samples.bytes("corrupt-truncated.jpg")),
                ("", ["Content-Length": String(30 << 20)], []),
                ("?quality=0", [:], try Samples.bytes("portrait-valid.jpg")),
            ]
            for route in ["/v1/check", "/v1/prepare"] {
                for (query, headers, body) in inputs {
                    let answer = try await call(server, "POST", route + query, headers: headers, body: body)
                    record("POST", route, answer)
                }
                // One slot, no queue, the slot held: 503.
                let busy = try await whileSlotHeld(server) {
                    try await call(server, "POST", route, body: try Samples.bytes("portrait-valid.jpg"))
                }
                record("POST", route, busy)
            }
            return seen
        }
        for (route, statuses) in seen {
            let allowed = try #require(documented[route], "\(route) is not documented")
            #expect(statuses.isSubset(of: allowed), "\(route): undocumented statuses \(statuses.subtracting(allowed))")
        }
        for (route, statuses) in documented {
            #expect(seen[route] == statuses, "\(route): documented \(statuses.sorted()), produced \((seen[route] ?? []).sorted())")
        }
    }
}
