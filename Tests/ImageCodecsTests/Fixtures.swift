import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import KlingSupport

/// Corpus files, found through ``TestCorpus`` (`$KLINGKIT_CORPUS` or `../shared/corpus`).
enum Corpus {
    static let root = TestCorpus.root

    static func bytes(_ path: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: root.appendingPathComponent(path)))
    }

    /// Relative paths of the files in one corpus folder with one of the given extensions, sorted.
    static func files(in folder: String, extensions: Set<String> = ["png", "jpg", "jpeg", "bin", "gif"]) -> [String] {
        let dir = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted().map { "\(folder)/\($0)" }
    }

    static var pngSuite: [String] { files(in: "png-suite", extensions: ["png"]) }
    static var pngSuiteValid: [String] { pngSuite.filter { !($0 as NSString).lastPathComponent.hasPrefix("x") } }
    static var pngSuiteCorrupt: [String] { pngSuite.filter { ($0 as NSString).lastPathComponent.hasPrefix("x") } }
    static var malformed: [String] { files(in: "malformed") }
}


/// Every row of `reader`, read in uneven bands of 3, then `finish()`: the whole stream checked.
func readAllRows(_ reader: some ImageRowReader) throws -> [UInt8] {
    let stride = reader.width * reader.format.channels
    var out = [UInt8](repeating: 0, count: stride * reader.height)
    try out.withUnsafeMutableBufferPointer { buffer in
        var y = 0
        while y < reader.height {
            let n = min(3, reader.height - y)
            try reader.read(into: buffer.baseAddress! + y * stride, stride: stride, count: n)
            y += n
        }
    }
    try reader.finish()
    return out
}

/// A deterministic test picture: smooth gradients plus a few hard edges.
func testPicture(width: Int, height: Int, format: PixelFormat) throws -> Image {
    var pixels = [UInt8](repeating: 0, count: width * height * format.channels)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * format.channels
            let r = UInt8((x * 255) / max(1, width - 1))
            let g = UInt8((y * 255) / max(1, height - 1))
            let b: UInt8 = (x / 16 + y / 16) % 2 == 0 ? 200 : 40
            switch format {
            case .gray: pixels[i] = UInt8((Int(r) + Int(g) + Int(b)) / 3)
            case .grayAlpha: pixels[i] = r; pixels[i + 1] = g
            case .rgb: pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b
            case .rgba: pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b; pixels[i + 3] = UInt8((x + y) % 256)
            }
        }
    }
    return try Image(width: width, height: height, format: format, pixels: pixels)
}

/// The project's one seeded generator: a randomised test is the same run every time and can be replayed.
typealias SeededGenerator = SplitMix64
