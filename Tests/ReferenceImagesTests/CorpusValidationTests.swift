import Foundation
import ImageCodecs
import ReferenceImages
import Testing

/// Every file of the shared corpus gets the verdict `corpus.tsv` gives it.
@Suite("Corpus verdicts")
struct CorpusValidationTests {
    static let validator = ReferenceImageValidator()

    @Test("the corpus table is present and complete")
    func tableLoads() {
        #expect(CorpusRow.all.count >= 316)
    }

    /// valid: no violation. invalid-constraint: only size/dimension/ratio rules. invalid-decode: the
    /// format is refused, the header is refused for its pixel count, or the stream does not decode.
    @Test("verdict matches corpus.tsv", arguments: CorpusRow.all)
    func verdict(_ row: CorpusRow) throws {
        let report = Self.validator.validate(fileAt: row.url.path)
        let rules = Set(report.rules)
        let decodeRules: Set<ValidationRule> = [.unsupportedFormat, .corrupt, .tooManyPixels]
        let constraintRules: Set<ValidationRule> = [.fileSize, .minDimension, .aspectRatio]
        let detail = report.violations.map { "\($0.rule.rawValue): \($0.message)" }.joined(separator: "; ")
        switch row.expected {
        case "valid":
            #expect(report.isValid, "\(row.path): \(detail)")
        case "invalid-constraint":
            #expect(!rules.isEmpty && rules.isSubset(of: constraintRules), "\(row.path): \(detail)")
        case "invalid-decode":
            #expect(!rules.isDisjoint(with: decodeRules), "\(row.path): \(detail)")
        default:
            Issue.record("unknown verdict \(row.expected) for \(row.path)")
        }
        // The format is judged by content, as the table's format column is.
        let expectedFormat: ImageFormat? = row.format == "jpeg" ? .jpeg : row.format == "png" ? .png : nil
        #expect(report.format == expectedFormat, "\(row.path)")
        // Stored dimensions agree with the table wherever the header is readable and sane.
        if let w = report.width, let h = report.height, let tw = row.width, let th = row.height {
            #expect(w == tw && h == th, "\(row.path): \(w)x\(h) vs table \(tw)x\(th)")
        }
        if row.expected != "invalid-decode" {
            #expect(report.width == row.width && report.height == row.height, "\(row.path)")
            if let orientation = row.exifOrientation {
                #expect(report.orientation == orientation, "\(row.path): orientation \(report.orientation)")
            }
        }
        // Every violation names a measured value: a message is never empty.
        #expect(report.violations.allSatisfy { !$0.message.isEmpty })
    }

    @Test("every violation is listed, not just the first")
    func everyViolation() throws {
        // 300x64: height below 300 and ratio 4.69; with a 1 KiB size limit it also breaks file-size.
        let path = CorpusRow.root.appendingPathComponent("png/pillow_standard_embedded.png").path
        let report = ReferenceImageValidator(rules: UploadRules(maxBytes: 1024)).validate(fileAt: path)
        #expect(report.rules == [.fileSize, .minDimension, .aspectRatio])
        #expect(report.violations[0].message.contains("2,871") && report.violations[0].message.contains("1,024"))
        #expect(report.violations[1].message.contains("64") && report.violations[1].message.contains("300"))
        #expect(report.violations[2].message.contains("4.688:1"))
    }

    @Test("aspect band is inclusive at exactly 2.5:1 and 1:2.5")
    func aspectBoundary() {
        let rules = UploadRules()
        #expect(rules.aspectRatioAllowed(width: 750, height: 300))
        #expect(rules.aspectRatioAllowed(width: 300, height: 750))
        #expect(!rules.aspectRatioAllowed(width: 751, height: 300))
        #expect(!rules.aspectRatioAllowed(width: 300, height: 751))
    }

    @Test("a truncated valid JPEG is refused as corrupt")
    func truncatedJPEG() throws {
        let bytes = try [UInt8](Data(contentsOf: CorpusRow.root.appendingPathComponent("jpeg/jpegdec_progressive3.jpg")))
        #expect(Self.validator.validate(bytes: bytes, name: "whole").isValid)
        let cut = Array(bytes.prefix(bytes.count * 2 / 3))
        let report = Self.validator.validate(bytes: cut, name: "cut")
        #expect(report.rules == [.corrupt])
        #expect(report.violations.first?.message.contains("Premature end of JPEG file") == true)
    }

    @Test("pixel limit is enforced from the header without decoding")
    func pixelLimit() throws {
        let path = CorpusRow.root.appendingPathComponent("exif-orientation/Landscape_1.jpg").path
        let report = ReferenceImageValidator(rules: UploadRules(maxPixels: 1_000_000)).validate(fileAt: path)
        #expect(report.rules == [.tooManyPixels])
        #expect(report.violations[0].message.contains("2,160,000"))
    }

    @Test("a huge file is read only in part: header rules and file-size reported, decode not attempted")
    func hugeFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-huge-\(UUID().uuidString).jpg")
        defer { try? FileManager.default.removeItem(at: url) }
        let head = try [UInt8](Data(contentsOf: CorpusRow.root.appendingPathComponent("exif-orientation/Landscape_1.jpg")))
        try Data(head).write(to: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 80 << 20)   // sparse: 80 MiB without writing them
        try handle.close()
        let report = Self.validator.validate(fileAt: url.path)
        #expect(report.bytes == 80 << 20)
        #expect(report.rules == [.fileSize])
        #expect(report.width == 1800 && report.height == 1200)
        #expect(report.violations[0].message.contains("83,886,080"))
    }

    @Test("a missing file is reported, not thrown")
    func missingFile() {
        let report = Self.validator.validate(fileAt: "/nonexistent/klingkit.jpg")
        #expect(report.rules == [.unreadable])
        #expect(report.violations[0].message.contains("No such file or directory"), "\(report.violations[0].message)")
    }
}
