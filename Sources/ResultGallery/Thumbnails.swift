import ContactSheets
import Foundation
import ImageCodecs
import ImageCore
import KlingSupport
import NIOConcurrencyHelpers

/// What one picture measured: its size, format, thumbnail file name, or why it could not be read.
struct Measured: Sendable {
    var thumbnail: String?
    var width: Int?
    var height: Int?
    var bytes: Int?
    var format: String?
    var error: String?
}

/// Makes thumbnails on worker threads of its own (not Swift's cooperative pool): each worker claims the
/// next picture, decodes it fitted (one decoded picture per worker alive), encodes the JPEG and writes it
/// atomically. A thumbnail already there under the same name (same path, size and modification time,
/// same settings) is kept and only the source's header is read.
struct Thumbnailer: Sendable {
    let directory: String
    let options: GalleryOptions

    /// Background a transparent picture is flattened onto in its JPEG thumbnail (the page's tile colour).
    static let flattenColor = Color(red: 0x2A, green: 0x2A, blue: 0x2E)

    func run(_ paths: [String], progress: (@Sendable (Int, Int) -> Void)?) -> [Measured] {
        let results = NIOLockedValueBox((next: 0, done: 0, measured: [Measured](repeating: Measured(), count: paths.count)))
        let workers = max(1, min(paths.count, options.threads ?? ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let slot: Int? = results.withLockedValue { state in
                    guard state.next < paths.count else { return nil }
                    state.next += 1
                    return state.next - 1
                }
                guard let slot else { return }
                let measured = measure(paths[slot])
                let done = results.withLockedValue { state in
                    state.measured[slot] = measured
                    state.done += 1
                    return state.done
                }
                progress?(done, paths.count)
            }
        }
        return results.withLockedValue { $0.measured }
    }

    static func isThumbnailName(_ name: String) -> Bool {
        name.count == 20 && name.prefix(16).allSatisfy(\.isHexDigit)
    }

    func measure(_ path: String) -> Measured {
        var measured = Measured()
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int else {
            measured.error = "\(path): cannot read the file"
            return measured
        }
        measured.bytes = size
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let name = Fingerprint.hex(of: "\(path)\u{0}\(size)\u{0}\(modified)\u{0}\(options.thumbnailSize)\u{0}\(options.jpegQuality)") + ".jpg"
        let target = directory + "/" + name
        do {
            if FileManager.default.fileExists(atPath: target) {
                // Made by an earlier run from this very file: only its header is needed.
                let file = try InputFile(path: path)
                let header = try ImageCodec.probe(try file.read(from: 0, count: file.size))
                measured.width = header.orientedWidth
                measured.height = header.orientedHeight
                measured.format = header.format.rawValue
            } else {
                let picture = try ContactSheet.fittedPicture(file: path, box: options.thumbnailSize, upscale: false)
                measured.width = picture.sourceWidth
                measured.height = picture.sourceHeight
                measured.format = picture.format.rawValue
                var image = picture.image
                if image.format != .rgb { image = image.converted(to: .rgb, background: Self.flattenColor) }
                var jpeg = JPEGEncodeOptions()
                jpeg.quality = options.jpegQuality
                let encoded = try ImageCodec.encodeJPEG(image, options: jpeg)
                try AtomicOutputFile.write(encoded.bytes, to: target)
            }
            measured.thumbnail = name
        } catch let error as SheetError {
            measured.error = error.message
        } catch let error as InputFile.Failure {
            measured.error = "\(path): \(error.message)"
        } catch {
            measured.error = "\(path): \(error)"
        }
        return measured
    }
}

/// 64-bit FNV-1a of a string, as 16 hex digits: stable names for thumbnails and the gallery's id.
enum Fingerprint {
    static func hex(of text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
