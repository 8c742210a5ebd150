import KlingSupport
import Foundation
import Testing
@testable import KlingAPI

@Suite("JWT signing")
struct JWTTests {
    @Test("matches an independently computed HS256 token (Python hmac)")
    func knownVector() {
        let signer = JWTSigner(accessKey: "AK-test", secretKey: "SK-secret")
        let (token, exp) = signer.sign(now: 1_700_000_000.9)
        #expect(exp == 1_700_001_800)
        #expect(token == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJBSy10ZXN0IiwiZXhwIjoxNzAwMDAxODAwLCJuYmYiOjE2OTk5OTk5OTV9.A_JHBPKCIBnyKbUpN_TGa9qFY2KmU9s27mq7fRLqnCM")
        #expect(!token.contains("="))
    }

    @Test("payload holds exactly iss, exp, nbf as integers")
    func payloadShape() throws {
        let (token, _) = JWTSigner(accessKey: "a\"b", secretKey: "s").sign(now: 100)
        let parts = token.split(separator: ".")
        #expect(parts.count == 3)
        var p = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while p.count % 4 != 0 { p += "=" }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(base64Encoded: p)!) as? [String: Any])
        #expect(Set(json.keys) == ["iss", "exp", "nbf"])
        #expect(json["iss"] as? String == "a\"b")
        #expect(json["exp"] as? Int == 1900)
        #expect(json["nbf"] as? Int == 95)
    }

    @Test("a token is reused until 60 s before exp, then re-signed; invalidate forces a new one")
    func reuse() {
        let cache = TokenCache(signer: JWTSigner(accessKey: "a", secretKey: "s", lifetime: 1800), refreshMargin: 60)
        let t0 = cache.token(now: 1000)
        #expect(cache.token(now: 1000 + 1739) == t0)
        #expect(cache.signCount == 1)
        let t1 = cache.token(now: 1000 + 1741)
        #expect(t1 != t0)
        #expect(cache.signCount == 2)
        cache.invalidate(t0)  // stale token: no effect
        #expect(cache.token(now: 2741) == t1)
        cache.invalidate(t1)
        _ = cache.token(now: 2741)
        #expect(cache.signCount == 3)
    }

    @Test("descriptions never show keys")
    func redaction() {
        let secret = "SECRET-\(UUID().uuidString)"
        let texts = [
            "\(JWTSigner(accessKey: secret, secretKey: secret))",
            "\(Provider.kling(accessKey: secret, secretKey: secret))",
            "\(Provider.cometAPI(key: secret))",
            String(reflecting: Provider.cometAPI(key: secret)),
            "\(ClientConfiguration(provider: .kling(accessKey: secret, secretKey: secret)))",
        ]
        for t in texts { #expect(!t.contains(secret), "\(t)") }
    }
}

