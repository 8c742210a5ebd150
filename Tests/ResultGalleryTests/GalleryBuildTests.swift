import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing
@testable import ResultGallery

/// Galleries built from real files on disk: result folders as `klingkit generate` writes them (task.json,
/// request.json, numbered images), manifests and plain folders, decoded and thumbnailed by the real codecs.
@Suite("Gallery from result folders, manifests and plain folders")
struct GalleryBuildTests {
    /// A fresh temporary folder, removed by the caller.
    static func temporary() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gallery-tests-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// A gradient picture, encoded, so each file is different and decodes to known dimensions.
    static func picture(_ width: Int, _ height: Int, seed: Int, as format: ImageFormat) throws -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let o = (y * width + x) * 3
                pixels[o] = UInt8((x * 255 / max(1, width - 1) + seed * 40) & 0xFF)
                pixels[o + 1] = UInt8((y * 255 / max(1, height - 1)) & 0xFF)
                pixels[o + 2] = UInt8((seed * 70) & 0xFF)
            }
        }
        let image = try Image(width: width, height: height, format: .rgb, pixels: pixels)
        return try ImageCodec.encode(image, as: format).bytes
    }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func writeJSON(_ text: String, _ path: String) throws { try write(Array(text.utf8), path) }

    static func load(_ dir: String) throws -> GalleryDocument {
        try JSONDecoder().decode(GalleryDocument.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/gallery.json")))
    }

    /// `<out>/<task>/` folders like `generate` leaves: task.json, request.json with a local reference.
    static func makeResults(in root: String) throws -> (out: String, reference: String) {
        let out = root + "/out"
        let reference = root + "/refs/face portrait.jpg"
        try write(try picture(640, 480, seed: 9, as: .jpeg), reference)
        try writeJSON(#"{"task_id":"T-100","external_task_id":"e1","files":["0.png","1.png","0-watermark.png"],"prompt":"a red fox","task_status":"succeed","final_unit_deduction":"2","created_at":1700000000000,"updated_at":1700000012500}"#, out + "/T-100/task.json")
        try writeJSON(#"{"kind":"image_generation","prompt":"a red fox","negative_prompt":"blur","model":"kling-v1-5","n":2,"aspect_ratio":"4:3","resolution":"1k","image":"\#(reference)","image_reference":"subject","image_fidelity":0.6,"human_fidelity":0.3}"#, out + "/T-100/request.json")
        for i in 0..<2 { try write(try picture(800, 600, seed: i, as: .png), out + "/T-100/\(i).png") }
        try write(try picture(800, 600, seed: 7, as: .png), out + "/T-100/0-watermark.png")
        // A second task: no request.json (an older folder), JPEG results, three of them, natural order.
        try writeJSON(#"{"task_id":"T-200","prompt":"a blue whale","task_status":"succeed"}"#, out + "/T-200/task.json")
        for i in [2, 10, 1] { try write(try picture(300, 500, seed: i, as: .jpeg), out + "/T-200/\(i).jpg") }
        return (out, reference)
    }

    @Test("result folders: one group per task, the reference first, every fact from task.json and request.json")
    func resultFolders() throws {
        let root = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (out, reference) = try Self.makeResults(in: root)
        let dir = root + "/gallery"
        let result = try Gallery.write(inputs: [out], to: dir)
        #expect(result.groups == 2 && result.results == 5 && result.references == 1)
        #expect(result.failures.isEmpty, "\(result.failures)")
        let doc = try Self.load(dir)
        #expect(doc.format == "klingkit-gallery/1")
        #expect(doc.groups.map(\.id) == ["task:T-100", "task:T-200"])
        let first = doc.groups[0]
        #expect(first.entries.map(\.role) == ["reference", "result", "result"], "the watermarked copy is left out")
        #expect(first.entries.map(\.id) == ["T-100/ref1", "T-100#0", "T-100#1"])
        #expect(first.outputFolder == out)
        #expect(first.request?.image == reference)
        let ref = first.entries[0]
        #expect(ref.referenceRole == "image" && ref.width == 640 && ref.height == 480 && ref.format == "jpeg")
        #expect(ref.href == "../refs/face%20portrait.jpg")
        let r0 = first.entries[1]
        #expect(r0.taskID == "T-100" && r0.index == 0 && r0.externalTaskID == "e1")
        #expect(r0.prompt == "a red fox" && r0.negativePrompt == "blur" && r0.model == "kling-v1-5")
        #expect(r0.aspectRatio == "4:3" && r0.resolution == "1k" && r0.imageReference == "subject")
        #expect(r0.imageFidelity == 0.6 && r0.humanFidelity == 0.3)
        #expect(r0.finalUnitDeduction == "2" && r0.wallTimeSeconds == 12.5)
        #expect(r0.width == 800 && r0.height == 600 && r0.format == "png")
        #expect(r0.bytes == (try FileManager.default.attributesOfItem(atPath: out + "/T-100/0.png")[.size] as? Int))
        #expect(r0.href == "../out/T-100/0.png")
        let second = doc.groups[1]
        #expect(second.entries.map(\.index) == [1, 2, 10])
        #expect(second.entries.allSatisfy { $0.prompt == "a blue whale" && $0.model == nil })
        // Every thumbnail exists, is a JPEG fitted into 320 px with the source's aspect, and the hrefs resolve.
        for entry in doc.groups.flatMap(\.entries) {
            let thumb = try #require(entry.thumbnail)
            let decoded = try ImageCodec.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/" + thumb))))
            #expect(decoded.header.format == .jpeg)
            let (w, h) = (try #require(entry.width), try #require(entry.height))
            #expect(max(decoded.image.width, decoded.image.height) == min(320, max(w, h)))
            #expect(abs(Double(decoded.image.width) / Double(decoded.image.height) - Double(w) / Double(h)) < 0.02)
            let target = URL(fileURLWithPath: dir + "/").appendingPathComponent(entry.href.removingPercentEncoding!).standardizedFileURL.path
            #expect(FileManager.default.fileExists(atPath: target), "\(entry.href)")
        }
        // gallery.js carries the same document for file:// pages; index.html loads it and has no remote URLs.
        let script = try String(contentsOfFile: dir + "/gallery.js", encoding: .utf8)
        let prefix = "window.KLINGKIT_GALLERY = "
        #expect(script.hasPrefix(prefix) && script.hasSuffix(";\n"))
        let embedded = try JSONDecoder().decode(GalleryDocument.self, from: Data(script.dropFirst(prefix.count).dropLast(2).utf8))
        #expect(embedded.groups.flatMap(\.entries).map(\.id) == doc.groups.flatMap(\.entries).map(\.id))
        let html = try String(contentsOfFile: dir + "/index.html", encoding: .utf8)
        #expect(html.contains(#"<script src="gallery.js"></script>"#))
        #expect(!html.contains("http://") && !html.contains("https://"), "no CDN or remote resource")
        #expect(!html.contains("data:image"), "pictures are linked, never embedded")
    }

    @Test("a manifest.jsonl: one group per line, bad lines skipped with their number, relative files and references")
    func manifest() throws {
        let root = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let batch = root + "/batch"
        try Self.write(try Self.picture(200, 200, seed: 1, as: .jpeg), batch + "/ref.jpg")
        try Self.write(try Self.picture(256, 128, seed: 2, as: .png), batch + "/results/a/0.png")
        try Self.write(try Self.picture(256, 128, seed: 3, as: .png), batch + "/results/a/1.png")
        try Self.write(try Self.picture(128, 256, seed: 4, as: .jpeg), batch + "/9001/0.jpg")
        let lines = [
            #"{"line":1,"id":"hero","task_id":"9000","status":"succeed","files":["results/a/0.png","results/a/1.png"],"request":{"prompt":"hero shot","model":"kling-v2","image":"ref.jpg"},"final_unit_deduction":1.5}"#,
            "not json at all",
            "",
            #"{"task_id":"9001","prompt":"top-level prompt","aspect_ratio":"9:16","created_at":1000,"updated_at":4000}"#,
            #"{"line":4,"status":"failed","task_status_msg":"content policy","prompt":"nope"}"#,
        ]
        try Self.writeJSON(lines.joined(separator: "\n") + "\n", batch + "/manifest.jsonl")
        let dir = root + "/g"
        let result = try Gallery.write(inputs: [batch + "/manifest.jsonl"], to: dir)
        #expect(result.warnings.count == 1)
        #expect(result.warnings.first?.contains("manifest.jsonl:2:") == true, "\(result.warnings)")
        let doc = try Self.load(dir)
        #expect(doc.groups.map(\.id) == ["line:1", "line:4", "line:4~2"] || doc.groups.map(\.line) == [1, 4, 4])
        let hero = doc.groups[0]
        #expect(hero.kind == "batch-line" && hero.label.contains("hero") && hero.label.contains("9000"))
        #expect(hero.entries.map(\.role) == ["reference", "result", "result"])
        #expect(hero.entries[0].href == "../batch/ref.jpg" && hero.entries[0].width == 200)
        #expect(hero.entries[1].prompt == "hero shot" && hero.entries[1].model == "kling-v2" && hero.entries[1].finalUnitDeduction == "1.5")
        let second = doc.groups[1]
        #expect(second.taskID == "9001" && second.entries.count == 1)
        #expect(second.entries[0].prompt == "top-level prompt" && second.entries[0].aspectRatio == "9:16")
        #expect(second.entries[0].wallTimeSeconds == 3 && second.entries[0].width == 128 && second.entries[0].height == 256)
        let failed = doc.groups[2]
        #expect(failed.status == "failed" && failed.message == "content policy" && failed.entries.isEmpty)
    }

    @Test("a damaged image is listed with its error and no thumbnail; the rest of the gallery is made")
    func damaged() throws {
        let root = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.write(try Self.picture(100, 80, seed: 1, as: .jpeg), root + "/pics/good.jpg")
        var broken = try Self.picture(100, 80, seed: 2, as: .png)
        broken.removeLast(broken.count / 2)
        try Self.write(broken, root + "/pics/broken.png")
        let result = try Gallery.write(inputs: [root + "/pics"], to: root + "/g")
        #expect(result.failures.count == 1 && result.failures[0].contains("broken.png"), "\(result.failures)")
        let doc = try Self.load(root + "/g")
        #expect(doc.groups.count == 1 && doc.groups[0].kind == "folder" && doc.groups[0].label == "pics")
        let byName = Dictionary(uniqueKeysWithValues: doc.groups[0].entries.map { ($0.name, $0) })
        #expect(byName["broken.png"]?.thumbnail == nil && byName["broken.png"]?.error?.contains("broken.png") == true)
        #expect(byName["good.jpg"]?.thumbnail != nil && byName["good.jpg"]?.width == 100)
    }

    @Test("inputs that do not exist or hold nothing are refused with one line naming them; nothing is written")
    func badInputs() throws {
        let root = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: GalleryError.self) { try Gallery.write(inputs: [root + "/missing"], to: root + "/g") }
        do {
            try Gallery.write(inputs: [root + "/missing"], to: root + "/g")
        } catch {
            #expect(error.code == .input && error.message == "\(root)/missing: no such file or directory")
        }
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        do {
            try Gallery.write(inputs: [root + "/empty"], to: root + "/g")
            Issue.record("an empty folder made a gallery")
        } catch {
            #expect(error.code == .input && error.message.hasPrefix("\(root)/empty: "))
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/g/index.html"))
        var options = GalleryOptions()
        options.thumbnailSize = 20
        #expect(throws: GalleryError.self) { try Gallery.write(inputs: [root], to: root + "/g", options: options) }
    }

    @Test("running again keeps unchanged thumbnails, remakes changed ones and removes those no longer used")
    func rerun() throws {
        let root = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for i in 0..<3 { try Self.write(try Self.picture(120, 90, seed: i, as: .jpeg), root + "/pics/\(i).jpg") }
        try Gallery.write(inputs: [root + "/pics"], to: root + "/g")
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: root + "/g/thumbs"))
        #expect(before.count == 3)
        try FileManager.default.removeItem(atPath: root + "/pics/2.jpg")
        try Self.write(try Self.picture(60, 90, seed: 5, as: .jpeg), root + "/pics/1.jpg")
        let modified = Date(timeIntervalSinceNow: 10)
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: root + "/pics/1.jpg")
        try Gallery.write(inputs: [root + "/pics"], to: root + "/g")
        let after = Set(try FileManager.default.contentsOfDirectory(atPath: root + "/g/thumbs"))
        #expect(after.count == 2)
        #expect(after.intersection(before).count == 1, "0.jpg's thumbnail is kept, 1.jpg's remade, 2.jpg's removed")
        let doc = try Self.load(root + "/g")
        #expect(doc.groups[0].entries.map(\.width) == [120, 60])
    }

    @Test("hrefs are relative, percent-encoded URLs that resolve to the file from the gallery folder, whatever the name")
    func awkwardNames() throws {
        let root = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let names = ["a #1 %20?.png", "ü & 'quote'.png", "semi;colon.png"]
        for (i, name) in names.enumerated() { try Self.write(try Self.picture(40, 30, seed: i, as: .png), root + "/dir ü/\(name)") }
        try Gallery.write(inputs: [root + "/dir ü"], to: root + "/out/g")
        let doc = try Self.load(root + "/out/g")
        let base = URL(fileURLWithPath: root + "/out/g/", isDirectory: true)
        for entry in doc.groups[0].entries {
            #expect(!entry.href.contains(" ") && !entry.href.contains("#") && !entry.href.contains("?"), "\(entry.href)")
            let resolved = try #require(URL(string: entry.href, relativeTo: base)).standardizedFileURL.path
            #expect(resolved == root + "/dir ü/" + entry.name, "\(entry.href)")
        }
        #expect(Set(doc.groups[0].entries.map(\.name)) == Set(names))
    }

    @Test("the gallery's own folder (and its thumbnails) inside an input is never taken for results")
    func outputInsideInput() throws {
        let root = try Self.temporary()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for name in ["a", "b", "c"] { try Self.write(try Self.picture(50, 40, seed: name.count, as: .jpeg), root + "/pics/\(name).jpg") }
        // Written into the folder it shows, twice: the second run must not list thumbs/ as a folder of results.
        try Gallery.write(inputs: [root + "/pics"], to: root + "/pics")
        let again = try Gallery.write(inputs: [root + "/pics"], to: root + "/pics")
        #expect(again.results == 3 && again.groups == 1, "\(again)")
        #expect(try Self.load(root + "/pics").groups.map(\.label) == ["pics"])
        // The gallery folder alone holds no results.
        #expect(throws: GalleryError.self) { try Gallery.write(inputs: [root + "/pics/thumbs"], to: root + "/pics") }
    }
}
