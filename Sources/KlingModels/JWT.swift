import Crypto
import Foundation

/// HS256 JSON Web Tokens as Kling's native API uses them (kling-api.md §1; RFC 7519 / RFC 7515 compact
/// serialisation): the one implementation the client signs with and the emulator verifies with.
///
/// Header `{"alg":"HS256","typ":"JWT"}`, payload ``JWTClaims`` `{"iss","exp","nbf"}` in that order
/// (integer Unix seconds), HMAC-SHA256 over `header.payload` keyed with the secret key's UTF-8 bytes,
/// every part base64url without padding (RFC 4648 §5).
public enum KlingJWT {
    /// Signs `claims` under `secretKey` (its UTF-8 bytes) and returns the compact token.
    public static func sign(claims: JWTClaims, secretKey: String, header: JWTHeader = .init()) -> String {
        sign(claims: claims, key: SymmetricKey(data: Array(secretKey.utf8)), header: header)
    }

    /// Signs `claims` with an HMAC key already built from the secret.
    public static func sign(claims: JWTClaims, key: SymmetricKey, header: JWTHeader = .init()) -> String {
        let head = base64URL(Array(header.compactJSON.utf8))
        let body = base64URL(Array(claims.compactJSON.utf8))
        let input = head + "." + body
        return input + "." + base64URL(Array(HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: key)))
    }

    /// A token for `accessKey` signed at `now` (Unix seconds): valid from `now − 5` to `now + lifetime`.
    public static func token(accessKey: String, secretKey: String, now: Int64, lifetime: Int64 = JWTClaims.defaultLifetime) -> String {
        sign(claims: JWTClaims(accessKey: accessKey, now: now, lifetime: lifetime), secretKey: secretKey)
    }

    /// The base64url (no padding) HMAC-SHA256 of `signingInput` under `secretKey`.
    public static func signature(signingInput: String, secretKey: [UInt8]) -> String {
        base64URL(Array(HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: SymmetricKey(data: secretKey))))
    }

    /// Checks a compact token's structure, header, algorithm and signature, then decodes its claims.
    ///
    /// Checks run in this order and the first failure is thrown: three parts; the header is base64url
    /// JSON; `alg` is HS256; the payload is a base64url JSON object; the signature is 32 bytes of
    /// base64url and verifies (constant time) under `secretKey`; `iss`, `nbf`, `exp` have their types.
    /// Time (`nbf`, `exp`) and the issuer's identity are the caller's to judge.
    /// - Throws: ``JWTError`` naming the step (and the claim, for ``JWTError/Code/claim``); never the key.
    public static func verify(_ token: Substring, secretKey: [UInt8]) throws(JWTError) -> JWTClaims {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            throw JWTError(.malformed, "the token is not a JWT (expected 3 dot-separated parts, got \(segments.count))")
        }
        let decoder = JSONDecoder()
        guard let headerBytes = decodeBase64URL(segments[0]),
              let header = try? decoder.decode(JWTHeader.self, from: Data(headerBytes)) else {
            throw JWTError(.header, "the JWT header is not base64url JSON")
        }
        guard header.alg == "HS256" else { throw JWTError(.algorithm, "alg must be HS256") }
        guard let payload = decodeBase64URL(segments[1]).map({ Data($0) }),
              (try? decoder.decode(JSONObjectShape.self, from: payload)) != nil else {
            throw JWTError(.payload, "the JWT payload is not base64url JSON")
        }
        guard let signature = decodeBase64URL(segments[2]), signature.count == SHA256.byteCount else {
            throw JWTError(.signatureMalformed, "the token signature is malformed")
        }
        let input = Array(token.utf8.prefix(segments[0].utf8.count + 1 + segments[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: SymmetricKey(data: secretKey)) else {
            throw JWTError(.signatureMismatch, "the token signature does not verify with this account's secret key")
        }
        do {
            return try decoder.decode(JWTClaims.self, from: payload)
        } catch let DecodingError.keyNotFound(key, _) {
            throw JWTError(.claim, field: key.stringValue, "\(key.stringValue) is missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.last?.stringValue ?? "payload"
            throw JWTError(.claim, field: field, "\(field) has the wrong type")
        } catch {
            throw JWTError(.payload, "the JWT payload is not base64url JSON")
        }
    }

    /// Base64url without padding (RFC 4648 §5).
    public static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// Decodes base64url with or without padding; `nil` on any character outside the alphabet.
    static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        var standard = ""
        standard.reserveCapacity(text.utf8.count + 3)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9": standard.unicodeScalars.append(scalar)
            case "-": standard.append("+")
            case "_": standard.append("/")
            case "=": continue
            default: return nil
            }
        }
        if standard.utf8.count % 4 == 1 { return nil }
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}

/// Decodes only when the value is a JSON object (its members are not read).
private struct JSONObjectShape: Decodable {
    init(from decoder: any Decoder) throws { _ = try decoder.container(keyedBy: FieldKey.self) }
}

/// Why a token did not verify. Never holds the token or a key.
public struct JWTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The failed check. An open set: compare with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case malformed, header, algorithm, payload, signatureMalformed = "signature-malformed"
            case signatureMismatch = "signature-mismatch", claim
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// Not three dot-separated parts.
        public static let malformed = Code(.malformed)
        /// The header is not base64url JSON.
        public static let header = Code(.header)
        /// `alg` is not HS256.
        public static let algorithm = Code(.algorithm)
        /// The payload is not a base64url JSON object.
        public static let payload = Code(.payload)
        /// The signature is not 32 bytes of base64url.
        public static let signatureMalformed = Code(.signatureMalformed)
        /// The signature does not verify under the key.
        public static let signatureMismatch = Code(.signatureMismatch)
        /// A claim is missing or of the wrong type (``JWTError/field`` names it).
        public static let claim = Code(.claim)
        public var description: String { value.rawValue }
    }

    public var code: Code
    /// The claim concerned (`iss`, `nbf`, `exp`), for ``Code/claim``.
    public var field: String?
    /// One line saying what is wrong.
    public var message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
