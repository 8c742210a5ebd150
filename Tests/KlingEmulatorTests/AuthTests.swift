import KlingSupport
import Foundation
import KlingEmulator
import KlingModels
import Testing

@Suite("Emulator authentication")
struct AuthTests {
    @Test("HS256 signing matches the RFC 7519 reference token shape (jwt.io vector)")
    func knownVector() {
        let input = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
        #expect(KlingJWT.signature(signingInput: input, secretKey: Array("your-256-bit-secret".utf8)) == "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    }

    @Test("native JWT checks: 1001, 1002, 1000, 1003, 1004, then success")
    func nativeCodes() async throws {
        try await Harness.with { h in
            let now = h.clock.unixMilliseconds / 1000
            let key = h.server.configuration.accessKey, secret = h.server.configuration.secretKey
            func token(_ claims: JWTClaims, secret: String = secret, header: JWTHeader = .init()) -> Credentials {
                .header("Bearer " + KlingJWT.sign(claims: claims, secretKey: secret, header: header))
            }
            let cases: [(Credentials, Int, String)] = [
                (.none, 1001, "empty"),
                (.header(""), 1001, "empty"),
                (.header("Basic abc"), 1002, "Bearer"),
                (.header("Bearer not-a-jwt"), 1002, "3 dot-separated"),
                (.header("Bearer a.b.c"), 1002, "header"),
                (token(JWTClaims(accessKey: key, now: now), header: JWTHeader(alg: "none")), 1002, "HS256"),
                (token(JWTClaims(accessKey: key, now: now), secret: "wrong-secret"), 1000, "signature"),
                (token(JWTClaims(accessKey: "someone-else", now: now)), 1000, "iss"),
                (token(JWTClaims(iss: key, exp: now + 1800, nbf: now + 60)), 1003, "not yet valid"),
                (token(JWTClaims(iss: key, exp: now - 1, nbf: now - 1805)), 1004, "expired"),
                (token(JWTClaims(iss: key, exp: now, nbf: now - 5)), 1004, "expired"),
            ]
            for (credentials, code, fragment) in cases {
                let answer = try await h.get("/v1/images/generations", auth: credentials)
                #expect(answer.status == 401, "\(code) \(fragment)")
                #expect(answer.code == code, "\(fragment): \(answer.message)")
                #expect(answer.message.contains(fragment), "\(answer.message)")
                #expect(!answer.message.contains(secret) && answer.json?["request_id"]?.stringValue?.isEmpty == false)
            }
            #expect(try await h.get("/v1/images/generations", auth: token(JWTClaims(iss: key, exp: now + 1, nbf: now))).code == 0)
            // Tokens age with the emulator's clock.
            let fresh = h.server.nativeAuthorization()
            await h.advance(seconds: 1801)
            #expect(try await h.get("/v1/images/generations", auth: .header(fresh)).code == 1004)
        }
    }

    @Test("CometAPI bearer key: missing and wrong keys get CometAPI's error body; JWTs are not accepted there")
    func cometKeys() async throws {
        try await Harness.with { h in
            let missing = try await h.get("/kling/v1/images/generations/x", auth: .none)
            #expect(missing.status == 401 && missing.json?["error"]?["code"]?.stringValue == "missing_api_key")
            let wrong = try await h.get("/kling/v1/images/generations/x", auth: .header("Bearer nope"))
            #expect(wrong.status == 401 && wrong.json?["error"]?["code"]?.stringValue == "invalid_api_key")
            let jwt = try await h.get("/kling/v1/images/generations/x", auth: .native)
            #expect(jwt.status == 401)
            let key = try await h.get("/kling/v1/images/generations", auth: .comet)
            #expect(key.status == 200 && key.code == 0)
            // And the CometAPI key is no JWT on the native side.
            #expect(try await h.get("/v1/images/generations", auth: .comet).code == 1002)
        }
    }
}
