import Foundation
import KlingKitTestSupport
import Testing
@testable import ImageCore


/// A deterministic pseudo-random image (xorshift), for tests that need texture.
func noiseImage(width: Int, height: Int, format: PixelFormat, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Image {
    var state = seed
    var pixels = [UInt8](repeating: 0, count: width * height * format.channels)
    for i in 0..<pixels.count {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        pixels[i] = UInt8(truncatingIfNeeded: state >> 24)
    }
    return try! Image(width: width, height: height, format: format, pixels: pixels)
}

/// Pillow (run through `python3`) as an independent reference implementation.
enum Pillow {
    /// Why Pillow cannot be used here, or `nil` when `python3 -c "import PIL"` works.
    static let unavailableReason: String? = {
        guard let result = try? run(["-c", "import PIL"]) else { return "python3 is not installed" }
        return result.status == 0 ? nil : "Pillow is not installed (pip install pillow)"
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a Python snippet; `sys.argv[1:]` are `arguments`.
    static func script(_ source: String, _ arguments: [String]) throws {
        let result = try run(["-c", source] + arguments)
        if result.status != 0 { throw ImageError("python3 failed: \(result.stderr)") }
    }

    /// Reads a binary PPM (P6) or PGM (P5) with maxval 255.
    static func readPNM(_ path: String) throws -> Image {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var fields: [String] = []
        var i = 0
        while fields.count < 4 {
            while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09) { i += 1 }
            var token = ""
            while i < bytes.count && !(bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09) {
                token.append(Character(UnicodeScalar(bytes[i]))); i += 1
            }
            fields.append(token)
        }
        i += 1
        let format: PixelFormat = fields[0] == "P5" ? .gray : .rgb
        return try Image(width: Int(fields[1])!, height: Int(fields[2])!, format: format, pixels: Array(bytes[i...]))
    }

    /// Writes a binary PPM (P6) of an RGB image.
    static func writePPM(_ image: Image, to path: String) throws {
        precondition(image.format == .rgb)
        var data = Data("P6\n\(image.width) \(image.height)\n255\n".utf8)
        data.append(contentsOf: image.pixels)
        try data.write(to: URL(fileURLWithPath: path))
    }
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
