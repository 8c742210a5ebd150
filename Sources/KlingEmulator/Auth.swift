import Crypto
import Foundation
import KlingModels

/// HS256 JSON Web Tokens as Kling's native API uses them (kling-api.md §1), for the emulator's checks
/// and for tests and tools that need a token. RFC 7519 / RFC 7515 compact serialisation.
public enum KlingJWT {
    /// Signs `header.payload` with HMAC-SHA256 over `secret`'s UTF-8 bytes and returns the compact token.
    public static func sign(claims: JWTClaims, secretKey: String, header: JWTHeader = .init()) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let head = base64URL(Array((try? encoder.encode(header)) ?? Data()))
        let body = base64URL(Array((try? encoder.encode(claims)) ?? Data()))
        let input = head + "." + body
        return input + "." + signature(signingInput: input, secretKey: Array(secretKey.utf8))
    }

    /// A token for `accessKey` signed at `now` (Unix seconds), valid 1800 s.
    public static func token(accessKey: String, secretKey: String, now: Int64, lifetime: Int64 = JWTClaims.defaultLifetime) -> String {
        sign(claims: JWTClaims(accessKey: accessKey, now: now, lifetime: lifetime), secretKey: secretKey)
    }

    /// The base64url (no padding) HMAC-SHA256 of `signingInput` under `secretKey`.
    public static func signature(signingInput: String, secretKey: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: SymmetricKey(data: secretKey))
        return base64URL(Array(mac))
    }

    /// Base64url without padding (RFC 4648 §5).
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url with or without padding; `nil` on any character outside the alphabet.
    static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        guard text.utf8.allSatisfy({ b in
            (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F || b == 0x3D
        }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard = standard.replacingOccurrences(of: "=", with: "")
        if standard.count % 4 == 1 { return nil }
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}

/// Why a request was not authenticated: the business code (1000–1004) and a message that never
/// contains a key or the token.
struct AuthFailure: Error, Sendable {
    var code: BusinessCode
    var message: String
}

/// Checks native `Authorization: Bearer <JWT>` headers the way the vendor does: structure (1002),
/// algorithm (1002), signature and issuer (1000), `nbf` (1003), `exp` (1004). An empty header is 1001.
struct JWTVerifier: Sendable {
    var accessKey: String
    var secretKey: [UInt8]
    var leewaySeconds: Int64

    /// - Parameter nowSeconds: the current time, Unix seconds.
    func verify(authorization: String?, nowSeconds: Int64) -> AuthFailure? {
        guard let authorization, !authorization.trimmingCharacters(in: .whitespaces).isEmpty else {
            return AuthFailure(code: .authorizationEmpty, message: "Authorization header is empty")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: expected \"Bearer <token>\"")
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: the token is not a JWT (expected 3 dot-separated parts, got \(segments.count))")
        }
        guard let headerBytes = KlingJWT.decodeBase64URL(segments[0]),
              let header = try? JSONDecoder().decode(JWTHeader.self, from: Data(headerBytes)) else {
            return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: the JWT header is not base64url JSON")
        }
        guard header.alg == "HS256" else {
            return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: alg must be HS256")
        }
        guard let payloadBytes = KlingJWT.decodeBase64URL(segments[1]),
              case .object(let claims)? = try? JSONDecoder().decode(JSONValue.self, from: Data(payloadBytes)) else {
            return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: the JWT payload is not base64url JSON")
        }
        guard let signature = KlingJWT.decodeBase64URL(segments[2]), signature.count == SHA256.byteCount else {
            return AuthFailure(code: .authenticationFailed, message: "Authentication failed: the token signature is malformed")
        }
        let input = Array(token.utf8.prefix(segments[0].utf8.count + 1 + segments[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: SymmetricKey(data: secretKey)) else {
            return AuthFailure(code: .authenticationFailed, message: "Authentication failed: the token signature does not verify with this account's secret key")
        }
        guard case .string(let issuer)? = claims["iss"], issuer == accessKey else {
            return AuthFailure(code: .authenticationFailed, message: "Authentication failed: iss is not this account's access key")
        }
        guard case .int(let nbf)? = claims["nbf"] else {
            return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: nbf must be an integer (Unix seconds)")
        }
        guard case .int(let exp)? = claims["exp"] else {
            return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: exp must be an integer (Unix seconds)")
        }
        if nbf > nowSeconds + leewaySeconds {
            return AuthFailure(code: .tokenNotYetValid, message: "Token is not yet valid: nbf is \(nbf - nowSeconds) s in the future")
        }
        if exp <= nowSeconds - leewaySeconds {
            return AuthFailure(code: .tokenExpired, message: "Token has expired \(nowSeconds - exp) s ago")
        }
        return nil
    }
}
