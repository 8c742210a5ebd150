import Foundation
import ImageCodecs
import KlingSupport
import ImageCore

/// One upload rule, named as `klingkit check --json` prints it.
public enum ValidationRule: String, Sendable, Codable, CaseIterable {
    /// The bytes are not JPEG or PNG (judged by content), or a JPEG variant that cannot be decoded
    /// with 8-bit samples (12-bit, lossless).
    case unsupportedFormat = "unsupported-format"
    /// The file is larger than ``UploadRules/maxBytes``.
    case fileSize = "file-size"
    /// Width or height is below ``UploadRules/minSide``.
    case minDimension = "min-dimension"
    /// The aspect ratio is outside 1:``UploadRules/maxAspect`` ... ``UploadRules/maxAspect``:1.
    case aspectRatio = "aspect-ratio"
    /// The stream does not decode completely (truncated, damaged data, bad header).
    case corrupt
    /// The header declares more than ``UploadRules/maxPixels`` pixels; the file is not decoded.
    case tooManyPixels = "too-many-pixels"
    /// The file cannot be read at all: missing, not permitted, or not a regular file (a directory,
    /// a device). Nothing about the image is known.
    case unreadable
}

/// A broken rule with the measured value and the limit in ``message``.
public struct Violation: Sendable, Equatable {
    public var rule: ValidationRule
    public var message: String
    public init(rule: ValidationRule, message: String) {
        self.rule = rule
        self.message = message
    }
}

/// The outcome of validating one image: what was measured and **every** rule it breaks.
public struct ValidationReport: Sendable {
    /// The file name or label the caller gave.
    public var name: String
    /// The format found by content, `nil` when neither JPEG nor PNG.
    public var format: ImageFormat?
    /// Stored width in pixels (before EXIF orientation), `nil` when the header is unreadable.
    public var width: Int?
    /// Stored height in pixels (before EXIF orientation), `nil` when the header is unreadable.
    public var height: Int?
    /// The file size in bytes.
    public var bytes: Int
    /// EXIF orientation 1...8 (1 when absent). The ratio band is symmetric, so it never changes the verdict.
    public var orientation: Int
    /// Every broken rule, in the order: format, size, pixels, dimensions, ratio, decode.
    public var violations: [Violation]
    /// The full header when it could be read.
    public var header: ImageHeader?
    /// A HEIF/HEIC, AVIF or WebP file's header: the API refuses it (`unsupported-format`), `prepare` converts it.
    public var convertible: ConvertibleHeader? = nil
    /// Facts that break no rule but are worth saying (an animated PNG, whose default image is what counts).
    public var notes: [String] = []

    public init(name: String, format: ImageFormat? = nil, width: Int? = nil, height: Int? = nil, bytes: Int,
                orientation: Int = 1, violations: [Violation] = [], header: ImageHeader? = nil) {
        self.name = name
        self.format = format
        self.width = width
        self.height = height
        self.bytes = bytes
        self.orientation = orientation
        self.violations = violations
        self.header = header
    }

    /// True when no rule is broken.
    public var isValid: Bool { violations.isEmpty }
    /// The rules broken, in report order.
    public var rules: [ValidationRule] { violations.map(\.rule) }
}

/// Checks images against ``UploadRules`` and proves they decode.
///
/// Validation is not an error: ``validate(bytes:name:)`` never throws and lists every violation with
/// the measured value and the limit. Decodability is proven cheaply with ``ImageCodec/verify(_:options:)``
/// (JPEG at 1/8 scale, which still reads every entropy-coded byte; PNG row by row through IEND).
public struct ReferenceImageValidator: Sendable {
    /// The rules applied.
    public var rules: UploadRules

    public init(rules: UploadRules = .init()) {
        self.rules = rules
    }

    /// Validates encoded bytes. `name` only labels the report.
    public func validate(bytes: [UInt8], name: String) -> ValidationReport {
        validate(bytes: bytes, name: name, totalBytes: bytes.count, complete: true)
    }

    /// Every rule but decodability: format, size, pixels, dimensions and ratio, from the header alone.
    ///
    /// For a caller whose own decode proves the rest: a ``ReferenceImagePreparer/prepare(bytes:name:)``
    /// that succeeds has decoded (or, for a copy, verified) every byte of the same file, so this report
    /// is then the one ``validate(bytes:name:)`` gives, for one decode instead of two. A prepare that
    /// fails says why itself (`corrupt`, `unsupported-format`).
    public func validateHeader(bytes: [UInt8], name: String) -> ValidationReport {
        validate(bytes: bytes, name: name, totalBytes: bytes.count, complete: false)
    }

