import ImageCodecs
import Testing

/// No input crashes, hangs or leaks: every malformed file and every prefix of a few real files is
/// decoded, verified and probed, and each outcome is an image or a ``CodecError``.
@Suite("Hostile input")
struct MalformedTests {
    @Test("malformed corpus files decode or fail cleanly", arguments: Corpus.malformed)
    func malformed(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        for strict in [true, false] {
            var options = DecodeOptions()
            options.strict = strict
            do {
                let decoded = try ImageCodecs.decode(bytes, options: options)
                #expect(decoded.image.pixels.count == decoded.image.width * decoded.image.height * decoded.image.format.channels)
            } catch let error as CodecError {
                #expect(!error.message.isEmpty)
            }
            _ = try? ImageCodecs.verify(bytes, options: options)
            _ = try? ImageCodecs.probe(bytes, options: options)
        }
    }

    @Test("every prefix of small files fails cleanly or decodes",
          arguments: ["jpeg/moz_jpg-progressive.jpg", "jpeg/ljt_testimgari.jpg", "png-suite/basi6a16.png", "png-suite/tbbn3p08.png"])
    func prefixes(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        var failures = 0
        for cut in 0..<bytes.count {
            do { _ = try ImageCodecs.decode(Array(bytes.prefix(cut))) } catch is CodecError { failures += 1 }
        }
        #expect(failures == bytes.count)   // strict mode: every truncation is refused
    }

    @Test("bit flips never crash", arguments: ["jpeg/ljt_testorig.jpg", "png-suite/basn2c16.png"])
    func bitFlips(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var damaged = bytes
            for _ in 0..<3 { damaged[Int.random(in: 0..<damaged.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator) }
            _ = try? ImageCodecs.decode(damaged)
            _ = try? ImageCodecs.verify(damaged)
        }
    }
}
