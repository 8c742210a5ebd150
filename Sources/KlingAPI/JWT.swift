import Crypto
import KlingModels
import NIOConcurrencyHelpers

/// Signs the native API's tokens for one account (through ``KlingJWT``, kling-api.md §1): claims
/// `{"iss": ACCESS_KEY, "exp": now + lifetime, "nbf": now − notBeforeSkew}`.
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
        let issued = Int64(now.rounded(.down))
        let claims = JWTClaims(iss: accessKey, exp: issued + Int64(lifetime), nbf: issued - Int64(notBeforeSkew))
        return (KlingJWT.sign(claims: claims, key: secretKey), Int(claims.exp))
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
final class TokenCache: Sendable {
    private struct State {
        var current: (token: String, expiresAt: Int)?
        var signCount = 0
    }
    private let signer: JWTSigner
    private let refreshMargin: Double
    private let state = NIOLockedValueBox(State())

    init(signer: JWTSigner, refreshMargin: Double = 60) {
        self.signer = signer
        self.refreshMargin = refreshMargin
    }

    /// Tokens signed so far.
    var signCount: Int { state.withLockedValue { $0.signCount } }

    func token(now: Double) -> String {
        state.withLockedValue { s in
            if let current = s.current, Double(current.expiresAt) - now > refreshMargin { return current.token }
            let fresh = signer.sign(now: now)
            s.current = fresh
            s.signCount += 1
            return fresh.token
        }
    }

    /// Drops `token` if it is still the cached one (a concurrent caller may already have replaced it).
    func invalidate(_ token: String) {
        state.withLockedValue { s in if s.current?.token == token { s.current = nil } }
    }
}