    /// Reads and validates the file at `path`.
    ///
    /// Reading is bounded: a file larger than max(4 × ``UploadRules/maxBytes``, 64 MiB) already fails
    /// `file-size`; only its first 4 MiB are read to report the header rules, and its decode is not proven.
    /// A file that cannot be read is reported as `corrupt` with the system's reason.
    public func validate(fileAt path: String) -> ValidationReport {
        let limit = max(rules.maxBytes.multipliedReportingOverflow(by: 4).partialValue, 64 << 20)
        do {
            let (bytes, total) = try BoundedFileReader.read(path: path, limit: limit, headBytes: 4 << 20)
            return validate(bytes: bytes, name: path, totalBytes: total, complete: bytes.count == total)
        } catch {
            return ValidationReport(name: path, bytes: 0, violations: [
                Violation(rule: .unreadable, message: "cannot read the file: \(error)"),
            ])
        }
    }

    func validate(bytes: [UInt8], name: String, totalBytes: Int, complete: Bool) -> ValidationReport {
        var report = ValidationReport(name: name, bytes: totalBytes)
        if totalBytes > rules.maxBytes {
            report.violations.append(Violation(rule: .fileSize, message:
                "\(grouped(totalBytes)) bytes is more than the limit of \(grouped(rules.maxBytes)) bytes"))
        }
        guard let format = ImageCodec.sniff(bytes) else {
            if let convertible = ImageCodec.sniffConvertible(bytes) {
                return convertibleReport(report, bytes: bytes, format: convertible, complete: complete)
            }
            let reason: String
            do {
                _ = try ImageCodec.probe(bytes)
                reason = "not a JPEG or PNG"
            } catch let error as CodecError {
                reason = error.message
            } catch {
                reason = "\(error)"
            }
            report.violations.insert(Violation(rule: .unsupportedFormat, message: reason), at: 0)
            return report
        }
        report.format = format
        let header: ImageHeader
        do {
            header = try ImageCodec.probe(bytes, options: DecodeOptions(maxPixels: .max))
        } catch let error as CodecError {
            report.violations.append(Violation(rule: .corrupt, message: "unreadable \(format) header: \(error.message)"))
            return report
        } catch {
            report.violations.append(Violation(rule: .corrupt, message: "unreadable \(format) header: \(error)"))
            return report
        }
        report.header = header
        report.width = header.width
        report.height = header.height
        report.orientation = header.orientation
        if format == .png, let animation = ImageCodec.pngAnimation(bytes) {
            report.notes.append("animated PNG (\(animation.frames) frames): the API sees its default image; prepare writes it as a still")
        }

        let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        let tooMany = overflow || pixels > rules.maxPixels
        if tooMany {
            report.violations.append(Violation(rule: .tooManyPixels, message:
                "\(header.width)x\(header.height) is \(overflow ? "too many" : grouped(pixels)) pixels, more than the limit of \(grouped(rules.maxPixels)); not decoded"))
        }
        if header.width < rules.minSide {
            report.violations.append(Violation(rule: .minDimension, message:
                "width \(header.width) px is below the minimum of \(rules.minSide) px"))
        }
        if header.height < rules.minSide {
            report.violations.append(Violation(rule: .minDimension, message:
                "height \(header.height) px is below the minimum of \(rules.minSide) px"))
        }
        if !rules.aspectRatioAllowed(width: header.width, height: header.height) {
            let ratio = Double(header.width) / Double(header.height)
            let shown = ratio >= 1 ? "\(formatRatio(ratio)):1" : "1:\(formatRatio(1 / ratio))"
            report.violations.append(Violation(rule: .aspectRatio, message:
                "aspect ratio \(shown) (\(header.width)x\(header.height)) is outside \(rules.aspectBand)"))
        }
        guard !tooMany, complete else { return report }
        do {
            try ImageCodec.verify(bytes, options: DecodeOptions(maxPixels: rules.maxPixels))
        } catch let error as CodecError {
            if error.code == .unsupported {
                report.violations.insert(Violation(rule: .unsupportedFormat, message:
                    "\(format == .jpeg ? "JPEG" : "PNG") variant that cannot be decoded: \(error.message)"), at: 0)
            } else if error.code == .tooManyPixels {
                report.violations.append(Violation(rule: .tooManyPixels, message: error.message))
            } else {
                report.violations.append(Violation(rule: .corrupt, message: "does not decode: \(error.message)"))
            }
        } catch {
            report.violations.append(Violation(rule: .corrupt, message: "does not decode: \(error)"))
        }
        return report
    }
}

/// Reads a whole file, or only its head when it is larger than `limit`.
enum BoundedFileReader {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    static func read(path: String, limit: Int, headBytes: Int) throws -> (bytes: [UInt8], total: Int) {
        do {
            let file = try InputFile(path: path)
            let total = file.size
            let wanted = total > limit ? min(headBytes, total) : total
            let bytes = try file.read(from: 0, count: wanted)
            return (bytes, bytes.count < wanted ? bytes.count : total)
        } catch {
            throw ReadError(description: error.message)
        }
    }
}
