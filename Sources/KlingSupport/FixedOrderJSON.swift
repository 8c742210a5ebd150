import Foundation

/// A JSON object whose members appear in the order they are added, for the few outputs whose bytes
/// are a contract: the JWT payload (its signature covers the bytes, and the vendor's examples order
/// the claims `iss, exp, nbf`) and the image commands' documented JSON lines.
///
/// `JSONEncoder` does every encoding (keys, strings, numbers, nested values); this type only places
/// the encoded members in order, which `JSONEncoder` does not promise (on Linux it does not keep
/// `CodingKeys` order). Everything else is encoded by `JSONEncoder` directly.
public struct FixedOrderJSON: Sendable {
    /// The text between members and between a key and its value.
    public enum Spacing: Sendable {
        /// `{"a":1,"b":2}`.
        case compact
        /// `{"a": 1, "b": 2}` (the image commands' JSON lines).
        case spaced
    }

    private var members: [String] = []
    private let spacing: Spacing

    public init(spacing: Spacing = .compact) { self.spacing = spacing }

    /// Appends `key: value`; a `nil` optional is written as `null`.
    /// - Throws: `EncodingError` when `value` cannot be encoded (a non-finite `Double`).
    public mutating func add<T: Encodable>(_ key: String, _ value: T) throws {
        members.append(try Self.encoded(key) + (spacing == .compact ? ":" : ": ") + Self.encoded(value))
    }

    /// Appends `key: object` with the nested object's own order.
    public mutating func add(_ key: String, object: FixedOrderJSON) throws {
        members.append(try Self.encoded(key) + (spacing == .compact ? ":" : ": ") + object.text)
    }

    /// Appends `key: [objects]`, each with its own order.
    public mutating func add(_ key: String, objects: [FixedOrderJSON]) throws {
        let separator = spacing == .compact ? "," : ", "
        members.append(try Self.encoded(key) + (spacing == .compact ? ":" : ": ") + "[" + objects.map(\.text).joined(separator: separator) + "]")
    }

    /// The object's text.
    public var text: String { "{" + members.joined(separator: spacing == .compact ? "," : ", ") + "}" }

    private static func encoded<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
