import KlingSupport

/// The JOSE header of a native Kling token: `{"alg":"HS256","typ":"JWT"}`.
public struct JWTHeader: Codable, Sendable, Hashable {
    /// The header's JSON text, `{"alg":…,"typ":…}` in the vendor's order.
    public var compactJSON: String {
        var object = FixedOrderJSON()
        try? object.add("alg", alg)
        if let typ { try? object.add("typ", typ) }
        return object.text
    }

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

    enum CodingKeys: String, CodingKey { case iss, exp, nbf }

    /// The payload's JSON text, `{"iss":…,"exp":…,"nbf":…}` in the vendor's order (the signature
    /// covers these bytes).
    public var compactJSON: String {
        var object = FixedOrderJSON()
        // A string and two integers always encode.
        try? object.add("iss", iss)
        try? object.add("exp", exp)
        try? object.add("nbf", nbf)
        return object.text
    }

    /// Decodes `iss`, then `nbf`, then `exp`, so the first bad claim in the vendor's check order is
    /// the one reported.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iss = try c.decode(String.self, forKey: .iss)
        nbf = try c.decode(Int64.self, forKey: .nbf)
        exp = try c.decode(Int64.self, forKey: .exp)
    }
    /// Claims for a token signed at `now` (Unix seconds): valid from `now − 5` until `now + lifetime`.
    public init(accessKey: String, now: Int64, lifetime: Int64 = 1800) {
        self.init(iss: accessKey, exp: now + lifetime, nbf: now - 5)
    }
    /// The vendor's token lifetime: 1800 s.
    public static let defaultLifetime: Int64 = 1800
}
