import Foundation
import KlingKitTestSupport
import Logging
import ReferenceImageService
import Testing

/// The committed samples (`samples/`) and fixtures the service tests upload.
enum Samples {
    static let root = TestCorpus.packageRoot.appendingPathComponent("samples")

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: root.appendingPathComponent(name)))
    }

    static func fixture(_ relative: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: TestCorpus.packageRoot.appendingPathComponent("Tests/Fixtures/" + relative)))
    }

    /// `portrait-valid.jpg` with its frame header rewritten to declare `side` × `side` pixels: a pixel
    /// bomb that is tiny on the wire.
    static func jpegBomb(side: Int = 20_000) throws -> [UInt8] {
        var bytes = try Self.bytes("portrait-valid.jpg")
        var i = 2
        while i + 9 < bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            if (0xC0...0xC2).contains(marker) {
                bytes[i + 5] = UInt8(side >> 8); bytes[i + 6] = UInt8(side & 0xFF)   // height
                bytes[i + 7] = UInt8(side >> 8); bytes[i + 8] = UInt8(side & 0xFF)   // width
                return bytes
            }
            i += 2 + length
        }
        throw RawHTTP.Failure("no frame header in portrait-valid.jpg")
    }
}

/// A `multipart/form-data` body.
struct Multipart {
    let boundary = "klingkit-test-\(UInt64.random(in: 0...UInt64.max))"
    var parts: [(name: String, filename: String?, type: String, bytes: [UInt8])] = []

    mutating func add(file bytes: [UInt8], filename: String, field: String = "file", type: String = "application/octet-stream") {
        parts.append((field, filename, type, bytes))
    }

    mutating func add(field: String, value: String) {
        parts.append((field, nil, "text/plain", Array(value.utf8)))
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    var body: [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { head += "; filename=\"\(filename)\"" }
            head += "\r\nContent-Type: \(part.type)\r\n\r\n"
            out += Array(head.utf8) + part.bytes + Array("\r\n".utf8)
        }
        out += Array("--\(boundary)--\r\n".utf8)
        return out
    }
}

/// Runs `body` with a service on `127.0.0.1:0`, stopped afterwards.
/// The read timeout is generous (60 s) unless a test is about it: on a loaded machine a debug build's
/// handlers may pause reading (backpressure) for seconds.
func withService<T: Sendable>(_ limits: ReferenceImageServiceLimits = .init(), readTimeout: Duration = .seconds(60),
                              _ body: (ReferenceImageServer) async throws -> T) async throws -> T {
    var logger = Logger(label: "serve-test")
    logger.logLevel = .warning
    let server = try await ReferenceImageServer.start(
        ReferenceImageServerConfiguration(port: 0, limits: limits, headTimeout: readTimeout, readTimeout: readTimeout), logger: logger)
    do {
        let value = try await body(server)
        await server.shutdown()
        return value
    } catch {
        await server.shutdown()
        throw error
    }
}

/// A blocking request with `Connection: close` from a Dispatch thread.
func call(_ server: ReferenceImageServer, _ method: String = "GET", _ path: String, headers: [String: String] = [:],
          body: [UInt8] = [], timeout: Double = 120) async throws -> RawHTTP.Answer {
    let port = server.port
    return try await RawHTTP.async(timeout: timeout + 10) {
        try RawHTTP.request(port: port, method: method, path: path, headers: headers, body: body, timeout: timeout)
    }
}

/// The JSON object or array of an answer.
func json(_ answer: RawHTTP.Answer) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(answer.body), options: [.fragmentsAllowed])
}

/// Expects a refusal: `status`, and a JSON `{code, rule, message}` body with `rule`.
func expectRefusal(_ answer: RawHTTP.Answer, status: Int, rule: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(answer.status == status, "\(answer)", sourceLocation: sourceLocation)
    let object = try #require(try json(answer) as? [String: Any], sourceLocation: sourceLocation)
    #expect(Set(object.keys) == ["code", "rule", "message"], "\(object)", sourceLocation: sourceLocation)
    #expect(object["rule"] as? String == rule, "\(object)", sourceLocation: sourceLocation)
    #expect((object["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
}

/// Runs `body` while a forced-PNG prepare of the 15 MB screenshot (a PNG search of seconds) holds a
/// decode slot: it returns once `/metrics` shows the job running, and awaits it (200) afterwards. With one
/// slot and no queue, every upload `body` makes is refused 503 from the head.
func whileSlotHeld<T: Sendable>(_ server: ReferenceImageServer, _ body: () async throws -> T) async throws -> T {
    let large = try Samples.bytes("screenshot-large.png")
    let slow = Task { try await call(server, "POST", "/v1/prepare?format=png", body: large, timeout: 900) }
    var running = false
    for _ in 0..<1200 where !running {
        running = try await call(server, "GET", "/metrics").text.contains("klingkit_serve_decodes_running 1.0")
        if !running { try await Task.sleep(for: .milliseconds(50)) }
    }
    #expect(running, "the slow prepare never started")
    let value = try await body()
    #expect(try await slow.value.status == 200)
    return value
}
