import ImageCodecs
import Testing

/// No input crashes, hangs or leaks: every malformed file, every prefix of a few real files and seeded
/// bit flips are decoded, verified and probed, and each outcome is checked: refused cleanly with a
/// ``CodecError``, or decoded to an image of the size its header declares.
@Suite("Hostile input")
struct MalformedTests {
    /// Decodes, verifies and probes `bytes` and checks that the outcomes agree: a decode gives an image
    /// of the probed header's size (the format's own pixel layout), verification accepts exactly what
    /// decoding accepts, and a refusal is a ``CodecError`` with a message.
    static func checkOutcome(_ bytes: [UInt8], options: DecodeOptions, _ label: String) {
        let verified = Result { try ImageCodec.verify(bytes, options: options) }
        do {
            let decoded = try ImageCodec.decode(bytes, options: options)
            let header = try ImageCodec.probe(bytes, options: options)
            #expect(decoded.image.width == header.width && decoded.image.height == header.height,
                    "\(label): decoded \(decoded.image.size), header says \(header.width)x\(header.height)")
            #expect(decoded.header == header, "\(label)")
            if case .failure(let error) = verified { Issue.record("\(label): decodes but verify refuses it: \(error)") }
        } catch let error as CodecError {
            #expect(!error.message.isEmpty, "\(label)")
            if case .success = verified { Issue.record("\(label): verify accepts what decode refuses (\(error))") }
        } catch {
            Issue.record("\(label): not a CodecError: \(error)")
        }
    }

    @Test("malformed corpus files decode or fail cleanly", arguments: Corpus.malformed)
    func malformed(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        for strict in [true, false] {
            var options = DecodeOptions()
            options.strict = strict
            Self.checkOutcome(bytes, options: options, "\(path) strict=\(strict)")
        }
    }

    @Test("every prefix of small files fails cleanly or decodes",
          arguments: ["jpeg/moz_jpg-progressive.jpg", "jpeg/ljt_testimgari.jpg", "png-suite/basi6a16.png", "png-suite/tbbn3p08.png"])
    func prefixes(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        var failures = 0
        for cut in 0..<bytes.count {
            do { _ = try ImageCodec.decode(Array(bytes.prefix(cut))) } catch is CodecError { failures += 1 }
        }
        #expect(failures == bytes.count)   // strict mode: every truncation is refused
    }

    @Test("seeded bit flips are refused cleanly or decode to the header's size",
          arguments: ["jpeg/ljt_testorig.jpg", "png-suite/basn2c16.png"])
    func bitFlips(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        var generator = SeededGenerator(seed: 0x4B4C_494E_4721)   // fixed: a failure names its trial
        var refused = 0
        for trial in 0..<300 {
            var damaged = bytes
            for _ in 0..<3 { damaged[Int.random(in: 0..<damaged.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator) }
            Self.checkOutcome(damaged, options: DecodeOptions(), "\(path) trial \(trial)")
            if (try? ImageCodec.decode(damaged)) == nil { refused += 1 }
        }
        // Three damaged bytes in a small file: many trials must be caught (CRCs, Huffman codes).
        #expect(refused > 30, "\(path): only \(refused) of 300 damaged copies refused")
    }
}
