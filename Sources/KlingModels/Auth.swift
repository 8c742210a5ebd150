/// The JOSE header of a native Kling token: `{"alg":"HS256","typ":"JWT"}`.
public struct JWTHeader: Codable, Sendable, Hashable {
    public var alg: String
    public var typ: String?
    public init(alg: String = "HS256", typ: String? = "JWT") {
        self.alg = alg
        self.typ = typ
    }
}

/// The claims of a native Kling token (kling-api.md §1): `iss` = access key, `exp` = now + 1800,
/// `nbf` = now − 5, all integer Unix **seconds**, nothing else. Signed HMAC-SHA256 with the secret key's
/// UTF-8 bytes, base64url without padding.
public struct JWTClaims: Codable, Sendable, Hashable {
    /// The access key.
    public var iss: String
    /// Expiry, Unix seconds.
    public var exp: Int64
    /// Not before, Unix seconds.
    public var nbf: Int64
    public init(iss: String, exp: Int64, nbf: Int64) {
        self.iss = iss
        self.exp = exp
        self.nbf = nbf
    }
    /// Claims for a token signed at `now` (Unix seconds): valid from `now − 5` until `now + lifetime`.
    public init(accessKey: String, now: Int64, lifetime: Int64 = 1800) {
        self.init(iss: accessKey, exp: now + lifetime, nbf: now - 5)
    }
    /// The vendor's token lifetime: 1800 s.
    public static let defaultLifetime: Int64 = 1800
}
