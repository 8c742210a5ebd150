import Foundation
import KlingKitTestSupport
import ImageCodecs
import ImageCore
import Testing
@testable import ReferenceImages

/// Fixtures for the preparation tests: the shared corpus, read relative to the package root.
enum PrepareCorpus {
    static let root = TestCorpus.root

    struct Entry: Sendable, CustomStringConvertible {
        var path: String
        var expected: String
        var description: String { path }
    }

    /// Every row of corpus.tsv.
    static let entries: [Entry] = {
        guard let text = try? String(contentsOf: root.appendingPathComponent("corpus.tsv"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 5 else { return nil }
            return Entry(path: String(fields[0]), expected: String(fields[4]))
        }
    }()

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(path)))
    }

    /// Why Pillow cannot referee, or `nil` when `python3` can import it.
    static let pillowUnavailable: String? = {
        guard let result = try? python(["-c", "import PIL"]) else { return "python3 is not installed" }
        return result.status == 0 ? nil : "Pillow is not installed (pip install pillow)"
    }()

    static func python(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Pillow's verdict on each file: an empty string when it opens, fully decodes, is JPEG or PNG,
    /// meets the upload rules and carries no EXIF orientation other than 1; otherwise the reason.
    static func pillowVerdicts(_ paths: [String]) throws -> [String: String] {
        let script = """
        import sys, os
        from PIL import Image
        for path in sys.argv[1:]:
            problems = []
            try:
                with Image.open(path) as im:
                    fmt = im.format
                    im.load()
                    w, h = im.size
                    orientation = im.getexif().get(274)
                if fmt not in ('JPEG', 'PNG'): problems.append('format ' + str(fmt))
                if w < 300 or h < 300: problems.append(f'size {w}x{h}')
                if 2 * w > 5 * h or 2 * h > 5 * w: problems.append(f'aspect {w}x{h}')
                if os.path.getsize(path) > 10485760: problems.append('bytes')
                if orientation not in (None, 1): problems.append(f'orientation {orientation}')
            except Exception as e:
                problems.append('error ' + str(e).replace('\\n', ' '))
            print(path + '\\t' + '; '.join(problems))
        """
        let result = try python(["-c", script] + paths)
        var verdicts: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            verdicts[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return verdicts
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-prepare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

func preparePSNR(_ a: Image, _ b: Image) -> Double {
    var sum = 0.0
    for i in 0..<a.pixels.count {
        let d = Double(a.pixels[i]) - Double(b.pixels[i])
        sum += d * d
    }
    let mse = sum / Double(a.pixels.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

@Suite("Preparation geometry")
struct PreparePlanTests {
    let options = PrepareOptions()

    @Test("a wide image is padded to exactly 2.5:1, centred")
    func padWide() {
        let plan = PreparePlan(upright: Size(width: 3000, height: 1000), options: options)
        #expect(plan.canvas == Size(width: 3000, height: 1200))
        #expect(plan.content == Size(width: 3000, height: 1000))
        #expect(plan.originX == 0 && plan.originY == 100)
        #expect(!plan.isCropped && !plan.isResized && plan.isPadded)
    }

    @Test("a tall image is cropped at the centre or at an offset")
    func cropTall() {
        var options = self.options
        options.fit = .crop
        let plan = PreparePlan(upright: Size(width: 1000, height: 3000), options: options)
        #expect(plan.region == Rect(x: 0, y: 250, width: 1000, height: 2500))
        #expect(plan.canvas == Size(width: 1000, height: 2500))
        options.cropAnchor = .offset(40)
        #expect(PreparePlan(upright: Size(width: 1000, height: 3000), options: options).region.y == 40)
        options.cropAnchor = .offset(9999)
        #expect(PreparePlan(upright: Size(width: 1000, height: 3000), options: options).region.y == 500)
        options.cropAnchor = .fraction(0)
        #expect(PreparePlan(upright: Size(width: 1000, height: 3000), options: options).region.y == 0)
    }

    @Test("small images grow to the minimum short side, and the minimum may be raised")
    func upscale() {
        let plan = PreparePlan(upright: Size(width: 200, height: 200), options: options)
        #expect(plan.canvas == Size(width: 300, height: 300) && plan.content == plan.canvas)
        var options = self.options
        options.minSide = 512
        #expect(PreparePlan(upright: Size(width: 200, height: 100), options: options).canvas == Size(width: 1024, height: 512))
        options.minSide = 100  // below the rule: the rule wins
        #expect(PreparePlan(upright: Size(width: 200, height: 100), options: options).canvas == Size(width: 600, height: 300))
    }

    @Test("the maximum side shrinks, but never below the minimum")
    func maxSide() {
        var options = self.options
        options.maxSide = 2048
        let plan = PreparePlan(upright: Size(width: 4000, height: 3000), options: options)
        #expect(plan.canvas == Size(width: 2048, height: 1536))
        #expect(plan.shrinkOnLoadEighths == 5)  // 2500x1875, the smallest M/8 still >= 2048x1536
        options.maxSide = 1000  // exactly a quarter: decode at 2/8, nothing left to resample
        #expect(PreparePlan(upright: Size(width: 4000, height: 3000), options: options).shrinkOnLoadEighths == 2)
        options.maxSide = 1500
        #expect(PreparePlan(upright: Size(width: 4000, height: 3000), options: options).shrinkOnLoadEighths == 3)
        options.maxSide = 3800  // nothing smaller than 8/8 covers it
        #expect(PreparePlan(upright: Size(width: 4000, height: 3000), options: options).shrinkOnLoadEighths == 8)
        #expect(PreparePlan.fraction(eighths: 4) == "1/2" && PreparePlan.fraction(eighths: 6) == "3/4"
                && PreparePlan.fraction(eighths: 5) == "5/8")
        options.maxSide = 400
        let tight = PreparePlan(upright: Size(width: 4000, height: 1600), options: options)
        #expect(tight.canvas == Size(width: 750, height: 300))
        #expect(tight.shrinkOnLoadEighths == 2)
    }

    @Test("tiny extreme shapes come out legal", arguments: [(8, 32), (32, 8), (1, 1), (1, 1000), (300, 64), (2401, 960)])
    func extremes(size: (Int, Int)) {
        for fit in PrepareOptions.Fit.allCases {
            var options = self.options
            options.fit = fit
            let plan = PreparePlan(upright: Size(width: size.0, height: size.1), options: options)
            let c = plan.canvas
            #expect(min(c.width, c.height) >= 300, "\(fit) \(size) -> \(c)")
            #expect(2 * c.width <= 5 * c.height && 2 * c.height <= 5 * c.width, "\(fit) \(size) -> \(c)")
            #expect(plan.content.width <= c.width && plan.content.height <= c.height)
        }
    }
}

@Suite("Lossless metadata removal")
struct MetadataStripperTests {
    @Test("JPEG: EXIF goes, pixels and ICC stay identical")
    func jpeg() throws {
        let bytes = try PrepareCorpus.bytes("exif-orientation/Landscape_1.jpg")
        let result = try #require(MetadataStripper.stripJPEG(bytes))
        #expect(result.removed.contains("APP1 Exif"))
        #expect(result.bytes.count < bytes.count)
        #expect(try ImageCodec.decode(result.bytes).image == ImageCodec.decode(bytes).image)
        // Idempotent: a stripped file has nothing left to strip and comes back byte for byte.
        let again = try #require(MetadataStripper.stripJPEG(result.bytes))
        #expect(again.removed.isEmpty && again.bytes == result.bytes)
        #expect(MetadataStripper.jpegHeaderHasMetadata(bytes) == true)
        #expect(MetadataStripper.jpegHeaderHasMetadata(result.bytes) == false)
        #expect(MetadataStripper.jpegHeaderHasMetadata(Array("not a jpeg".utf8)) == nil)
        let icc = try PrepareCorpus.bytes("jpeg/moz_jpg-srgb-icc.jpg")
        let kept = try #require(MetadataStripper.stripJPEG(icc))
        #expect(try ImageCodec.decode(kept.bytes).iccProfile == ImageCodec.decode(icc).iccProfile)
        #expect(try ImageCodec.decode(icc).iccProfile != nil)
    }

    @Test("JPEG: progressive scans and trailing data are handled")
    func progressive() throws {
        let bytes = try PrepareCorpus.bytes("jpeg/jpegdec_progressive3.jpg")
        let result = try #require(MetadataStripper.stripJPEG(bytes))
        #expect(try ImageCodec.decode(result.bytes).image == ImageCodec.decode(bytes).image)
        let padded = bytes + Array("trailing secret".utf8)
        let trimmed = try #require(MetadataStripper.stripJPEG(padded))
        #expect(trimmed.bytes == result.bytes)
        #expect(MetadataStripper.stripJPEG(Array(bytes.prefix(bytes.count / 2))) == nil)
    }

    @Test("PNG: text chunks go, pixels stay identical")
    func png() throws {
        let bytes = try PrepareCorpus.bytes("png/pillow_itxt_chunks.png")
        let result = try #require(MetadataStripper.stripPNG(bytes))
        #expect(result.removed.contains("iTXt"))
        #expect(try ImageCodec.decode(result.bytes).image == ImageCodec.decode(bytes).image)
        #expect(!String(decoding: result.bytes, as: UTF8.self).contains("iTXt"))
    }
}

@Suite("Preparing images")
struct PrepareTests {
    let preparer = ReferenceImagePreparer()
    let validator = ReferenceImageValidator()

    @Test("every corpus file: rule-breakers come out valid (our validator and Pillow agree), undecodable ones are refused")
    func corpus() throws {
        try #require(!PrepareCorpus.entries.isEmpty, "corpus.tsv not found under \(TestCorpus.root.path) (set KLINGKIT_CORPUS)")
        let dir = try PrepareCorpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var written: [String: String] = [:]
        for entry in PrepareCorpus.entries {
            let bytes = try PrepareCorpus.bytes(entry.path)
            let report = validator.validate(bytes: bytes, name: entry.path)
            let undecodable = report.violations.contains { [.corrupt, .unsupportedFormat, .tooManyPixels].contains($0.rule) }
            if entry.expected == "invalid-decode" {
                #expect(undecodable, "\(entry.path): the corpus says undecodable, the validator says \(report.rules)")
            }
            do {
                let prepared = try preparer.prepare(bytes: bytes, name: entry.path)
                #expect(!undecodable, "\(entry.path): undecodable (\(report.rules)) but prepare produced output")
                let check = validator.validate(bytes: prepared.encoded.bytes, name: entry.path)
                #expect(check.isValid, "\(entry.path): output fails \(check.violations.map(\.message)) after \(prepared.actions.texts)")
                #expect(check.width == prepared.width && check.height == prepared.height)
                #expect(check.orientation == 1, "\(entry.path): orientation \(check.orientation) left in the output")
                if entry.expected == "valid" && report.orientation == 1 {
                    // Already passing: copied, at most with metadata removed, never re-encoded.
                    #expect(prepared.actions.texts.allSatisfy { $0 == "stripped metadata" }, "\(entry.path): \(prepared.actions.texts)")
                    if prepared.actions.texts.isEmpty { #expect(prepared.encoded.bytes == bytes, "\(entry.path) not copied byte for byte") }
                }
                let out = dir.appendingPathComponent(entry.path.replacingOccurrences(of: "/", with: "__") + "." + prepared.encoded.format.fileExtension)
                try Data(prepared.encoded.bytes).write(to: out)
                written[out.path] = entry.path
            } catch let error as PrepareError {
                #expect(undecodable, "\(entry.path): refused (\(error)) although it decodes")
                #expect(["corrupt", "unsupported-format", "too-many-pixels"].contains(error.rule), "\(entry.path): \(error)")
            }
        }
        #expect(written.count >= 200)
        if let reason = PrepareCorpus.pillowUnavailable {
            withKnownIssue("Pillow referee skipped: \(reason)") { throw Skipped(reason: reason) }
            return
        }
        let verdicts = try PrepareCorpus.pillowVerdicts(Array(written.keys))
        #expect(verdicts.count == written.count, "Pillow reported \(verdicts.count) of \(written.count) files")
        for (path, problem) in verdicts where !problem.isEmpty {
            Issue.record("Pillow rejects the prepared \(written[path] ?? path): \(problem)")
        }
    }

    @Test("EXIF-oriented photos come out upright, with no orientation tag", arguments: 2...8)
    func orientation(value: Int) throws {
        let upright = try ImageCodec.decode(PrepareCorpus.bytes("exif-orientation/Landscape_1.jpg")).image
        let bytes = try PrepareCorpus.bytes("exif-orientation/Landscape_\(value).jpg")
        let prepared = try preparer.prepare(bytes: bytes, name: "Landscape_\(value).jpg")
        #expect(prepared.actions.texts.first == "oriented(\(value))")
        #expect(prepared.actions.texts.contains("stripped metadata"))
        let decoded = try ImageCodec.decode(prepared.encoded.bytes)
        #expect(decoded.header.orientation == 1)
        #expect(MetadataStripper.stripJPEG(prepared.encoded.bytes)?.removed.contains("APP1 Exif") == false)
        #expect(decoded.image.size == upright.size)
        let db = preparePSNR(decoded.image, upright)
        // Each Landscape_N was encoded separately from its own rotated pixels, so ~29 dB is the match level.
        #expect(db >= 27, "Landscape_\(value) vs the upright reference: \(db) dB")
        // The comparison can fail: the same output against a wrong rotation is far off.
        let wrong = preparePSNR(decoded.image, upright.oriented(exif: 3))
        #expect(wrong < 18, "a 180° turn scores \(wrong) dB")
    }

    @Test("portrait photos match Pillow's exif_transpose", arguments: 5...8)
    func portraitAgainstPillow(value: Int) throws {
        if let reason = PrepareCorpus.pillowUnavailable {
            withKnownIssue("Pillow reference skipped: \(reason)") { throw Skipped(reason: reason) }
            return
        }
        let dir = try PrepareCorpus.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = PrepareCorpus.root.appendingPathComponent("exif-orientation/Portrait_\(value).jpg").path
        let reference = dir.appendingPathComponent("ref.png").path
        let result = try PrepareCorpus.python(["-c", """
            import sys
            from PIL import Image, ImageOps
            ImageOps.exif_transpose(Image.open(sys.argv[1])).convert('RGB').save(sys.argv[2])
            """, source, reference])
        try #require(result.status == 0, "\(result.stdout)")
        let expected = try ImageCodec.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: reference)))).image
        let prepared = try preparer.prepare(bytes: PrepareCorpus.bytes("exif-orientation/Portrait_\(value).jpg"), name: "p")
        let got = try ImageCodec.decode(prepared.encoded.bytes).image
        #expect(got.size == expected.size)
        #expect(preparePSNR(got, expected) >= 30)
    }

    @Test("the byte budget is met with the highest quality that fits")
    func byteBudget() throws {
        let bytes = try PrepareCorpus.bytes("exif-orientation/Landscape_1.jpg")
        var options = PrepareOptions()
        options.maxBytes = 150_000
        let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "l")
        #expect(prepared.encoded.bytes.count <= 150_000)
        let q = try #require(prepared.actions.texts.compactMap { $0.hasPrefix("re-encoded jpeg q=") ? Int($0.dropFirst(18)) : nil }.first)
        #expect(q < 90)
        let image = try ImageCodec.decode(bytes).image
        if q < 90 && !prepared.actions.texts.contains(where: { $0.contains("to fit") }) {
            let oneUp = try ImageCodec.encodeJPEG(image, options: JPEGEncodeOptions(quality: q + 1))
            #expect(oneUp.bytes.count > 150_000, "quality \(q + 1) would also have fitted")
        }
        // A budget below what quality 60 gives at full size: the image shrinks instead.
        options.maxBytes = 40_000
        let small = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "l")
        #expect(small.encoded.bytes.count <= 40_000)
        #expect(small.actions.texts.contains { $0.contains("to fit 40000 bytes") })
        #expect(validator.validate(bytes: small.encoded.bytes, name: "l").isValid)
        // An impossible budget is refused, naming the rule.
        options.maxBytes = 500
        #expect(throws: PrepareError.self) { try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "l") }
    }

    @Test("transparency is flattened onto the background for JPEG; kept for PNG")
    func flatten() throws {
        var image = try Image(width: 400, height: 400, format: .rgba, fill: .transparent)
        image.withUnsafeMutablePixels { pixels in
            for i in stride(from: 0, to: 200 * 400 * 4, by: 4) {
                pixels[i] = 20; pixels[i + 1] = 40; pixels[i + 2] = 200; pixels[i + 3] = 255
            }
        }
        let png = try ImageCodec.encodePNG(image).bytes
        var options = PrepareOptions()
        options.format = .jpeg
        options.background = Color(red: 255, green: 0, blue: 0)
        let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: png, name: "t.png")
        #expect(prepared.encoded.format == .jpeg)
        #expect(prepared.actions.texts.contains("flattened alpha onto #ff0000"))
        let decoded = try ImageCodec.decode(prepared.encoded.bytes).image
        let bottom = (350 * 400 + 200) * 3, top = (50 * 400 + 200) * 3
        #expect(decoded.pixels[bottom] > 240 && decoded.pixels[bottom + 1] < 20 && decoded.pixels[bottom + 2] < 20)
        #expect(decoded.pixels[top + 2] > 180 && decoded.pixels[top] < 50)
        // Auto keeps PNG when it must re-encode a transparent image (here: too small).
        let small = try ImageCodec.encodePNG(image.resized(to: Size(width: 200, height: 200))).bytes
        let auto = try ReferenceImagePreparer().prepare(bytes: small, name: "s.png")
        #expect(auto.encoded.format == .png)
        #expect(try ImageCodec.decode(auto.encoded.bytes).image.hasTransparency)
    }

    @Test("a photographic PNG that must be re-encoded becomes JPEG when smaller")
    func pngToJPEG() throws {
        let photo = try ImageCodec.decode(PrepareCorpus.bytes("exif-orientation/Landscape_1.jpg"),
                                           options: DecodeOptions(jpegScale: 8)).image
        let png = try ImageCodec.encodePNG(photo).bytes
        let prepared = try ReferenceImagePreparer().prepare(bytes: png, name: "photo.png")
        #expect(prepared.encoded.format == .jpeg)
        #expect(prepared.actions.texts.contains("converted png->jpeg"))
        #expect(prepared.width == 450 && prepared.height == 300)
    }

    @Test("an opaque PNG that must be re-encoded stays PNG when that is smaller than the JPEG (in memory)")
    func smallerPNGKept() throws {
        // 200x150 flat blocks: enlarged to 400x300, well under the streamed route's size.
        var px = [UInt8](repeating: 0, count: 200 * 150 * 3)
        for i in 0..<(200 * 150) where (i % 200) / 50 % 2 == 0 { px[i * 3] = 200; px[i * 3 + 2] = 40 }
        let png = try ImageCodec.encodePNG(try Image(width: 200, height: 150, format: .rgb, pixels: px)).bytes
        let prepared = try ReferenceImagePreparer().prepare(bytes: png, name: "diagram.png")
        #expect(prepared.encoded.format == .png)
        #expect(prepared.width == 400 && prepared.height == 300)
        let pixels = try ImageCodec.decode(prepared.encoded.bytes).image
        #expect(prepared.encoded.bytes == (try ImageCodec.encodePNG(pixels, options: PNGEncodeOptions(compressionLevel: 6))).bytes)
        #expect(prepared.encoded.bytes.count < (try ImageCodec.encodeJPEG(pixels, options: JPEGEncodeOptions(quality: 90))).bytes.count)
    }

    @Test("PNG to JPEG with nothing else to change streams rows, with the same bytes as the whole-image path")
    func streamedPNGToJPEG() throws {
        var px = [UInt8](repeating: 0, count: 640 * 360 * 4)
        for i in 0..<(640 * 360) {
            px[i * 4] = UInt8(i % 251); px[i * 4 + 1] = UInt8((i / 640) % 256); px[i * 4 + 2] = 90
            px[i * 4 + 3] = i % 640 < 100 ? 0 : 255
        }
        let png = try ImageCodec.encodePNG(try Image(width: 640, height: 360, format: .rgba, pixels: px)).bytes
        var options = PrepareOptions()
        options.format = .jpeg
        options.background = Color(red: 10, green: 20, blue: 30)
        let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: png, name: "t.png")
        #expect(prepared.actions.texts == ["flattened alpha onto #0a141e", "converted png->jpeg", "re-encoded jpeg q=90"])
        let flat = try ImageCodec.decode(png).image.flattened(background: options.background)
        let expected = try ImageCodec.encodeJPEG(flat, options: JPEGEncodeOptions(quality: 90, optimizeHuffman: false))
        #expect(prepared.encoded.bytes == expected.bytes)
        // A budget the first encoding misses still goes through the quality search.
        options.maxBytes = expected.bytes.count - 1
        let tight = try ReferenceImagePreparer(options: options).prepare(bytes: png, name: "t.png")
        #expect(tight.encoded.bytes.count <= options.maxBytes!)  // optimised tables or a lower quality
        #expect(tight.encoded.bytes != expected.bytes)
    }

    @Test("JPEG fitted to a maximum side streams YCbCr planes and looks like decode + resize + encode")
    func streamedJPEGResize() throws {
        let bytes = try PrepareCorpus.bytes("exif-orientation/Landscape_1.jpg")
        for maxSide in [1000, 450, 700, 300] {
            var outputs: [[UInt8]] = []
            for threads in [1, 2] {
                var options = PrepareOptions()
                options.maxSide = maxSide
                options.threads = threads
                let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "l1")
                let plan = PreparePlan(upright: Size(width: 1800, height: 1200), options: options)
                // The RGB route from the full-size decode: what the planes must look like.
                let full = try ImageCodec.decode(bytes).image
                let expected = full.resized(to: plan.content, filter: .lanczos3, threads: 1)
                let got = try ImageCodec.decode(prepared.encoded.bytes).image
                #expect(got.size == plan.content)
                #expect(preparePSNR(got, expected) > 34, "max side \(maxSide)")
                #expect(prepared.width == plan.content.width && prepared.height == plan.content.height)
                // Shrink-on-load only by powers of two (the SIMD IDCTs): 1800 -> 450 at 1/4, 1800 -> 300 at 1/4.
                let eighths = plan.shrinkOnLoadEighths(powersOfTwo: true)
                #expect([1, 2, 4, 8].contains(eighths))
                if eighths < 8 {
                    #expect(prepared.actions.texts.first == "shrink-on-load \(PreparePlan.fraction(eighths: eighths))")
                } else {
                    #expect(!prepared.actions.texts.contains { $0.hasPrefix("shrink-on-load") })
                }
                outputs.append(prepared.encoded.bytes)
            }
            #expect(outputs[0] == outputs[1], "the decode thread changes nothing (max side \(maxSide))")
        }
        // 1800 -> 450 is exactly 2/8: no resampling left.
        var options = PrepareOptions()
        options.maxSide = 450
        let quarter = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "l1")
        #expect(!quarter.actions.texts.contains { $0.hasPrefix("resized") })
        // A truncated input is refused, with no output.
        let cut = Array(bytes.prefix(bytes.count * 9 / 10))
        for threads in [1, 2] {
            options.maxSide = 700
            options.threads = threads
            #expect(throws: PrepareError.self) { try ReferenceImagePreparer(options: options).prepare(bytes: cut, name: "cut") }
            // A missing EOI marker (the last two bytes) is still found once the rows are read.
            let tail = Array(bytes.prefix(bytes.count - 2))
            #expect(throws: PrepareError.self) { try ReferenceImagePreparer(options: options).prepare(bytes: tail, name: "tail") }
        }
    }

    @Test("prepare(fileAt:) gives what prepare(bytes:) gives, streaming PNG -> JPEG from the file")
    func fromFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kk-prepfile-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var px = [UInt8](repeating: 0, count: 500 * 400 * 4)
        for i in 0..<(500 * 400) { px[i * 4] = UInt8(i % 256); px[i * 4 + 1] = 40; px[i * 4 + 2] = UInt8(i / 500 % 256); px[i * 4 + 3] = UInt8(i % 500 / 2) }
        let rgba = try ImageCodec.encodePNG(try Image(width: 500, height: 400, format: .rgba, pixels: px)).bytes
        let inputs: [(String, [UInt8])] = [
            ("rgba.png", rgba), ("truncated.png", Array(rgba.prefix(rgba.count - 100))),
            ("itxt.png", try PrepareCorpus.bytes("png/pillow_itxt_chunks.png")),
            ("photo.jpg", try PrepareCorpus.bytes("exif-orientation/Landscape_6.jpg")),
        ]
        for format in [PrepareOptions.OutputFormat.jpeg, .auto] {
            var options = PrepareOptions()
            options.format = format
            let preparer = ReferenceImagePreparer(options: options)
            for (name, bytes) in inputs {
                let path = dir.appendingPathComponent(name).path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                switch (Result { try preparer.prepare(bytes: bytes, name: path) }, Result { try preparer.prepare(fileAt: path) }) {
                case let (.success(a), .success(b)):
                    #expect(a.encoded == b.encoded, "\(name) \(format)")
                    #expect(a.actions.texts == b.actions.texts, "\(name) \(format)")
                case let (.failure(a as PrepareError), .failure(b as PrepareError)):
                    #expect(a.rule == b.rule, "\(name) \(format)")
                default:
                    Issue.record("\(name) \(format): one path failed, the other did not")
                }
            }
        }
        #expect(throws: PrepareError.self) { try ReferenceImagePreparer().prepare(fileAt: dir.appendingPathComponent("none.png").path) }
        #expect(throws: PrepareError.self) { try ReferenceImagePreparer().prepare(fileAt: dir.path) }
    }

    @Test("shrink-on-load decodes a JPEG at the smallest power-of-two scale that still covers the target")
    func shrinkOnLoad() throws {
        var options = PrepareOptions()
        options.maxSide = 600
        let prepared = try ReferenceImagePreparer(options: options).prepare(
            bytes: PrepareCorpus.bytes("exif-orientation/Landscape_6.jpg"), name: "l6")
        // 3/8 (675x450) would cover 600x400 too, but only 1/8, 1/4 and 1/2 have SIMD IDCTs.
        #expect(prepared.actions.texts.contains("shrink-on-load 1/2"))  // 1800x1200 -> 900x600, then Lanczos to 600x400
        #expect(prepared.width == 600 && prepared.height == 400)
        #expect(prepared.actions.texts.contains("oriented(6)"))
    }

    @Test("pad styles and crop give the documented sizes")
    func padAndCrop() throws {
        let wide = try ImageCodec.encodeJPEG(noise(width: 1500, height: 400)).bytes
        for style in PrepareOptions.PadStyle.allCases {
            var options = PrepareOptions()
            options.padStyle = style
            let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: wide, name: "w")
            #expect(prepared.width == 1500 && prepared.height == 600)
            #expect(prepared.actions.texts.contains { $0.hasPrefix("padded 1500x400->1500x600") })
        }
        var options = PrepareOptions()
        options.fit = .crop
        let cropped = try ReferenceImagePreparer(options: options).prepare(bytes: wide, name: "w")
        #expect(cropped.actions.texts.first == "cropped 1500x400->1000x400")
        #expect(cropped.width == 1000 && cropped.height == 400)
    }

    @Test("a JPEG that needs a flat pad streams: rows are placed on pad-colour rows as they flow (issue #18)")
    func streamedJPEGPad() throws {
        // A smooth picture, so JPEG at q=90 stays well above 40 dB.
        var pixels = [UInt8](repeating: 0, count: 1500 * 400 * 3)
        for y in 0..<400 { for x in 0..<1500 {
            let i = (y * 1500 + x) * 3
            pixels[i] = UInt8(x * 255 / 1499); pixels[i + 1] = UInt8(y * 255 / 399); pixels[i + 2] = UInt8((x + y) * 255 / 1898)
        } }
        let source = try Image(width: 1500, height: 400, format: .rgb, pixels: pixels)
        let bytes = try ImageCodec.encodeJPEG(source).bytes
        let decoded = try ImageCodec.decode(bytes).image
        var options = PrepareOptions()
        options.background = Color(red: 200, green: 30, blue: 90)
        // No resampling: exactly the bytes of decode, pad, encode at the start quality.
        let plan = PreparePlan(upright: Size(width: 1500, height: 400), options: options)
        let padded = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "w")
        let whole = decoded.padded(to: plan.canvas, at: (plan.originX, plan.originY), color: options.background)
        #expect(padded.encoded.bytes == (try ImageCodec.encodeJPEG(whole, options: JPEGEncodeOptions(quality: 90, optimizeHuffman: false))).bytes)
        #expect(padded.actions.texts == ["padded 1500x400->1500x600", "re-encoded jpeg q=90"])
        // Resampled as well: the streamed route shrinks on load by powers of two only, so 1500 -> 900 px
        // decodes whole (the in-memory route would decode at 5/8), and looks like resize + pad.
        options.maxSide = 900
        let small = PreparePlan(upright: Size(width: 1500, height: 400), options: options)
        let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "w")
        #expect(!prepared.actions.texts.contains { $0.hasPrefix("shrink-on-load") })
        #expect(prepared.actions.texts.contains("padded \(small.content.width)x\(small.content.height)->900x360"))
        #expect(prepared.width == 900 && prepared.height == 360)
        // What the in-memory route made: decode at 5/8, resize, pad, encode.
        var fiveEighths = DecodeOptions()
        fiveEighths.jpegScaleEighths = 5
        let inMemory = try ImageCodec.decode(bytes, options: fiveEighths).image
            .resized(to: small.content, filter: .lanczos3, threads: 1)
            .padded(to: small.canvas, at: (small.originX, small.originY), color: options.background)
        let expected = try ImageCodec.decode(ImageCodec.encodeJPEG(inMemory, options: JPEGEncodeOptions(optimizeHuffman: false)).bytes).image
        let db = preparePSNR(try ImageCodec.decode(prepared.encoded.bytes).image, expected)
        #expect(db >= 40, "PSNR \(db) dB")
    }

    @Test("the ICC profile is carried over when it matches the pixels, dropped when it does not")
    func iccProfiles() throws {
        var rgbProfile = [UInt8](repeating: 0, count: 200)
        rgbProfile.replaceSubrange(16..<20, with: Array("RGB ".utf8))
        #expect(ReferenceImagePreparer.profileMatches(rgbProfile, gray: false))
        #expect(!ReferenceImagePreparer.profileMatches(rgbProfile, gray: true))
        #expect(!ReferenceImagePreparer.profileMatches(Array(rgbProfile.prefix(64)), gray: false))
        // A gray JPEG carrying an RGB profile: enlarged, and the mismatched profile is not copied.
        let mismatched = try ReferenceImagePreparer().prepare(bytes: PrepareCorpus.bytes("jpeg/moz_jpg-srgb-icc.jpg"), name: "icc")
        #expect(mismatched.actions.texts.contains("dropped ICC profile (colour space does not match)"))
        #expect(try ImageCodec.decode(mismatched.encoded.bytes).iccProfile == nil)
        // An RGB image with an RGB profile keeps it through a re-encode.
        let photo = try ImageCodec.decode(PrepareCorpus.bytes("exif-orientation/Landscape_1.jpg"), options: DecodeOptions(jpegScale: 8)).image
        let tagged = try ImageCodec.encodeJPEG(photo, options: JPEGEncodeOptions(iccProfile: ImageCodec.decode(PrepareCorpus.bytes("jpeg/moz_jpg-srgb-icc.jpg")).iccProfile))
        let kept = try ReferenceImagePreparer().prepare(bytes: tagged.bytes, name: "tagged")
        #expect(kept.actions.texts.contains { $0.hasPrefix("resized") })
        #expect(try ImageCodec.decode(kept.encoded.bytes).iccProfile != nil)
    }

    @Test("undecodable and non-image input is refused with the rule named")
    func refusals() {
        #expect(throws: PrepareError(.unsupportedFormat, "")) {
            do { _ = try preparer.prepare(bytes: Array("GIF89a hello".utf8), name: "x.gif") } catch let e as PrepareError {
                throw PrepareError(e.code, "")
            }
        }
        let truncated = Array((try? PrepareCorpus.bytes("exif-orientation/Landscape_1.jpg"))?.prefix(20_000) ?? [])
        #expect(throws: PrepareError.self) { try preparer.prepare(bytes: truncated, name: "t.jpg") }
    }

    func noise(width: Int, height: Int) -> Image {
        var state: UInt32 = 12345
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<pixels.count {
            state = state &* 1_664_525 &+ 1_013_904_223
            pixels[i] = UInt8(truncatingIfNeeded: (state >> 24) / 2 + UInt32(i / 3 % width) / 12)
        }
        return try! Image(width: width, height: height, format: .rgb, pixels: pixels)
    }
}

