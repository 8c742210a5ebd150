import Foundation
import KlingModels

/// Why a request was not authenticated: the business code (1000–1004) and a message that never
/// contains a key or the token.
struct AuthFailure: Error, Sendable {
    var code: BusinessCode
    var message: String
}

/// Checks native `Authorization: Bearer <JWT>` headers the way the vendor does: structure (1002),
/// algorithm (1002), signature and issuer (1000), `nbf` (1003), `exp` (1004). An empty header is 1001.
/// The token itself is checked by ``KlingJWT/verify(_:secretKey:)``; this maps its findings to codes.
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
        let claims: JWTClaims
        do {
            claims = try KlingJWT.verify(Substring(token), secretKey: secretKey)
        } catch {
            switch error.code {
            case .signatureMalformed, .signatureMismatch:
                return AuthFailure(code: .authenticationFailed, message: "Authentication failed: \(error.message)")
            case .claim where error.field == "iss":
                return AuthFailure(code: .authenticationFailed, message: "Authentication failed: iss is not this account's access key")
            case .claim:
                let field = error.field ?? "a claim"
                return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: \(field) must be an integer (Unix seconds)")
            default:
                return AuthFailure(code: .authorizationInvalid, message: "Authorization header is invalid: \(error.message)")
            }
        }
        guard claims.iss == accessKey else {
            return AuthFailure(code: .authenticationFailed, message: "Authentication failed: iss is not this account's access key")
        }
        if claims.nbf > nowSeconds + leewaySeconds {
            return AuthFailure(code: .tokenNotYetValid, message: "Token is not yet valid: nbf is \(claims.nbf - nowSeconds) s in the future")
        }
        if claims.exp <= nowSeconds - leewaySeconds {
            return AuthFailure(code: .tokenExpired, message: "Token has expired \(nowSeconds - claims.exp) s ago")
        }
        return nil
    }
}
