import Foundation
import KlingModels

/// One value of a batch line as written: JSON's types, or text (a CSV cell, a `--set` value) that is
/// read as whatever the field needs.
enum FieldValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case text(String)
    case list([FieldValue])
    case object([String: FieldValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let l = try? c.decode([FieldValue].self) { self = .list(l) }
        else { self = .object(try c.decode([String: FieldValue].self)) }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string, .text: "a string"
        case .list: "a list"
        case .object: "an object"
        }
    }
}

/// How a line's keys map onto ``BatchSpec``: the API's body names and `generate`'s flag names both
/// work, case-insensitively, `-` and `_` alike.
enum BatchFieldNames {
    /// Canonical field for a key as written, or `nil` when the key is unknown.
    static func canonical(_ key: String) -> String? {
        let k = key.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "-", with: "_")
        switch k {
        case "id", "prompt", "negative_prompt", "image", "image_reference", "image_fidelity", "human_fidelity",
             "n", "aspect_ratio", "resolution", "watermark", "scene", "style":
            return k
        case "model", "model_name": return "model"
        case "element_id", "element_ids", "element_list": return "element_ids"
        case "watermark_info": return "watermark"
        case "subject", "subjects", "subject_image_list": return "subjects"
        case "scene_image", "scence_image": return "scene"
        case "style_image": return "style"
        case "external_task_id", "callback_url", "callback": return k   // known, refused with a reason
        default: return nil
        }
    }

    /// Every key a line may carry, for the unknown-field message.
    static let documented = "id, prompt, negative_prompt, image, image_reference, image_fidelity, human_fidelity, element_ids, model, n, aspect_ratio, resolution, watermark, subjects, scene, style"
}

/// Writes `value` into `spec` under the canonical field `field`.
/// - Returns: the rule broken, one line, or `nil`.
func assign(_ field: String, _ value: FieldValue, to spec: inout BatchSpec, id: inout String?) -> String? {
    if case .null = value { return nil }   // JSON null: the same as leaving the field out
    if case .text(let t) = value, t.trimmingCharacters(in: .whitespaces).isEmpty { return nil }   // empty cell
    switch field {
    case "id":
        switch value {
        case .string(let s), .text(let s): id = s.trimmingCharacters(in: .whitespaces)
        case .integer(let i): id = String(i)
        default: return "must be a string or an integer, not \(value.typeName)"
        }
    case "prompt": return string(value).map { spec.prompt = $0; return nil } ?? "must be a string, not \(value.typeName)"
    case "negative_prompt": return string(value).map { spec.negativePrompt = $0; return nil } ?? "must be a string, not \(value.typeName)"
    case "image": return string(value).map { spec.image = $0; return nil } ?? "must be a file path or an http(s) URL (a string), not \(value.typeName)"
    case "image_reference": return string(value).map { spec.imageReference = $0; return nil } ?? "must be subject or face, not \(value.typeName)"
    case "model": return string(value).map { spec.model = $0; return nil } ?? "must be a model name (a string), not \(value.typeName)"
    case "aspect_ratio": return string(value).map { spec.aspectRatio = $0; return nil } ?? "must be a string such as 16:9, not \(value.typeName)"
    case "resolution": return string(value).map { spec.resolution = $0; return nil } ?? "must be 1k or 2k, not \(value.typeName)"
    case "scene": return string(value).map { spec.scene = $0; return nil } ?? "must be a file path or an http(s) URL, not \(value.typeName)"
    case "style": return string(value).map { spec.style = $0; return nil } ?? "must be a file path or an http(s) URL, not \(value.typeName)"
    case "image_fidelity": return number(value).map { spec.imageFidelity = $0; return nil } ?? "must be a number in 0...1, not \(describe(value))"
    case "human_fidelity": return number(value).map { spec.humanFidelity = $0; return nil } ?? "must be a number in 0...1, not \(describe(value))"
    case "n":
        switch value {
        case .integer(let i) where i >= Int64(Int32.min) && i <= Int64(Int32.max): spec.n = Int(i)
        case .text(let t) where Int(t.trimmingCharacters(in: .whitespaces)) != nil: spec.n = Int(t.trimmingCharacters(in: .whitespaces))!
        default: return "must be an integer in 1...9, not \(describe(value))"
        }
    case "watermark":
        switch value {
        case .bool(let b): spec.watermark = b
        case .object(let o):
            guard case .bool(let b)? = o["enabled"] else { return "watermark_info must be {\"enabled\": true|false}" }
            spec.watermark = b
        case .text(let t):
            switch t.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes", "1": spec.watermark = true
            case "false", "no", "0": spec.watermark = false
            default: return "must be true or false, not \"\(t)\""
            }
        default: return "must be true or false, not \(value.typeName)"
        }
    case "element_ids":
        var ids: [Int64] = []
        for item in items(value) {
            switch item {
            case .integer(let i): ids.append(i)
            case .string(let s), .text(let s):
                guard let i = Int64(s.trimmingCharacters(in: .whitespaces)) else { return "element ids must be integers (up to 2^63-1), not \"\(s)\"" }
                ids.append(i)
            case .object(let o):
                switch o["element_id"] {
                case .integer(let i)?: ids.append(i)
                case .string(let s)? where Int64(s) != nil: ids.append(Int64(s)!)
                default: return "element_list entries must be {\"element_id\": INTEGER}"
                }
            default: return "element ids must be integers, not \(item.typeName)"
            }
        }
        spec.elementIDs = ids
    case "subjects":
        var list: [String] = []
        for item in items(value) {
            switch item {
            case .string(let s), .text(let s): list.append(s)
            case .object(let o):
                guard case .string(let s)? = o["subject_image"] else { return "subject_image_list entries must be {\"subject_image\": PATH_OR_URL}" }
                list.append(s)
            default: return "subjects must be file paths or http(s) URLs, not \(item.typeName)"
            }
        }
        spec.subjects = list
    case "external_task_id":
        return "is derived from the batch and the line's id (give the line an \"id\" instead)"
    case "callback_url", "callback":
        return "is set for the whole batch by `batch run --callback-url`, not per line"
    default:
        return "unknown field (known: \(BatchFieldNames.documented))"
    }
    return nil
}

private func string(_ v: FieldValue) -> String? {
    switch v {
    case .string(let s), .text(let s): s
    default: nil
    }
}

private func number(_ v: FieldValue) -> Double? {
    switch v {
    case .integer(let i): Double(i)
    case .number(let d): d
    case .text(let t): Double(t.trimmingCharacters(in: .whitespaces))
    default: nil
    }
}

private func describe(_ v: FieldValue) -> String {
    switch v {
    case .text(let t), .string(let t): "\"\(t.prefix(40))\""
    case .integer(let i): String(i)
    case .number(let d): String(d)
    default: v.typeName
    }
}

/// A list as written: a JSON array, or text split on `|` (CSV cells and `--set` values).
private func items(_ v: FieldValue) -> [FieldValue] {
    switch v {
    case .list(let l): l
    case .text(let t): t.split(separator: "|").map { .text(String($0).trimmingCharacters(in: .whitespaces)) }.filter {
        if case .text(let s) = $0 { return !s.isEmpty } else { return true } }
    default: [v]
    }
}