/// Options and plans that would make an output the rules refuse (issue #18).
@Suite("Prepare output limits")
struct PrepareOutputLimitTests {
    @Test("a minimum side whose square is over the pixel limit is refused before any input is read")
    func minSideOverLimit() throws {
        var options = PrepareOptions()
        options.minSide = 20_000
        #expect(options.outputLimitError?.code == .options)
        let png = try ImageCodec.encodePNG(Image(width: 400, height: 300, format: .rgb, fill: .white)).bytes
        #expect(throws: PrepareError.self) { try ReferenceImagePreparer(options: options).prepare(bytes: png, name: "small") }
        do {
            _ = try ReferenceImagePreparer(options: options).prepare(bytes: png, name: "small")
        } catch let error as PrepareError {
            #expect(error.code == .options && error.message.contains("400,000,000"), "\(error)")
        }
        options.minSide = 10_000   // exactly 100,000,000: a square output is still allowed
        #expect(options.outputLimitError == nil)
    }

    @Test("a plan over the pixel limit (minimum side and a kept aspect ratio) is refused before decoding")
    func planOverLimit() throws {
        var options = PrepareOptions()
        options.minSide = 9_000
        options.fit = .crop
        let wide = try ImageCodec.encodePNG(Image(width: 2_000, height: 500, format: .gray, fill: .black)).bytes
        do {
            let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: wide, name: "wide")
            Issue.record("prepared \(prepared.width)x\(prepared.height) instead of refusing")
        } catch let error as PrepareError {
            #expect(error.code == .tooManyPixels && error.message.contains("22500x9000"), "\(error)")
        }
    }
}