@Suite("Retry and polling policies")
struct PolicyTests {
    @Test("without jitter the waits double up to the cap, one fewer than attempts")
    func exponential() {
        let p = RetryPolicy(maxAttempts: 7, initialDelay: .milliseconds(500), multiplier: 2, maxDelay: .seconds(4),
                            jitter: 0, deadline: nil)
        #expect(Array(p.delays(jitter: ConstantJitter(0.7))) ==
                [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(4), .seconds(4)])
    }

    @Test("jitter randomises the stated fraction, deterministically for a seed")
    func jitter() {
        let p = RetryPolicy(maxAttempts: 6, initialDelay: .seconds(1), multiplier: 2, maxDelay: .seconds(100), jitter: 0.5, deadline: nil)
        let a = Array(p.delays(jitter: SeededJitter(seed: 42)))
        let b = Array(p.delays(jitter: SeededJitter(seed: 42)))
        let c = Array(p.delays(jitter: SeededJitter(seed: 43)))
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 5)
        for (k, d) in a.enumerated() {
            let base = Double(1 << k)
            #expect(d.seconds >= base * 0.5 && d.seconds < base)
        }
        // u = 0 gives the floor, u → 1 the full delay.
        #expect(Array(p.delays(jitter: ConstantJitter(0))).first == .milliseconds(500))
    }

    @Test("the sequence ends before the waits pass the deadline")
    func deadline() {
        let p = RetryPolicy(maxAttempts: 100, initialDelay: .seconds(1), multiplier: 2, maxDelay: .seconds(60), jitter: 0,
                            deadline: .seconds(20))
        #expect(Array(p.delays(jitter: ConstantJitter(0))) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
    }

    @Test("polling: initial wait, then the interval, jitter centred, the last wait ending at the timeout")
    func polling() {
        let p = PollingPolicy(initialDelay: .seconds(2), interval: .seconds(5), jitter: 0.2, timeout: .seconds(30))
        #expect(Array(p.delays(jitter: ConstantJitter(0.5))) == [.seconds(2), .seconds(5), .seconds(5), .seconds(5), .seconds(5), .seconds(5), .seconds(3)])
        // A timeout shorter than the first wait still waits that long (it used to give up at once).
        let short = PollingPolicy(initialDelay: .seconds(3), interval: .seconds(5), jitter: 0.2, timeout: .seconds(1))
        #expect(Array(short.delays(jitter: ConstantJitter(0.9))) == [.seconds(1)])
        let low = Array(p.delays(jitter: ConstantJitter(0)))
        #expect(low.first == .milliseconds(1600))
        #expect(low[1] == .seconds(4))
        let seeded = Array(p.delays(jitter: SeededJitter(seed: 7)))
        #expect(seeded.reduce(Duration.zero, +) == .seconds(30))
        #expect(seeded.dropFirst().dropLast().allSatisfy { $0 >= .seconds(4) && $0 <= .seconds(6) })
    }

    @Test("the manual clock records sleeps and advances both readings")
    func manualClock() async throws {
        let clock = ManualClock(unixTime: 10)
        try await clock.sleep(for: .seconds(3))
        clock.advance(by: .milliseconds(500))
        #expect(clock.sleeps == [.seconds(3)])
        #expect(clock.unixTime == 13.5)
        #expect(clock.monotonic == .milliseconds(3500))
    }
}

@Suite("Safe paths and the journal")
struct FileTests {
    @Test("server task ids never escape the output folder", arguments: [
        "..", ".", "", "../../etc/passwd", "a/b", "a\\b", "/abs", ".hidden", "x\u{0}y", "ok-id_1.2", String(repeating: "z", count: 300),
    ])
    func taskIDs(id: String) {
        let c = SafePath.component(forTaskID: id)
        #expect(!c.isEmpty)
        #expect(c != "." && c != "..")
        #expect(!c.contains("/") && !c.contains("\\") && !c.contains("\u{0}"))
        #expect(!c.hasPrefix("."))
        #expect(c.count <= 110)
        if id == "ok-id_1.2" { #expect(c == id) } else { #expect(c != id) }
    }

    @Test("different unsafe ids never share a folder")
    func distinct() {
        #expect(SafePath.component(forTaskID: "a/b") != SafePath.component(forTaskID: "a_b"))
        #expect(SafePath.component(forTaskID: "a/b") != SafePath.component(forTaskID: "a\\b"))
    }

    @Test("journal entries round-trip, replace atomically and list unfinished ones")
    func journal() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try TaskJournal(directory: dir)
        var e = JournalEntry(externalTaskID: "../evil", kind: .generation, provider: "kling", baseURL: "http://x",
                             count: 2, outputDirectory: "/tmp/out", createdAt: 1, updatedAt: 1)
        try journal.record(e)
        #expect(try journal.unfinished().map(\.externalTaskID) == ["../evil"])
        e.taskID = "T1"
        e.state = .submitted
        try journal.record(e)
        #expect(try journal.entry(externalTaskID: "../evil") == e)
        e.state = .completed
        try journal.record(e)
        #expect(try journal.unfinished().isEmpty)
        #expect(try journal.entries().count == 1)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(names.count == 1)
        #expect(!names[0].hasPrefix("."))
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.path)
        #expect((attrs[.posixPermissions] as? Int).map { $0 & 0o077 } == 0)
    }

    @Test("an unreadable entry is reported with its path and moved aside, not skipped silently; readable ones still list")
    func corruptEntry() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try TaskJournal(directory: dir)
        try journal.record(JournalEntry(externalTaskID: "ok-1", kind: .generation, provider: "kling",
                                        baseURL: "http://127.0.0.1:1", createdAt: 1))
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("x.json"))
        let (entries, unreadable) = try journal.scan()
        #expect(entries.map(\.externalTaskID) == ["ok-1"])
        #expect(unreadable.count == 1)
        #expect(unreadable.first?.path == dir.appendingPathComponent("x.json").path)
        #expect(unreadable.first?.movedTo == dir.appendingPathComponent("x.json.corrupt").path)
        #expect(unreadable.first?.description.contains("not valid JSON") == true, "\(unreadable)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.json.corrupt").path))
    }
}

