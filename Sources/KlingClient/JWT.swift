import Crypto
import FastBase64
import Foundation
import KlingModels

/// Signs the HS256 JSON Web Tokens the native Kling API authenticates with (RFC 7519, RFC 7515).
///
/// Header `{"alg":"HS256","typ":"JWT"}`, payload `{"iss":ACCESS_KEY,"exp":now+lifetime,"nbf":now-5}`
/// (integer Unix seconds, nothing else), HMAC-SHA256 over `header.payload` keyed with the secret key's
/// UTF-8 bytes, every part base64url without padding (RFC 4648 §5).
public struct JWTSigner: Sendable {
    /// Token lifetime in seconds. Default 1800 (30 minutes), as the vendor's examples.
    public var lifetime: Int
    /// How far `nbf` is set in the past, absorbing clock skew. Default 5 s.
    public var notBeforeSkew: Int
    private let accessKey: String
    private let secretKey: SymmetricKey

    public init(accessKey: String, secretKey: String, lifetime: Int = 1800, notBeforeSkew: Int = 5) {
        self.accessKey = accessKey
        self.secretKey = SymmetricKey(data: Array(secretKey.utf8))
        self.lifetime = lifetime
        self.notBeforeSkew = notBeforeSkew
    }

    /// A signed token valid from `now − notBeforeSkew` until `now + lifetime`.
    /// - Parameter now: Unix seconds (fractions are truncated).
    /// - Returns: the compact token and its `exp` (Unix seconds).
    public func sign(now: Double) -> (token: String, expiresAt: Int) {
        let issued = Int(now.rounded(.down))
        let exp = issued + lifetime
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let payload = #"{"iss":"# + JSONText.quoted(accessKey) + #","exp":\#(exp),"nbf":\#(issued - notBeforeSkew)}"#
        let signingInput = base64URL(Array(header.utf8)) + "." + base64URL(Array(payload.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: secretKey)
        return (signingInput + "." + base64URL(Array(mac)), exp)
    }
}

extension JWTSigner: CustomStringConvertible {
    /// Never shows either key.
    public var description: String { "JWTSigner(accessKey: <redacted>, secretKey: <redacted>, lifetime: \(lifetime))" }
}

/// Hands out a cached token, signing a new one when less than `refreshMargin` seconds remain.
///
/// Thread-safe; one per client. ``invalidate()`` forces the next call to sign afresh (used once after
/// a 1003/1004 answer).
final class TokenCache: @unchecked Sendable {
    private let signer: JWTSigner
    private let refreshMargin: Double
    private let lock = NSLock()
    private var current: (token: String, expiresAt: Int)?
    private(set) var signCount = 0

    init(signer: JWTSigner, refreshMargin: Double = 60) {
        self.signer = signer
        self.refreshMargin = refreshMargin
    }

    func token(now: Double) -> String {
        lock.withLock {
            if let current, Double(current.expiresAt) - now > refreshMargin { return current.token }
            let fresh = signer.sign(now: now)
            current = fresh
            signCount += 1
            return fresh.token
        }
    }

    /// Drops `token` if it is still the cached one (a concurrent caller may already have replaced it).
    func invalidate(_ token: String) {
        lock.withLock { if current?.token == token { current = nil } }
    }
}

/// base64url without padding (RFC 4648 §5), via the project's encoder.
func base64URL(_ bytes: [UInt8]) -> String {
    Base64.encodeToString(bytes, options: [.urlSafe, .omitPadding])
}

