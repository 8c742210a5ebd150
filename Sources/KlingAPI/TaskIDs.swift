/// Task ids are opaque tokens the server hands out, and the client puts them into URL paths. An id that
/// is empty, a path step (`.`, `..`), holds a `/`, a control character or white space, or is absurdly
/// long cannot be a real id: sending it would address another route (`/v1/images/generations/..`), so it
/// is refused before any request, and a server answering with one is not believed.
enum TaskIDs {
    /// Longest id accepted, in UTF-8 bytes (real ids are about 20–40 characters).
    static let maxBytes = 256

    /// Why `id` cannot be a task id, or `nil` when it can.
    static func problem(_ id: String) -> String? {
        if id.isEmpty { return "a task id cannot be empty" }
        if id == "." || id == ".." { return "\"\(id)\" is a path step, not a task id" }
        if id.utf8.count > maxBytes { return "a task id of \(id.utf8.count) bytes is longer than \(maxBytes)" }
        if id.unicodeScalars.contains(where: { $0 == "/" || $0 == "\\" || $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "a task id cannot contain '/', '\\', white space or control characters"
        }
        return nil
    }

    /// `id`, checked: throws ``ClientError`` `.invalidRequest` naming the rule.
    static func checked(_ id: String) throws -> String {
        if let problem = problem(id) { throw ClientError(.invalidRequest, "task id \(printable(id)): \(problem)") }
        return id
    }

    /// `id` as one percent-encoded path segment (only RFC 3986 unreserved characters stay as they are).
    static func pathSegment(_ id: String) -> String {
        var out = ""
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// The id quoted for a message, control characters escaped.
    static func printable(_ id: String) -> String {
        var out = "\""
        for scalar in id.unicodeScalars.prefix(80) {
            if scalar.value < 0x20 || scalar.value == 0x7F { out += "\\u{\(String(scalar.value, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
        }
        return out + (id.unicodeScalars.count > 80 ? "…\"" : "\"")
    }
}