@Suite("Answer classification")
struct InterpretTests {
    func failure(_ status: Int, _ body: String) -> AttemptFailure? {
        do {
            _ = try KlingClient.interpret(status: status, body: Array(body.utf8), retryAfter: nil, what: "GET /x")
            return nil
        } catch let f as AttemptFailure { return f } catch { return nil }
    }

    @Test("retryability follows the business code, not the status")
    func codes() throws {
        let final429 = try #require(failure(429, #"{"code":1102,"message":"pack used up","request_id":"r1"}"#))
        #expect(!final429.error.isRetryable)
        #expect(final429.error.businessCode == 1102)
        #expect(final429.error.requestID == "r1")
        let retry429 = try #require(failure(429, #"{"code":1303,"message":"busy","request_id":"r2"}"#))
        #expect(retry429.error.isRetryable)
        let s500 = try #require(failure(500, #"{"code":"5000","message":"oops"}"#))
        #expect(s500.error.isRetryable && s500.ambiguous)
        let auth = try #require(failure(401, #"{"code":1000,"message":"auth"}"#))
        #expect(!auth.error.isRetryable && auth.error.code == .api)
        let missing = try #require(failure(404, #"{"code":1203,"message":"no such task"}"#))
        #expect(missing.error.code == .notFound)
    }

    @Test("HTML, malformed JSON and CometAPI's error envelope are recognised")
    func shapes() throws {
        let html = try #require(failure(502, "<!DOCTYPE html><html><body>Bad gateway</body></html>"))
        #expect(html.error.code == .invalidResponse && html.error.isRetryable && html.error.message.contains("HTML"))
        let html200 = try #require(failure(200, "<html>login</html>"))
        #expect(!html200.error.isRetryable)
        let broken = try #require(failure(200, #"{"code":0,"data":{"task_id":"#))
        #expect(broken.error.code == .invalidResponse && broken.error.message.contains("malformed JSON"))
        let comet = try #require(failure(400, #"{"error":{"message":"task not found","type":"invalid_request","code":"task_not_exist"}}"#))
        #expect(comet.error.code == .notFound && comet.error.message.contains("task_not_exist"))
        #expect(failure(200, #"{"code":0,"message":"SUCCEED","request_id":"r","data":{}}"#) == nil)
    }

    @Test("error descriptions are one bounded line")
    func description() {
        let e = ClientError(.api, String(repeating: "x", count: 1000) + "\nsecond", httpStatus: 429, businessCode: 1303, requestID: "rid")
        let d = e.description
        #expect(!d.contains("\n") && d.count < 420 && d.contains("code 1303") && d.contains("request_id rid"))
    }
}
