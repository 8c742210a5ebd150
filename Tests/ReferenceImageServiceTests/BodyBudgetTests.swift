import Foundation
import KlingKitTestSupport
import ReferenceImageService
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The budget of request-body bytes held at once, on a real socket: one upload holds most of it, the
/// others are refused 503 `buffered-bytes` in every way a body can come, and the budget comes back.
@Suite("klingkit serve: the budget of request bodies held at once")
struct BodyBudgetTests {
    /// Waits (at most 60 s) until `/metrics` shows `klingkit_serve_buffered_body_bytes` at `bytes`.
    func waitForHeld(_ server: ReferenceImageServer, _ bytes: Int) async throws {
        let line = "klingkit_serve_buffered_body_bytes \(Double(bytes))"
        for _ in 0..<600 {
            if try await call(server, "GET", "/metrics").text.contains(line) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the metrics never showed \(line)")
    }

    @Test("503 buffered-bytes for a declared, a chunked and a 100-continue body past the budget; the bytes come back when the holder ends")
    func refusedThenServed() async throws {
        let valid = try Samples.bytes("portrait-valid.jpg")   // 255,282 bytes
        let limits = ReferenceImageServiceLimits(maxBodyBytes: 1 << 20, maxBufferedBodyBytes: 1_200_000, retryAfterSeconds: 2)
        try await withService(limits) { server in
            let port = server.port
            // The holder declares 1 MiB, sends 100 bytes and waits: 1,048,576 of the 1,200,000 are taken.
            let holder = try RawHTTP.Connection(port: port, timeout: 60)
            #expect(holder.send("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: \(1 << 20)\r\n\r\n"))
            #expect(holder.send([UInt8](repeating: 0xFF, count: 100)))
            try await waitForHeld(server, 1 << 20)

            // A declared body under the cap but past what is left: refused from its length.
            let declared = try await call(server, "POST", "/v1/check", headers: ["Content-Type": "image/jpeg"], body: valid)
            try expectRefusal(declared, status: 503, rule: "buffered-bytes")
            #expect(declared.headers["retry-after"] == "2")
            #expect(declared.headers["connection"] == "close")
            #expect(declared.text.contains("1200000") && declared.text.contains("255282"), "\(declared)")

            // A chunked body: counted as it arrives, refused once past what is left (64 KiB chunks).
            let chunked = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 60)
                connection.send("POST /v1/prepare HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                let chunk = [UInt8](repeating: 0x42, count: 64 << 10)
                for _ in 0..<12 {   // 768 KiB: under the 1 MiB cap, past the 151,424 bytes left
                    guard connection.send(Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [13, 10]) else { break }
                }
                return try connection.answer()
            }
            try expectRefusal(chunked, status: 503, rule: "buffered-bytes")

            // Expect: 100-continue with a length that does not fit: the 503 first, no body invited.
            let interim = try await RawHTTP.async {
                let connection = try RawHTTP.Connection(port: port, timeout: 60)
                connection.send("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: \(valid.count)\r\nExpect: 100-continue\r\n\r\n")
                return try connection.readHead()
            }
            #expect(interim.hasPrefix("HTTP/1.1 503"), "\(interim)")

            // Refused bodies hold nothing; the holder still holds its megabyte.
            try await waitForHeld(server, 1 << 20)
            // The holder goes away: its bytes come back, and the same upload is checked.
            shutdown(holder.fd, Int32(SHUT_RDWR))
            try await waitForHeld(server, 0)
            let served = try await call(server, "POST", "/v1/check", headers: ["Content-Type": "image/jpeg"], body: valid)
            #expect(served.status == 200, "\(served)")
            try await waitForHeld(server, 0)
        }
    }

    @Test("the default budget is (decodes + queue + 2) bodies; a budget under one body is refused as a setting")
    func defaults() {
        let limits = ReferenceImageServiceLimits(maxBodyBytes: 25 << 20, maxConcurrentDecodes: 2)
        #expect(limits.maxBufferedBodyBytes == (2 + 4 + 2) * (25 << 20))
        #expect(limits.problem == nil)
        let small = ReferenceImageServiceLimits(maxBodyBytes: 1 << 20, maxBufferedBodyBytes: 1000)
        #expect(small.problem == "max-buffered-bytes must be at least max-body-bytes (1048576)")
    }
}
