import Foundation

// Decoding helpers that accept what relays actually send: numbers as strings, strings as numbers.

extension KeyedDecodingContainer {
    /// Decodes an `Int64` given as a JSON integer or as a decimal string; `nil` when absent or `null`.
    /// - Throws: `DecodingError.typeMismatch` for any other value (a fraction, a non-numeric string).
    func decodeLenientInt64IfPresent(forKey key: Key) throws -> Int64? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(Int64.self, forKey: key) { return value }
        if let text = try? decode(String.self, forKey: key),
           let value = Int64(text.trimmingCharacters(in: .whitespaces)) {
            return value
        }
        throw DecodingError.typeMismatch(
            Int64.self,
            .init(codingPath: codingPath + [key], debugDescription: "expected an integer or a decimal string"))
    }

    /// Decodes a `String` given as a JSON string or as a number (integers in decimal, other numbers in
    /// Swift's shortest form); `nil` when absent or `null`.
    func decodeLenientStringIfPresent(forKey key: Key) throws -> String? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(String.self, forKey: key) { return value }
        if let value = try? decode(Int64.self, forKey: key) { return String(value) }
        if let value = try? decode(Double.self, forKey: key) { return String(value) }
        throw DecodingError.typeMismatch(
            String.self,
            .init(codingPath: codingPath + [key], debugDescription: "expected a string or a number"))
    }
}

/// A coding key for any member name (request bodies are read member by member, whatever they hold).
struct FieldKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
