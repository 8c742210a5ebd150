import KlingSupport
import Foundation
import Testing
@testable import FastBase64

@Suite("Streaming equals one-shot")
struct StreamTests {
    /// Splits `bytes` into chunks of random sizes (0...maxChunk).
    static func chunks(_ bytes: [UInt8], maxChunk: Int, rng: inout SeededGenerator) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let n = min(bytes.count - i, Int(rng.next() % UInt64(maxChunk + 1)))
            result.append(Array(bytes[i..<(i + n)]))
            i += n
        }
        return result
    }

    @Test("incremental encoder and decoder over random chunkings", arguments: kernels)
    func incremental(kernel: Base64.Kernel) throws {
        var rng = SeededGenerator(seed: 2024)
        for length in [0, 1, 2, 3, 100, 4097, 300_001] {
            let input = rng.bytes(length)
            for options in optionSets + [[.ignoreWhitespace]] {
                for maxChunk in [1, 7, 64, 5000] where length < 5000 || maxChunk >= 64 {
                    var encoder = Base64StreamEncoder(options: options, kernel: kernel)
                    var text: [UInt8] = []
                    for chunk in Self.chunks(input, maxChunk: maxChunk, rng: &rng) { text += encoder.encode(chunk) }
                    text += encoder.finish()
                    #expect(text == Base64.encode(input, options: options, kernel: kernel))

                    var decoder = Base64StreamDecoder(options: options, kernel: kernel)
                    var bytes: [UInt8] = []
                    for chunk in Self.chunks(text, maxChunk: maxChunk, rng: &rng) { bytes += try decoder.decode(chunk) }
                    bytes += try decoder.finish()
                    #expect(bytes == input, "kernel \(kernel) length \(length) chunk \(maxChunk)")
                }
            }
        }
    }

    @Test("stream errors carry the absolute offset and stay sticky")
    func streamErrors() throws {
        var decoder = Base64StreamDecoder()
        _ = try decoder.decode(Array("Zm9vYm".utf8))
        #expect(throws: Base64Error(code: .invalidCharacter, offset: 7, byte: UInt8(ascii: "!"))) {
            try decoder.decode(Array("F!".utf8))
        }
        #expect(throws: Base64Error.self) { try decoder.decode(Array("QUJD".utf8)) }
        var truncated = Base64StreamDecoder()
        _ = try truncated.decode(Array("Zm9vYm".utf8))
        #expect(throws: Base64Error(code: .invalidLength, offset: 4)) { try truncated.finish() }
    }

    @Test("files: encode and decode through small chunks equal one-shot, outputs atomic")
    func files() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 11)
        for length in [0, 1, 2, 3, 1000, 1_000_003] {
            let input = rng.bytes(length)
            let source = dir.appendingPathComponent("in-\(length).bin").path
            let encodedPath = dir.appendingPathComponent("in-\(length).b64").path
            let decodedPath = dir.appendingPathComponent("out-\(length).bin").path
            try Data(input).write(to: URL(fileURLWithPath: source))
            for chunk in [3, 300, 65_536, Base64.defaultEncodeChunk] {
                let summary = try Base64.encode(from: .file(source), to: .file(encodedPath), chunkSize: chunk)
                let text = try Array(Data(contentsOf: URL(fileURLWithPath: encodedPath)))
                #expect(text == Array(Data(input).base64EncodedData()))
                #expect(summary.bytesRead == length && summary.bytesWritten == text.count)
                let back = try Base64.decode(from: .file(encodedPath), to: .file(decodedPath), chunkSize: max(1024, chunk))
                #expect(try Array(Data(contentsOf: URL(fileURLWithPath: decodedPath))) == input)
                #expect(back.bytesWritten == length)
            }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("a decode error leaves no output file and keeps an existing one; offsets are absolute")
    func fileErrors() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.b64").path
        var rng = SeededGenerator(seed: 3)
        var text = Base64.encode(rng.bytes(30_000))
        text[25_000] = UInt8(ascii: "#")
        try Data(text).write(to: URL(fileURLWithPath: bad))
        let out = dir.appendingPathComponent("out.bin").path
        #expect(throws: Base64StreamError(path: bad, error: Base64Error(code: .invalidCharacter, offset: 25_000, byte: UInt8(ascii: "#")))) {
            try Base64.decode(from: .file(bad), to: .file(out), chunkSize: 4096)
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out))
        #expect(throws: Base64StreamError.self) { try Base64.decode(from: .file(bad), to: .file(out)) }
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "keep")
        #expect(throws: Base64IOError.self) { try Base64.encode(from: .file(dir.appendingPathComponent("missing").path), to: .file(out)) }
        #expect(throws: Base64IOError.self) { try Base64.encode(from: .file(bad), to: .file(dir.appendingPathComponent("no/such/dir.b64").path)) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["bad.b64", "out.bin"])
    }

    @Test("one trailing line break is accepted, wherever the reads split it; two, or one inside, are still errors")
    func trailingNewline() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 9)
        let text = Base64.encode(rng.bytes(3000))   // 4000 characters
        let input = dir.appendingPathComponent("in.b64").path, out = dir.appendingPathComponent("out.bin").path
        func decoded(_ body: [UInt8], strict: Bool = false) throws -> [UInt8] {
            try Data(body).write(to: URL(fileURLWithPath: input))
            try Base64.decode(from: .file(input), to: .file(out), acceptsTrailingNewline: !strict, chunkSize: 1024)
            return try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
        }
        // Reads of 1024: the break inside the last read (4000, 3996 characters), alone in a read of its own
        // after a full one (1024 characters + break), and "\r\n" split from the text the same way.
        for length in [4000, 3996, 1024, 2048] {
            let body = Array(text.prefix(length))
            let expected = try Base64.decode(body)
            for ending in ["\n", "\r\n"] {
                #expect(try decoded(body + Array(ending.utf8)) == expected, "\(length) + \(ending.debugDescription)")
            }
        }
        for bad in [text + Array("\n\n".utf8), Array(text.prefix(8)) + Array("\n".utf8) + Array(text.dropFirst(8))] {
            #expect(throws: Base64StreamError.self) { _ = try decoded(bad) }
        }
        #expect(throws: Base64StreamError.self) { _ = try decoded(text + Array("\n".utf8), strict: true) }
    }

    @Test("decode strips a data: URL prefix on request and reports the media type")
    func dataURLStream() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pasted.txt").path
        try Data("data:image/png;base64,Zm9v!mFy".utf8).write(to: URL(fileURLWithPath: path))
        let out = dir.appendingPathComponent("out.bin").path
        // The error offset counts from the start of the file, prefix included (22 bytes).
        #expect(throws: Base64StreamError(path: path, error: Base64Error(code: .invalidCharacter, offset: 26, byte: UInt8(ascii: "!")))) {
            try Base64.decode(from: .file(path), to: .file(out), stripDataURLPrefix: true)
        }
        try Data("data:image/png;base64,Zm9vYmFy".utf8).write(to: URL(fileURLWithPath: path))
        let summary = try Base64.decode(from: .file(path), to: .file(out), stripDataURLPrefix: true)
        #expect(summary.mediaType == "image/png")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "foobar")
    }
}
