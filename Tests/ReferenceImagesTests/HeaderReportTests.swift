import Foundation
import KlingKitTestSupport
import ReferenceImages
import Testing

/// `validateHeader` plus a successful prepare must say what `validate` says: the service's prepare
/// route answers its report that way, so a prepare that succeeds on a file `validate` finds corrupt
/// would put a wrong verdict in the sidecar.
@Suite("validateHeader: a successful prepare proves what validate's decode pass proves")
struct HeaderReportTests {
    /// Every corpus file, every sample and every format fixture (HEIF, AVIF, WebP, animated PNG).
    static let inputs: [String] = {
        let root = TestCorpus.packageRoot
        var paths = CorpusRow.all.map(\.url.path)
        for folder in ["samples", "Tests/Fixtures/formats"] {
            let url = root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            paths += names.sorted().filter { !$0.hasSuffix(".py") && !$0.hasSuffix(".md") && !$0.hasSuffix(".jsonl") }
                .map { url.appendingPathComponent($0).path }
                .filter { var folder: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &folder) && !folder.boolValue }
        }
        return paths
    }()

    @Test("the inputs are there")
    func inputsPresent() {
        #expect(Self.inputs.count >= 316 + 6 + 20, "\(Self.inputs.count)")
    }

    @Test("prepare succeeds → validateHeader == validate; prepare fails for decoding → validate names a decode rule",
          arguments: inputs)
    func sameReport(_ path: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let name = URL(fileURLWithPath: path).lastPathComponent
        let validator = ReferenceImageValidator()
        let full = validator.validate(bytes: bytes, name: name)
        do {
            _ = try ReferenceImagePreparer().prepare(bytes: bytes, name: name)
            let header = validator.validateHeader(bytes: bytes, name: name)
            #expect(header.checkJSON().text == full.checkJSON().text, "\(path)")
        } catch let error as PrepareError {
            if error.rule == ValidationRule.corrupt.rawValue {
                #expect(full.rules.contains(.corrupt) || full.rules.contains(.unsupportedFormat), "\(path): \(error)")
            }
        }
    }

    /// The streamed PNG routes (over 8 Mpx) stop reading pixels at the last row; what follows must
    /// still be read, or damage after it would pass prepare and then be reported as valid.
    @Test("damage after the last row of a streamed PNG fails prepare, as it fails validate")
    func streamedTail() throws {
        let png = try [UInt8](Data(contentsOf: TestCorpus.packageRoot.appendingPathComponent("samples/screenshot-large.png")))
        #expect(Array(png.suffix(8).prefix(4)) == Array("IEND".utf8))
        var badCRC = png
        badCRC[badCRC.count - 1] ^= 0x01
        let variants: [(String, [UInt8])] = [("no IEND", Array(png.dropLast(12))), ("IEND CRC", badCRC)]
        var jpeg = PrepareOptions()
        jpeg.format = .jpeg
        for (label, bytes) in variants {
            let full = ReferenceImageValidator().validate(bytes: bytes, name: label)
            #expect(full.rules.contains(.corrupt), "\(label): \(full.rules)")
            for options in [PrepareOptions(), jpeg] {
                let prepared = try? ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: label)
                #expect(prepared == nil, "\(label), format \(options.format): prepared, yet it does not decode")
            }
        }
    }
}
