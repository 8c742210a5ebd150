import AsyncHTTPClient
import FastBase64
import Foundation
import ImageCodecs
import ImageCore
import KlingModels
import NIOCore
import NIOPosix
import ReferenceImages

/// Checks the content of every image field of a request with the project's own codecs and upload rules
/// (kling-api.md §4), and keeps a small copy of each valid image for the result renderer.
struct ReferenceIntake: Sendable {
    /// Longest side of the kept copy, in pixels.
    static let thumbnailSide = 256

    var validator: ReferenceImageValidator
    /// Where the decoding, validating and shrinking run.
    let pool: NIOThreadPool

    init(maxImageBytes: Int, pool: NIOThreadPool) {
        self.pool = pool
        var rules = UploadRules()
        rules.maxBytes = maxImageBytes
        validator = ReferenceImageValidator(rules: rules)
    }

    struct Outcome: Sendable {
        var violations: [FieldViolation] = []
        /// One JPEG thumbnail per image field that passed. Image URLs on a loopback host (127.0.0.0/8,
        /// `localhost`, `[::1]`) are fetched and checked like base64; other URLs are accepted unchecked,
        /// because the emulator never reaches beyond the machine.
        var thumbnails: [[UInt8]] = []
    }

    /// Checks the given `(field, value)` pairs, whose string form has already passed
    /// ``RequestRules/checkImageString(_:field:)``. The images of `faceFields` (a face reference) must
    /// also show exactly one face (``FaceCount``), as the service requires.
    func check(_ fields: [(field: String, value: String)], faceFields: Set<String> = []) async -> Outcome {
        var outcome = Outcome()
        for (field, value) in fields {
            let lower = value.prefix(8).lowercased()
            let fetched: [UInt8]?
            if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
                guard let url = URL(string: value), Self.isLoopback(url.host) else { continue }
                switch await fetch(url) {
                case .success(let bytes): fetched = bytes
                case .failure(let reason):
                    outcome.violations.append(.init(field: field, rule: .url, message: "\(field): the image URL cannot be fetched (\(reason.message))"))
                    continue
                }
            } else {
                fetched = nil
            }
            // Decoding base64, validating and shrinking are CPU work: the emulator's own pool, never
            // the cooperative pool that answers HTTP.
            let validator = self.validator
            let checked = try? await pool.runIfActive { () -> Checked in
                Self.check(field: field, base64: fetched == nil ? value : nil, bytes: fetched, validator: validator,
                           needsOneFace: faceFields.contains(field))
            }
            guard let checked else { continue }
            outcome.violations += checked.violations
            if let thumbnail = checked.thumbnail { outcome.thumbnails.append(thumbnail) }
        }
        return outcome
    }

    /// One image field's findings: its violations, or its thumbnail when it passed.
    struct Checked: Sendable {
        var violations: [FieldViolation] = []
        var thumbnail: [UInt8]?
    }

    /// Decodes (`base64`, else `bytes`), validates and shrinks one image. Synchronous CPU work.
    static func check(field: String, base64: String?, bytes: [UInt8]?, validator: ReferenceImageValidator,
                      needsOneFace: Bool = false) -> Checked {
        var checked = Checked()
        let image: [UInt8]
        if let base64 {
            do {
                image = try Base64.decode(Array(base64.utf8))
            } catch {
                checked.violations.append(.init(field: field, rule: .imageEncoding, message: "\(field): base64 does not decode (\(error))"))
                return checked
            }
        } else {
            image = bytes ?? []
        }
        let report = validator.validate(bytes: image, name: field)
        guard report.isValid else {
            for violation in report.violations {
                checked.violations.append(.init(
                    field: field, rule: FieldViolation.Rule(rawValue: violation.rule.rawValue),
                    message: "\(field): \(violation.rule.rawValue): \(violation.message)"))
            }
            return checked
        }
        if needsOneFace {
            let count = FaceCount(imageBytes: image, maxPixels: validator.rules.maxPixels)
            if !count.isSingle {
                let found = count.error.map { "the faces cannot be counted (\($0))" } ?? "found \(count.faces.count)"
                checked.violations.append(.init(field: field, rule: .faceCount,
                                                message: "\(field): image_reference=face needs exactly one face; \(found)"))
                return checked
            }
        }
        if let thumbnail = thumbnail(of: image),
           let encoded = try? ImageCodec.encodeJPEG(thumbnail, options: JPEGEncodeOptions(quality: 90, subsampling: .s444)) {
            checked.thumbnail = encoded.bytes
        }
        return checked
    }

    struct FetchFailure: Error { var message: String }

    /// Whether `host` names this machine (the only hosts the emulator will fetch from).
    static func isLoopback(_ host: String?) -> Bool {
        guard let host = host?.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]")) else { return false }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// GETs an image URL with a 10 s timeout, refusing bodies over twice the image byte limit
    /// (without reading further than that).
    func fetch(_ url: URL) async -> Result<[UInt8], FetchFailure> {
        let limit = validator.rules.maxBytes * 2
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else { return .failure(FetchFailure(message: "HTTP \(status)")) }
            if let declared = response.headers.first(name: "Content-Length").flatMap(Int.init), declared > limit {
                return .failure(FetchFailure(message: "\(declared) bytes is far over the \(validator.rules.maxBytes)-byte limit"))
            }
            let body = try await response.body.collect(upTo: limit)
            return .success(Array(body.readableBytesView))
        } catch is NIOTooManyBytesError {
            return .failure(FetchFailure(message: "more than \(limit) bytes is far over the \(validator.rules.maxBytes)-byte limit"))
        } catch {
            return .failure(FetchFailure(message: "\(error)"))
        }
    }

    /// A small upright RGB copy of an encoded image; `nil` if it does not decode (already refused then).
    static func thumbnail(of bytes: [UInt8]) -> Image? {
        guard let header = try? ImageCodec.probe(bytes) else { return nil }
        var options = DecodeOptions()
        if header.format == .jpeg {
            // Decode at 1/2, 1/4 or 1/8 in the DCT domain when the image stays above the thumbnail size.
            let short = min(header.width, header.height)
            for scale in [8, 4, 2] where short / scale >= thumbnailSide {
                options.jpegScale = scale
                break
            }
        }
        guard let decoded = try? ImageCodec.decode(bytes, options: options) else { return nil }
        let upright = decoded.image.oriented(exif: decoded.header.orientation).converted(to: .rgb)
        let fit = ResultRenderer.fitted(upright.width, upright.height, into: min(thumbnailSide, max(upright.width, upright.height)))
        if fit.width == upright.width && fit.height == upright.height { return upright }
        return upright.resized(to: Size(width: fit.width, height: fit.height))
    }
}
