import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore

/// One uploaded file: its name (the form's `filename`, else the field name, else `upload`) and bytes.
struct UploadedFile: Sendable {
    var name: String
    var bytes: [UInt8]
}

/// Reads a request body into files, within the limits, before any image work:
/// a raw body (`image/*`, `application/octet-stream`, curl's default `application/x-www-form-urlencoded`
/// or no `Content-Type`) is one file (judged by its content, never by the type); a
/// `multipart/form-data` body holds one file per part that has a `filename` (other fields are ignored).
///
/// The body cap is enforced twice: a `Content-Length` over it is refused before reading anything, and
/// bytes are counted while they stream (a chunked body), refused the moment they pass it. Multipart is
/// parsed as it arrives (multipart-kit's streaming parser), so a malformed form is refused early too.
/// The bytes held count against the service's ``BodyBudget`` through the request's lease, taken whole
/// for a declared length before reading, else chunk by chunk.
struct UploadReader {
    var maxBodyBytes: Int
    var maxFiles: Int
    /// The `Retry-After` of a `buffered-bytes` 503.
    var retryAfterSeconds: Int

    /// The body's files.
    /// - Parameters:
    ///   - lease: the request's share of the body budget; grown to the bytes held.
    ///   - bytesRead: called with the number of body bytes read (for the metrics), also on refusal.
    /// - Throws: ``ServiceRefusal``: 413 over the cap or over ``maxFiles``; 503 `buffered-bytes` when the
    ///   budget has no room; 415 for another media type; 400 for a malformed or empty form, or an empty body.
    func files(of request: Request, holding lease: BodyBudget.Lease, bytesRead: (Int) -> Void) async throws -> [UploadedFile] {
        let kind = try Self.kind(of: request.headers[.contentType])
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared {
            if declared > maxBodyBytes { throw tooLarge("the body's Content-Length of \(declared) bytes") }
            guard lease.grow(to: declared) else { throw noRoom(declared, lease) }
        }
        var total = 0
        defer { bytesRead(total) }
        do {
            return try await read(request, kind: kind, declared: declared, total: &total, lease: lease)
        } catch let refusal as ServiceRefusal {
            throw refusal
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The client closed or broke the stream mid-body (a read timeout, a dropped upload).
            throw ServiceRefusal(.badRequest, rule: "body", "the request body ended early or could not be read (\(total) bytes arrived)",
                                 closesConnection: true)
        }
    }

    private func read(_ request: Request, kind: Kind, declared: Int?, total: inout Int, lease: BodyBudget.Lease) async throws -> [UploadedFile] {
        switch kind {
        case .raw:
            // Straight into the array the codecs read, sized from Content-Length (already within the
            // cap and the lease): one copy of the body, no regrowth.
            var collected: [UInt8] = []
            if let declared { collected.reserveCapacity(declared) }
            for try await chunk in request.body {
                try count(chunk, into: &total, lease: lease)
                collected.append(contentsOf: chunk.readableBytesView)
            }
            try Task.checkCancellation()
            guard !collected.isEmpty else {
                throw ServiceRefusal(.badRequest, rule: "empty-body", "the request body is empty; send the image as the body or as multipart/form-data")
            }
            let name = request.uri.queryParameters.get("name") ?? "upload"
            return [UploadedFile(name: name, bytes: collected)]
        case .multipart(let boundary):
            let form = FormCollector(boundary: boundary, maxFiles: maxFiles)
            for try await chunk in request.body {
                try count(chunk, into: &total, lease: lease)
                try form.feed(chunk)
            }
            try Task.checkCancellation()
            return try form.finish()
        }
    }

    /// Adds an arrived chunk to `total`, refusing past the body cap or the budget of bodies held.
    private func count(_ chunk: ByteBuffer, into total: inout Int, lease: BodyBudget.Lease) throws {
        total += chunk.readableBytes
        if total > maxBodyBytes { throw tooLarge("the body (\(total) bytes read so far)") }
        guard lease.grow(to: total) else { throw noRoom(total, lease) }
    }

    private func noRoom(_ bytes: Int, _ lease: BodyBudget.Lease) -> ServiceRefusal {
        ServiceRefusal(.overloaded, rule: "buffered-bytes",
                       "the request bodies held now (\(lease.heldByAll) bytes) leave no room for this one's \(bytes) bytes within the limit of \(lease.limit) bytes held at once; retry in \(retryAfterSeconds) s",
                       retryAfterSeconds: retryAfterSeconds, closesConnection: true)
    }

