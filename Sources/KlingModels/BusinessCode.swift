import Foundation

/// A business code from the `code` field of a Kling response envelope (kling-api.md §5).
///
/// An open set: any integer decodes, and the known codes carry their HTTP status, meaning and retry
/// policy. HTTP 429 mixes retryable and terminal codes, so decide on the code, never on the status alone.
/// Decodes from a JSON integer, an integral number (`1303.0`) or a decimal string (some relays send
/// `"code": "1201"`).
public struct BusinessCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public init(integerLiteral value: Int) { self.rawValue = value }

    /// 0: success (`message` is `"SUCCEED"`).
    public static let success: BusinessCode = 0
    /// 1000: authentication failed (bad signature or unknown access key).
    public static let authenticationFailed: BusinessCode = 1000
    /// 1001: the `Authorization` header is empty.
    public static let authorizationEmpty: BusinessCode = 1001
    /// 1002: the `Authorization` header is invalid (not `Bearer <token>`, not a JWT).
    public static let authorizationInvalid: BusinessCode = 1002
    /// 1003: the token is not yet valid (`nbf` in the future): re-sign once and retry.
    public static let tokenNotYetValid: BusinessCode = 1003
    /// 1004: the token has expired (`exp` in the past): re-sign once and retry.
    public static let tokenExpired: BusinessCode = 1004
    /// 1100: account problem.
    public static let accountException: BusinessCode = 1100
    /// 1101: account in arrears.
    public static let accountInArrears: BusinessCode = 1101
    /// 1102: resource pack used up or expired.
    public static let resourcePackExhausted: BusinessCode = 1102
    /// 1103: no permission for this API or model.
    public static let noPermission: BusinessCode = 1103
    /// 1200: invalid request (e.g. the body is not JSON).
    public static let invalidRequest: BusinessCode = 1200
    /// 1201: invalid parameter; `message` names the field and the rule.
    public static let invalidParameter: BusinessCode = 1201
    /// 1202: the method is not allowed on this route.
    public static let invalidMethod: BusinessCode = 1202
    /// 1203: the requested resource (task, model) does not exist.
    public static let resourceNotFound: BusinessCode = 1203
    /// 1300: refused by platform policy.
    public static let platformPolicy: BusinessCode = 1300
    /// 1301: refused by content safety.
    public static let contentSafety: BusinessCode = 1301
    /// 1302: too many requests: back off and retry.
    public static let rateLimited: BusinessCode = 1302
    /// 1303: concurrent tasks over the plan's limit: back off (≥ 1 s) and retry.
    public static let concurrencyLimit: BusinessCode = 1303
    /// 1304: the caller's IP is not on the whitelist.
    public static let ipWhitelist: BusinessCode = 1304
    /// 5000: internal server error: retry.
    public static let internalError: BusinessCode = 5000
    /// 5001: service under maintenance: retry.
    public static let serviceUnavailable: BusinessCode = 5001
    /// 5002: server timeout: retry.
    public static let serverTimeout: BusinessCode = 5002

    /// Every code of the vendor's table, in table order.
    public static let documented: [BusinessCode] = [
        .success, .authenticationFailed, .authorizationEmpty, .authorizationInvalid, .tokenNotYetValid,
        .tokenExpired, .accountException, .accountInArrears, .resourcePackExhausted, .noPermission,
        .invalidRequest, .invalidParameter, .invalidMethod, .resourceNotFound, .platformPolicy,
        .contentSafety, .rateLimited, .concurrencyLimit, .ipWhitelist, .internalError,
        .serviceUnavailable, .serverTimeout,
    ]

    /// Whether this code is in the vendor's table.
    public var isDocumented: Bool { BusinessCode.documented.contains(self) }

    /// The HTTP status the service answers with this code (200 for success; 500 for unknown codes).
    public var httpStatus: Int {
        switch rawValue {
        case 0: 200
        case 1000...1004: 401
        case 1100...1102: 429
        case 1103: 403
        case 1200, 1201: 400
        case 1202, 1203: 404
        case 1300, 1301: 400
        case 1302...1304: 429
        case 5001: 503
        case 5002: 504
        default: 500
        }
    }

    /// A short English meaning, from the vendor's table.
    public var meaning: String {
        switch self {
        case .success: "success"
        case .authenticationFailed: "authentication failed"
        case .authorizationEmpty: "authorization header is empty"
        case .authorizationInvalid: "authorization header is invalid"
        case .tokenNotYetValid: "token is not yet valid"
        case .tokenExpired: "token has expired"
        case .accountException: "account exception"
        case .accountInArrears: "account in arrears"
        case .resourcePackExhausted: "resource pack used up or expired"
        case .noPermission: "no permission for this API or model"
        case .invalidRequest: "invalid request"
        case .invalidParameter: "invalid parameter"
        case .invalidMethod: "invalid request method"
        case .resourceNotFound: "requested resource does not exist"
        case .platformPolicy: "refused by platform policy"
        case .contentSafety: "refused by content safety"
        case .rateLimited: "too many requests"
        case .concurrencyLimit: "concurrent tasks over the account's limit"
        case .ipWhitelist: "IP not on the whitelist"
        case .internalError: "internal server error"
        case .serviceUnavailable: "service under maintenance"
        case .serverTimeout: "server timeout"
        default: "unknown code \(rawValue)"
        }
    }

    /// How a caller may retry after this code.
    public enum Retry: Sendable, Hashable {
        /// Do not send the same request again: it will fail the same way.
        case never
        /// Sign a fresh token once and retry at once (1003, 1004).
        case afterResigning
        /// Retry the same request after a backoff of at least `minimumDelay` seconds (1302, 1303, 5xxx).
        case withBackoff(minimumDelay: Double)
    }

    /// The retry policy of this code. Unknown codes in 5000...5999 are treated as server errors
    /// (backoff); any other unknown code is terminal.
    public var retry: Retry {
        switch rawValue {
        case 1003, 1004: .afterResigning
        case 1302: .withBackoff(minimumDelay: 0.5)
        case 1303: .withBackoff(minimumDelay: 1)
        case 5000...5999: .withBackoff(minimumDelay: 0.5)
        default: .never
        }
    }

    /// Whether sending the same request again, unchanged, after a backoff may succeed
    /// (1302, 1303, 5000–5002). The token timing codes 1003/1004 need a fresh token first:
    /// see ``needsFreshToken``.
    public var isRetryable: Bool {
        if case .withBackoff = retry { return true }
        return false
    }

    /// Whether a newly signed JWT should be sent once (1003 not yet valid, 1004 expired).
    public var needsFreshToken: Bool { retry == .afterResigning }

    public var description: String { "\(rawValue) (\(meaning))" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            rawValue = value
        } else if let value = try? container.decode(Double.self), value == value.rounded(), abs(value) < 1e15 {
            rawValue = Int(value)
        } else if let text = try? container.decode(String.self), let value = Int(text.trimmingCharacters(in: .whitespaces)) {
            rawValue = value
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "business code is neither an integer nor a decimal string")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
