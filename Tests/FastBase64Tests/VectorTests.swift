import KlingSupport
import Foundation
import Testing
@testable import FastBase64

@Suite("RFC 4648 vectors, options, invalid input")
struct VectorTests {
    static let rfc4648: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 section 10 test vectors", arguments: kernels)
    func rfcVectors(kernel: Base64.Kernel) throws {
        for (plain, encoded) in Self.rfc4648 {
            #expect(Base64.encodeToString(Array(plain.utf8), kernel: kernel) == encoded)
            #expect(try Base64.decode(encoded, kernel: kernel) == Array(plain.utf8))
            let unpadded = encoded.replacingOccurrences(of: "=", with: "")
            #expect(Base64.encodeToString(Array(plain.utf8), options: .omitPadding, kernel: kernel) == unpadded)
            #expect(try Base64.decode(unpadded, options: .omitPadding, kernel: kernel) == Array(plain.utf8))
        }
    }

    @Test("URL-safe alphabet uses - and _ and rejects + and /")
    func urlSafe() throws {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0xFB, 0xEF]
        #expect(Base64.encodeToString(bytes) == "+/+/++8=")
        #expect(Base64.encodeToString(bytes, options: .urlSafe) == "-_-_--8=")
        #expect(try Base64.decode("-_-_--8=", options: .urlSafe) == bytes)
        #expect(throws: Base64Error(code: .invalidCharacter, offset: 0, byte: UInt8(ascii: "+"))) {
            try Base64.decode("+/+/++8=", options: .urlSafe)
        }
        #expect(throws: Base64Error(code: .invalidCharacter, offset: 0, byte: UInt8(ascii: "-"))) {
            try Base64.decode("-_-_--8=")
        }
    }

    /// Each invalid class, with the code and offset it must report, on every kernel. Inputs are
    /// placed after a long valid prefix too, so the SIMD blocks see them.
    static let invalid: [(text: String, options: Base64Options, code: Base64Error.Code, offset: Int)] = [
        ("Zm9v!mFy", [], .invalidCharacter, 4),
        ("Zm9vYmFy\n", [], .invalidCharacter, 8),
        ("Zm 9vYmFy", [], .invalidCharacter, 2),
        ("Zm9vYmF\u{e9}", [], .invalidCharacter, 7),
        ("Zm9v-mFy", [], .invalidCharacter, 4),
        ("Zm9v+mFy", [.urlSafe], .invalidCharacter, 4),
        ("Zm9v\0mFy", [], .invalidCharacter, 4),
        ("Zm9v!m Fy", [.ignoreWhitespace], .invalidCharacter, 4),
        ("Zm=vYmFy", [], .invalidPadding, 3),
        ("Zm=", [], .invalidPadding, 3),
        ("=m9vYmFy", [], .invalidPadding, 0),
        ("Zm9vY===", [], .invalidPadding, 5),
        ("Zg==Zg==", [], .invalidPadding, 4),
        ("Zg===", [], .invalidPadding, 4),
        ("Zg=", [], .invalidPadding, 3),
        ("Zg=a", [], .invalidPadding, 3),
        ("Zg==", [.omitPadding], .invalidPadding, 2),
        ("Zg", [], .invalidLength, 0),
        ("Zm9vY", [], .invalidLength, 4),
        ("Zm9vY", [.omitPadding], .invalidLength, 4),
        ("Zm9vYmF", [], .invalidLength, 4),
        ("Zh==", [], .nonCanonical, 1),
        ("Zm9=", [], .nonCanonical, 2),
        ("Zh", [.omitPadding], .nonCanonical, 1),
    ]

    @Test("every invalid class is rejected with its code and offset", arguments: kernels)
    func invalidClasses(kernel: Base64.Kernel) throws {
        let prefix = String(repeating: "QUJD", count: 50)  // 200 valid characters
        for (text, options, code, offset) in Self.invalid {
            for (lead, shift) in [("", 0), (prefix, prefix.utf8.count)] {
                let input = lead + text
                do {
                    let decoded = try Base64.decode(input, options: options, kernel: kernel)
                    Issue.record("kernel \(kernel): \(text.debugDescription) decoded to \(decoded.count) bytes")
                } catch let error as Base64Error {
                    #expect(error.code == code, "kernel \(kernel): \(text.debugDescription): \(error)")
                    #expect(error.offset == offset + shift, "kernel \(kernel): \(text.debugDescription): \(error)")
                    #expect(error.description.contains("offset \(offset + shift)"))
                }
            }
        }
    }

    @Test("error messages name the byte and the offset")
    func messages() {
        #expect(throws: Base64Error.self) { try Base64.decode("Zm9vYmFy\n") }
        do {
            _ = try Base64.decode("Zm9vYmFy\n")
        } catch {
            #expect(String(describing: error) == "invalid base64 character 0x0A (line feed) at offset 8")
        }
        do {
            _ = try Base64.decode("Zm9v!mFy")
        } catch {
            #expect(String(describing: error) == "invalid base64 character 0x21 ('!') at offset 4")
        }
    }

    @Test("whitespace is skipped only when asked, anywhere, with offsets into the original text", arguments: kernels)
    func whitespace(kernel: Base64.Kernel) throws {
        #expect(try Base64.decode("Zm9v\nYmFy\r\n", options: .ignoreWhitespace, kernel: kernel) == Array("foobar".utf8))
        #expect(try Base64.decode(" Z m 9 v\tY m E = ", options: .ignoreWhitespace, kernel: kernel) == Array("fooba".utf8))
        #expect(try Base64.decode("Zg=\n=\n", options: .ignoreWhitespace, kernel: kernel) == Array("f".utf8))
        #expect(try Base64.decode("\n\n", options: .ignoreWhitespace, kernel: kernel) == [])
        #expect(throws: Base64Error(code: .invalidCharacter, offset: 6, byte: UInt8(ascii: "*"))) {
            try Base64.decode("Zm\n9v\n*", options: .ignoreWhitespace, kernel: kernel)
        }

        // MIME-style 76-column lines over random data, and whitespace sprinkled at random.
        var rng = SeededGenerator(seed: 99)
        for length in [0, 1, 57, 1000, 100_000] {
            let input = rng.bytes(length)
            let wrapped = Array(Data(input).base64EncodedData(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))
            #expect(try Base64.decode(wrapped, options: .ignoreWhitespace, kernel: kernel) == input)
            var sprinkled: [UInt8] = []
            for byte in Base64.encode(input) {
                if rng.next() % 7 == 0 { sprinkled.append([0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C][Int(rng.next() % 6)]) }
                sprinkled.append(byte)
            }
            #expect(try Base64.decode(sprinkled, options: .ignoreWhitespace, kernel: kernel) == input)
            if sprinkled.count != Base64.encodedLength(of: length) {
                #expect(throws: Base64Error.self) { try Base64.decode(sprinkled, kernel: kernel) }
            }
        }
    }

    @Test("whitespace mode reports the input offset of a bad byte deep in long, irregularly wrapped text", arguments: kernels)
    func whitespaceDeepErrors(kernel: Base64.Kernel) throws {
        var rng = SeededGenerator(seed: 77)
        var text: [UInt8] = []
        for byte in Base64.encode(rng.bytes(150_000)) {
            if rng.next() % 5 == 0 { text.append(rng.next() % 2 == 0 ? 0x0A : 0x20) }
            text.append(byte)
        }
        let candidates = text.indices.filter { text[$0] > 0x20 }
        for step in 0..<40 {
            let position = candidates[(step * 5003 + 17) % candidates.count]
            for bad: UInt8 in [UInt8(ascii: "*"), 0xC3] {
                var mutated = text
                mutated[position] = bad
                #expect(throws: Base64Error(code: .invalidCharacter, offset: position, byte: bad)) {
                    try Base64.decode(mutated, options: .ignoreWhitespace, kernel: kernel)
                }
            }
        }
        #expect(try Base64.decode(text, options: .ignoreWhitespace, kernel: kernel) == Base64.decode(text.filter { $0 > 0x20 }, kernel: .scalar))
    }

    @Test("data: URL prefixes are stripped and their media type reported")
    func dataURL() {
        let png = Base64.stripDataURLPrefix("data:image/png;base64,iVBORw0KGgo=")
        #expect(png.base64 == "iVBORw0KGgo=")
        #expect(png.mediaType == "image/png")
        let upper = Base64.stripDataURLPrefix("  DATA:image/jpeg;name=x.jpg;BASE64,/9j/")
        #expect(upper.base64 == "/9j/")
        #expect(upper.mediaType == "image/jpeg")
        let noType = Base64.stripDataURLPrefix("data:;base64,QQ==")
        #expect(noType.base64 == "QQ==" && noType.mediaType == "text/plain")
        let bare = Base64.stripDataURLPrefix("iVBORw0KGgo=")
        #expect(bare.base64 == "iVBORw0KGgo=" && bare.mediaType == nil)
        let notBase64 = Base64.stripDataURLPrefix("data:text/plain,hello")
        #expect(notBase64.base64 == "data:text/plain,hello" && notBase64.mediaType == nil)
        let bytes = Base64.stripDataURLPrefix(Array("data:image/webp;base64,UklG".utf8))
        #expect(Array(bytes.base64) == Array("UklG".utf8) && bytes.mediaType == "image/webp")
    }

    @Test("caller-provided buffers: encode(into:) and decode(into:) match the allocating forms")
    func intoBuffers() throws {
        var rng = SeededGenerator(seed: 5)
        let input = rng.bytes(10_000)
        var text = [UInt8](repeating: 0, count: Base64.encodedLength(of: input.count))
        let n = input.withUnsafeBytes { src in text.withUnsafeMutableBytes { Base64.encode(src, into: $0) } }
        #expect(n == text.count && text == Base64.encode(input))
        var out = [UInt8](repeating: 0, count: Base64.maxDecodedLength(of: text.count))
        let m = try text.withUnsafeBytes { src in try out.withUnsafeMutableBytes { try Base64.decode(src, into: $0) } }
        #expect(m == input.count && Array(out.prefix(m)) == input)
    }
}