    private func tooLarge(_ what: String) -> ServiceRefusal {
        ServiceRefusal(.payloadTooLarge, rule: "max-body-bytes", "\(what) is more than the limit of \(maxBodyBytes) bytes",
                       closesConnection: true)
    }

    enum Kind: Equatable { case raw, multipart(boundary: String) }

    /// Which body shape a `Content-Type` announces.
    static func kind(of contentType: String?) throws -> Kind {
        guard let contentType, !contentType.trimmingCharacters(in: .whitespaces).isEmpty else { return .raw }
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        let type = parts[0].lowercased()
        if type == "multipart/form-data" {
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
                var value = pair[1].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                guard (1...200).contains(value.utf8.count) else { break }
                return .multipart(boundary: value)
            }
            throw ServiceRefusal(.badRequest, rule: "multipart", "multipart/form-data without a usable boundary parameter", closesConnection: true)
        }
        // curl's default for --data-binary is application/x-www-form-urlencoded: bytes all the same.
        if type.hasPrefix("image/") || type == "application/octet-stream" || type == "application/x-www-form-urlencoded" { return .raw }
        throw ServiceRefusal(.unsupportedMediaType, rule: "content-type",
                             "Content-Type \(parts[0]) is not accepted; send image/*, application/octet-stream or multipart/form-data",
                             closesConnection: true)
    }
}

/// Collects the file parts of a `multipart/form-data` body as it streams through multipart-kit's parser.
private final class FormCollector {
    private let parser: MultipartParser
    private let maxFiles: Int
    private var files: [UploadedFile] = []
    private var headers: [(String, String)] = []
    private var body: [UInt8] = []
    private var inPart = false
    private var parts = 0
    private var refusal: ServiceRefusal?

    init(boundary: String, maxFiles: Int) {
        parser = MultipartParser(boundary: boundary)
        self.maxFiles = maxFiles
        parser.onHeader = { [unowned self] name, value in
            inPart = true
            headers.append((name, value))
        }
        parser.onBody = { [unowned self] buffer in
            inPart = true
            body.append(contentsOf: buffer.readableBytesView)
        }
        parser.onPartComplete = { [unowned self] in
            partComplete()
        }
    }

    func feed(_ chunk: ByteBuffer) throws {
        do {
            try parser.execute(chunk)
        } catch {
            throw ServiceRefusal(.badRequest, rule: "multipart", "malformed multipart/form-data body (part \(parts + 1)): bad part header syntax",
                                 closesConnection: true)
        }
        if let refusal { throw refusal }
    }

    func finish() throws -> [UploadedFile] {
        if inPart {
            throw ServiceRefusal(.badRequest, rule: "multipart", "malformed multipart/form-data body: part \(parts + 1) is not closed by the boundary (truncated?)")
        }
        if parts == 0 {
            throw ServiceRefusal(.badRequest, rule: "multipart", "malformed multipart/form-data body: no part found (does the boundary match?)")
        }
        if files.isEmpty {
            throw ServiceRefusal(.badRequest, rule: "multipart", "the form has \(parts) part(s) but none is a file (a part with a filename)")
        }
        return files
    }

    private func partComplete() {
        parts += 1
        defer {
            headers = []
            body = []
            inPart = false
        }
        guard refusal == nil else { return }
        let disposition = headers.first { $0.0.lowercased() == "content-disposition" }?.1 ?? ""
        let parameters = Self.parameters(disposition)
        guard let filename = parameters["filename"] else { return }
        if files.count == maxFiles {
            refusal = ServiceRefusal(.payloadTooLarge, rule: "max-files", "the form holds more than the limit of \(maxFiles) files",
                                     closesConnection: true)
            return
        }
        let name = filename.isEmpty ? (parameters["name"] ?? "part \(parts)") : filename
        files.append(UploadedFile(name: name, bytes: body))
    }

    /// `form-data; name="file"; filename="a.jpg"` → `["name": "file", "filename": "a.jpg"]`.
    static func parameters(_ header: String) -> [String: String] {
        var result: [String: String] = [:]
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            result[pair[0].lowercased()] = value.replacingOccurrences(of: "\\\"", with: "\"")
        }
        return result
    }
}
