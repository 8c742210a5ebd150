import Foundation
import KlingKitTestSupport
import ReferenceImageService
import Testing

/// Every refusal on a real socket: its status, its JSON `{code, rule, message}`, and a server that
/// still answers afterwards.
@Suite("klingkit serve: refusals and limits")
struct RefusalTests {
    @Test("413: a Content-Length over the cap is refused before the body is read, and the connection closes")
    func declaredTooLarge() async throws {
        try await withService(.init(maxBodyBytes: 1 << 20)) { server in
            let port = server.port
            // A 1 GB upload announced; 64 KiB actually sent.
            let (answer, closed) = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 20)
                connection.send("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1073741824\r\n\r\n")
                connection.send([UInt8](repeating: 0x41, count: 64 << 10))
                let started = Date()
                let answer = try connection.answer()
                return (answer, Date().timeIntervalSince(started))
            }
            try expectRefusal(answer, status: 413, rule: "max-body-bytes")
            #expect(answer.headers["connection"] == "close")
            // Generous: this bounds "closed, not left open" on a loaded 2-core machine, it times nothing.
            #expect(closed < 60, "the connection closed after \(closed) s")
            #expect(try await call(server, "GET", "/healthz").status == 200)
        }
    }

    @Test("413: a chunked body is counted while it streams and refused once past the cap")
    func streamedTooLarge() async throws {
        try await withService(.init(maxBodyBytes: 1 << 20)) { server in
            let port = server.port
            let answer = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 20)
                connection.send("POST /v1/prepare HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                let chunk = [UInt8](repeating: 0x42, count: 256 << 10)
                for _ in 0..<8 {   // 2 MiB, twice the cap; the server stops listening halfway
                    guard connection.send(Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [13, 10]) else { break }
                }
                return try connection.answer()
            }
            try expectRefusal(answer, status: 413, rule: "max-body-bytes")
            #expect(answer.text.contains("1048576"), "\(answer)")
        }
    }

    @Test("415: a Content-Type that is no image nor form; prepare of bytes in no image format")
    func unsupported() async throws {
        try await withService { server in
            try expectRefusal(try await call(server, "POST", "/v1/check", headers: ["Content-Type": "application/json"], body: Array("{}".utf8)),
                              status: 415, rule: "content-type")
            let noise = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }
            try expectRefusal(try await call(server, "POST", "/v1/prepare", body: noise), status: 415, rule: "unsupported-format")
            // check judges it instead: a report with the rule, not a refusal.
            let report = try #require(try json(try await call(server, "POST", "/v1/check", body: noise)) as? [String: Any])
            #expect((report["violations"] as? [[String: Any]])?.first?["rule"] as? String == "unsupported-format")
        }
    }

    @Test("422: corrupt (truncated, bit-flipped) images cannot be prepared; the server keeps answering")
    func corrupt() async throws {
        try await withService { server in
            try expectRefusal(try await call(server, "POST", "/v1/prepare", body: try Samples.bytes("corrupt-truncated.jpg")),
                              status: 422, rule: "corrupt")
            var flipped = try Samples.bytes("portrait-valid.jpg")
            for i in stride(from: 2000, to: flipped.count - 2, by: 997) { flipped[i] ^= 0x5A }
            let answer = try await call(server, "POST", "/v1/prepare", body: flipped)
            // Damaged entropy data is corrupt; a damaged header may read as another format: never a 500.
            #expect([422, 415].contains(answer.status), "\(answer)")
            let header = Array(try Samples.bytes("avatar-tiny.png").prefix(60))
            try expectRefusal(try await call(server, "POST", "/v1/prepare", body: header), status: 422, rule: "corrupt")
            #expect(try await call(server, "GET", "/healthz").status == 200)
        }
    }

    @Test("422 too-many-pixels: a pixel bomb is refused from its header, on both routes, never decoded")
    func pixelBomb() async throws {
        try await withService { server in
            let bomb = try Samples.jpegBomb()
            for route in ["/v1/check", "/v1/prepare"] {
                let answer = try await call(server, "POST", route + "?name=bomb.jpg", body: bomb)
                try expectRefusal(answer, status: 422, rule: "too-many-pixels")
                #expect(answer.text.contains("20000x20000") && answer.text.contains("bomb.jpg") && answer.text.contains("not decoded"), "\(answer)")
            }
            let heic = try Samples.fixture("formats/bomb-100000.heic")
            try expectRefusal(try await call(server, "POST", "/v1/prepare", body: heic), status: 422, rule: "too-many-pixels")
        }
    }

    @Test("413 max-files: a form with more files than allowed")
    func tooManyFiles() async throws {
        try await withService(.init(maxFiles: 2)) { server in
            var form = Multipart()
            for i in 0..<3 { form.add(file: try Samples.bytes("avatar-tiny.png"), filename: "a\(i).png") }
            try expectRefusal(try await call(server, "POST", "/v1/check", headers: ["Content-Type": form.contentType], body: form.body),
                              status: 413, rule: "max-files")
        }
    }

    @Test("400: malformed multipart (no boundary, bad part header, truncated, no file part, wrong boundary)")
    func malformedMultipart() async throws {
        try await withService { server in
            var form = Multipart()
            form.add(file: try Samples.bytes("avatar-tiny.png"), filename: "a.png")
            let good = form.body
            let cases: [(String, String, [UInt8])] = [
                ("no boundary", "multipart/form-data", good),
                ("bad header", form.contentType, Array("--\(form.boundary)\r\nContent Disposition: x\r\n\r\nabc\r\n--\(form.boundary)--\r\n".utf8)),
                ("truncated", form.contentType, Array(good.prefix(good.count / 2))),
                ("wrong boundary", "multipart/form-data; boundary=something-else", good),
            ]
            for (label, type, body) in cases {
                let answer = try await call(server, "POST", "/v1/check", headers: ["Content-Type": type], body: body)
                #expect(answer.status == 400, "\(label): \(answer)")
                try expectRefusal(answer, status: 400, rule: "multipart")
            }
            var fields = Multipart()
            fields.add(field: "a", value: "b")
            try expectRefusal(try await call(server, "POST", "/v1/check", headers: ["Content-Type": fields.contentType], body: fields.body),
                              status: 400, rule: "multipart")
            try expectRefusal(try await call(server, "POST", "/v1/check", body: []), status: 400, rule: "empty-body")
            try expectRefusal(try await call(server, "POST", "/v1/prepare?quality=500", body: good), status: 400, rule: "quality")
            try expectRefusal(try await call(server, "POST", "/v1/prepare?size=9", body: good), status: 400, rule: "query")
            #expect(try await call(server, "GET", "/healthz").status == 200)
        }
    }

    @Test("404/405 for unknown routes, as JSON")
    func unmatched() async throws {
        try await withService { server in
            try expectRefusal(try await call(server, "GET", "/v2/nothing"), status: 404, rule: "route")
            let wrongMethod = try await call(server, "GET", "/v1/check")
            #expect([404, 405].contains(wrongMethod.status), "\(wrongMethod)")
            try expectRefusal(wrongMethod, status: wrongMethod.status, rule: "route")
        }
    }

    @Test("503 with Retry-After when every decode slot and queue place is taken; the rest are served")
    func queueFull() async throws {
        // The deadline is far off: only the queue may refuse here (a debug build prepares the 15 MB PNG slowly).
        try await withService(.init(maxConcurrentDecodes: 1, maxQueuedDecodes: 1, retryAfterSeconds: 3, requestDeadline: .seconds(900))) { server in
            let large = try Samples.bytes("screenshot-large.png")
            let answers = try await withThrowingTaskGroup(of: RawHTTP.Answer.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await call(server, "POST", "/v1/prepare", body: large, timeout: 900) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let statuses = answers.map(\.status).sorted()
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
            #expect(statuses.filter { $0 == 200 }.count >= 2, "\(statuses)")
            let busy = try #require(answers.first { $0.status == 503 }, "\(statuses)")
            try expectRefusal(busy, status: 503, rule: "decode-queue")
            #expect(busy.headers["retry-after"] == "3")
            let metrics = try await call(server, "GET", "/metrics").text
            #expect(metrics.contains(#"klingkit_serve_requests_total{route="/v1/prepare",status="503"}"#))
            #expect(metrics.contains("klingkit_serve_queue_depth 0.0"))
        }
    }

    @Test("Expect: 100-continue: a 100 when the body will be read; none, and the refusal at once, when the queue is full or the declared body over the cap")
    func expectContinue() async throws {
        try await withService(.init(maxBodyBytes: 20 << 20, maxConcurrentDecodes: 1, maxQueuedDecodes: 0,
                                    requestDeadline: .seconds(900))) { server in
            let port = server.port
            let small = try Samples.bytes("avatar-tiny.png")
            @Sendable func upload(_ length: Int) -> String {
                "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: \(length)\r\nExpect: 100-continue\r\n\r\n"
            }
            // Idle: invited, then served.
            let served = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 60)
                connection.send(upload(small.count))
                let interim = try connection.readHead()
                connection.send(small)
                return (interim, try connection.readHead())
            }
            #expect(served.0.hasPrefix("HTTP/1.1 100"), "\(served.0)")
            #expect(served.1.hasPrefix("HTTP/1.1 200"), "\(served.1)")
            // Declared over the cap: the 413 is the first answer; no body was sent.
            let tooLarge = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 60)
                connection.send(upload(1 << 30))
                return try connection.readHead()
            }
            #expect(tooLarge.hasPrefix("HTTP/1.1 413"), "\(tooLarge)")
            // The one slot busy, no queue: the 503 comes first, with the body held back.
            let busy = try await whileSlotHeld(server) {
                try await RawHTTP.async {
                    let connection = try RawHTTP.Connection(port: port, timeout: 60)
                    connection.send(upload(small.count))
                    return try connection.readHead()
                }
            }
            #expect(busy.hasPrefix("HTTP/1.1 503"), "\(busy)")
            #expect(busy.lowercased().contains("connection: close"), "\(busy)")
        }
    }

    @Test("503 request-deadline: a body that never completes is answered at the deadline")
    func deadline() async throws {
        try await withService(.init(requestDeadline: .seconds(1)), readTimeout: .seconds(30)) { server in
            let port = server.port
            let (answer, elapsed) = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 20)
                let started = Date()
                connection.send("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                connection.send([UInt8](repeating: 1, count: 1000))
                return (try connection.answer(), Date().timeIntervalSince(started))
            }
            try expectRefusal(answer, status: 503, rule: "request-deadline")
            #expect(elapsed >= 0.9 && elapsed < 60, "\(elapsed) s")   // answered at the deadline, not never
        }
    }

    @Test("slowloris: 200 sockets that never finish their head are closed at the read timeout; the server answers throughout")
    func slowloris() async throws {
        try await withService(readTimeout: .seconds(1)) { server in
            let port = server.port
            let closed = try await RawHTTP.async(timeout: 120) {
                let sockets = try (0..<200).map { _ in try RawHTTP.Connection(port: port, timeout: 10) }
                for socket in sockets { socket.send("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Le") }
                // Still answering while 200 connections hang.
                let health = try RawHTTP.request(port: port, path: "/healthz", timeout: 10)
                guard health.status == 200 else { throw RawHTTP.Failure("healthz during slowloris: \(health)") }
                return sockets.filter { $0.isClosedByPeer(within: 8) }.count
            }
            #expect(closed == 200, "\(closed) of 200 closed")
            // Half a body, then silence: closed at the read timeout too.
            let bodyClosed = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 10)
                connection.send("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nabc")
                return connection.isClosedByPeer(within: 8)
            }
            #expect(bodyClosed)
            #expect(try await call(server, "GET", "/healthz").status == 200)
        }
    }
}
