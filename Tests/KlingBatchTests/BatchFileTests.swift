import Foundation
import KlingAPI
import KlingBatch
import KlingKit
import KlingKitCLI
import KlingKitTestSupport
import NIOConcurrencyHelpers
import Testing

/// A reference-image checker that counts its calls (to prove each distinct content is checked once).
final class CountingChecks: ReferenceImageProcessor {
    let inner = ReferenceImageChecks()
    let calls = NIOLockedValueBox<[String]>([])
    var maxImageBytes: Int { inner.maxImageBytes }
    func prepareUpload(_ bytes: [UInt8], name: String, prepare: Bool) -> ReferenceImageVerdict {
        calls.withLockedValue { $0.append(name) }
        return inner.prepareUpload(bytes, name: name, prepare: prepare)
    }
    func checkRemote(_ bytes: [UInt8], name: String) -> String? { inner.checkRemote(bytes, name: name) }
    func inspectResult(_ bytes: [UInt8]) -> Result<ResultImageFacts, ResultImageProblem> { inner.inspectResult(bytes) }
}

func temporaryFolder(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("klingbatch-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("Batch files")
struct BatchFileTests {
    @Test("JSON Lines: the defaults line, --set and a line's own fields, in that order of precedence; flag and API names alike")
    func jsonLinesPrecedence() throws {
        let text = """
            {"defaults": {"model": "kling-v2", "aspect_ratio": "1:1", "n": 2}}
            {"id": "a", "prompt": "one"}
            {"prompt": "two", "aspect-ratio": "9:16", "model_name": "kling-v1-5"}

            {"id": 7, "prompt": "three", "subject_image_list": [{"subject_image": "s.png"}, "https://x.example/b.jpg"], "scene": "/abs/scene.jpg"}
            """
        let file = try BatchFile.parse(text, path: "b.jsonl", baseDirectory: "/data/batch", overrides: ["n=3", "resolution=2k"])
        #expect(file.problems.isEmpty, "\(file.problems)")
        #expect(file.lines.map(\.id) == ["a", "line-3", "7"])
        #expect(file.lines.map(\.number) == [2, 3, 5])
        let a = file.lines[0].spec, b = file.lines[1].spec, c = file.lines[2].spec
        #expect(a.model == "kling-v2" && a.aspectRatio == "1:1" && a.n == 3 && a.resolution == "2k")   // --set beats defaults
        #expect(b.model == "kling-v1-5" && b.aspectRatio == "9:16")                                     // the line beats both
        #expect(c.isMulti && c.subjects == ["/data/batch/s.png", "https://x.example/b.jpg"] && c.scene == "/abs/scene.jpg")
        #expect(c.kind == .multiImage && a.kind == .generation)
    }

    @Test("CSV: a header row of field names, empty cells unset, lists split on |, rows numbered from the header")
    func csvRows() throws {
        let text = "id,prompt,n,watermark,element_ids,image\nx1,\"a, quoted prompt\",2,yes,1|9007199254740993,\n,plain,,,,pic.jpg\n"
        let file = try BatchFile.parse(text, path: "b.csv", baseDirectory: "/in")
        #expect(file.problems.isEmpty, "\(file.problems)")
        #expect(file.lines.count == 2)
        #expect(file.lines[0].id == "x1" && file.lines[0].spec.prompt == "a, quoted prompt" && file.lines[0].spec.n == 2)
        #expect(file.lines[0].spec.watermark == true && file.lines[0].spec.elementIDs == [1, 9_007_199_254_740_993])
        #expect(file.lines[1].id == "line-3" && file.lines[1].spec.n == nil && file.lines[1].spec.image == "/in/pic.jpg")
    }

    @Test("every problem of every line is listed with its line number and field, before anything is sent")
    func everyProblemListed() async throws {
        let text = """
            {"prompt": "fine", "id": "ok"}
            {"prompt": "broken"
            {"prompt": "x", "colour": "red"}
            {"prompt": "x", "n": "two"}
            {"prompt": "dup", "id": "ok"}
            {"prompt": "x", "external_task_id": "mine"}
            {"n": 1}
            {"prompt": "x", "n": 12}
            {"prompt": "x", "negative_prompt": "y", "image": "https://example.com/a.jpg"}
            {"prompt": "x", "id": "no spaces allowed"}
            [1, 2]
            """
        let file = try BatchFile.parse(text, path: "bad.jsonl", baseDirectory: "/tmp")
        let validation = await BatchValidator(images: ReferenceImageChecks(), budget: 10).validate(file)
        let byLine = Dictionary(grouping: validation.problems, by: \.line)
        #expect(byLine[1] == nil)
        #expect(byLine[2]?.first?.message.contains("not valid JSON") == true)
        #expect(byLine[3]?.first?.field == "colour")
        #expect(byLine[4]?.first?.field == "n")
        #expect(byLine[5]?.first?.message.contains("already the id of line 1") == true)
        #expect(byLine[6]?.first?.field == "external_task_id")
        #expect(byLine[7]?.contains { $0.field == "prompt" } == true)
        #expect(byLine[8]?.contains { $0.field == "n" } == true)
        #expect(byLine[9]?.contains { $0.field == "negative_prompt" } == true)
        #expect(byLine[10]?.first?.field == "id")
        #expect(byLine[11]?.first?.message.contains("JSON object") == true)
        #expect(Set(validation.problems.map(\.line)) == Set(2...11))
        #expect(validation.problems.allSatisfy { $0.description.hasPrefix("bad.jsonl:\($0.line): ") })
    }

    @Test("n above the budget is refused at validation: such a line could never run")
    func nAboveBudget() async throws {
        let file = try BatchFile.parse("{\"prompt\": \"x\", \"n\": 6}\n", path: "b.jsonl", baseDirectory: "/tmp")
        let problems = await BatchValidator(images: nil, budget: 5).validate(file).problems
        #expect(problems.count == 1 && problems[0].field == "n" && problems[0].message.contains("budget of 5"))
    }

    @Test("each distinct image content is checked once, however many lines and paths name it; a bad one is reported on every line using it",
          .enabled(if: TestCorpus.available))
    func imagesOncePerContent() async throws {
        let dir = try temporaryFolder("images")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = TestCorpus.path("png/pillow_test-card.png")
        try FileManager.default.copyItem(atPath: good, toPath: dir.appendingPathComponent("copy.png").path)
        try FileManager.default.copyItem(atPath: TestCorpus.path("png-suite/basn2c08.png"), toPath: dir.appendingPathComponent("tiny.png").path)
        let text = """
            {"prompt": "1", "image": "\(good)"}
            {"prompt": "2", "image": "copy.png"}
            {"prompt": "3", "image": "./copy.png"}
            {"prompt": "4", "image": "tiny.png"}
            {"prompt": "5", "subjects": ["tiny.png", "copy.png"]}
            {"prompt": "6", "image": "missing.png"}
            """
        try Data(text.utf8).write(to: dir.appendingPathComponent("b.jsonl"))
        let file = try BatchFile.load(path: dir.appendingPathComponent("b.jsonl").path)
        let checks = CountingChecks()
        let store = try ReferenceStore(directory: dir.appendingPathComponent("refs").path)
        let validation = await BatchValidator(images: checks, store: store).validate(file)
        #expect(checks.calls.withLockedValue { $0.count } == 2)   // the test card (3 paths) and the tiny PNG
        #expect(validation.distinctImages == 2)
        #expect(Set(validation.problems.map(\.line)) == [4, 5, 6])
        #expect(validation.problems.first { $0.line == 5 }?.field == "subject_image_list[0].subject_image")
        #expect(validation.problems.first { $0.line == 6 }?.message.contains("cannot be read") == true)
        let digest = try #require(validation.digests[good])
        #expect(validation.digests[dir.appendingPathComponent("copy.png").path] == digest)
        #expect(try store.has(digest) && !store.get(digest).isEmpty)
    }

    @Test("the content id is stable for the same lines and changes when a line changes")
    func contentID() throws {
        let one = try BatchFile.parse("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n", path: "x.jsonl", baseDirectory: "/")
        let same = try BatchFile.parse("{\"prompt\":\"a\"}\n\n{\"prompt\":  \"b\"}\n", path: "y.jsonl", baseDirectory: "/")
        let other = try BatchFile.parse("{\"prompt\": \"a\"}\n{\"prompt\": \"c\"}\n", path: "x.jsonl", baseDirectory: "/")
        #expect(one.contentID.count == 16)
        // Blank lines move line numbers (line-3 instead of line-2): a different batch, on purpose.
        #expect(one.contentID != same.contentID)
        #expect(one.contentID == (try BatchFile.parse("{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n", path: "z", baseDirectory: "/", format: .jsonLines)).contentID)
        #expect(one.contentID != other.contentID)
    }

    @Test("a malformed --set or a file that cannot be read is one error naming it")
    func badInputs() throws {
        #expect(throws: BatchError.self) { try BatchFile.parse("{}", path: "x.jsonl", baseDirectory: "/", overrides: ["nokey"]) }
        #expect(throws: BatchError.self) { try BatchFile.parse("{}", path: "x.jsonl", baseDirectory: "/", overrides: ["colour=red"]) }
        do {
            _ = try BatchFile.load(path: "/nonexistent/batch.jsonl")
            Issue.record("a missing file was read")
        } catch {
            #expect(error.code == .file && error.message.hasPrefix("/nonexistent/batch.jsonl:"))
        }
    }
}

@Suite("AIMD window")
struct AIMDWindowTests {
    @Test("halves on 1303 (once per cooldown), never below 1, grows back by n/window up to the budget")
    func window() {
        var w = AIMDWindow(maximum: 16, cooldownSeconds: 1)
        #expect(w.cap == 16)
        w.concurrencyLimited(at: 0)
        w.concurrencyLimited(at: 0.5)    // same burst
        #expect(w.cap == 8 && w.decreases == 1)
        w.concurrencyLimited(at: 2)
        #expect(w.cap == 4)
        for _ in 0..<4 { w.taskEnded(slots: 1) }
        #expect(w.cap == 4 || w.cap == 5)
        for _ in 0..<200 { w.taskEnded(slots: 1) }
        #expect(w.cap == 16)
        for t in 0..<10 { w.concurrencyLimited(at: Double(10 + 2 * t)) }
        #expect(w.cap == 1)
    }
}

@Suite("Callback hints")
struct CallbackHintsTests {
    @Test("bare and enveloped task objects are accepted once per (task_id, task_status); anything else is unreadable")
    func dedupe() async {
        let hints = CallbackHints()
        let bare = Array(#"{"task_id": "T1", "task_status": "processing"}"#.utf8)
        let enveloped = Array(#"{"code": 0, "message": "SUCCEED", "request_id": "r", "data": {"task_id": "T1", "task_status": "succeed"}}"#.utf8)
        #expect(hints.deliver(bare) == .accepted)
        #expect(hints.deliver(bare) == .duplicate)
        #expect(hints.deliver(enveloped) == .accepted)
        #expect(hints.deliver(enveloped) == .duplicate)
        #expect(hints.deliver(Array("not json".utf8)) == .unreadable)
        #expect(hints.deliver(Array(#"{"task_status": "succeed"}"#.utf8)) == .unreadable)
        hints.finish()
        var ids: [String] = []
        for await id in hints.stream { ids.append(id) }
        #expect(ids == ["T1", "T1"])
        #expect(hints.statistics.accepted == 2 && hints.statistics.duplicates == 2 && hints.statistics.unreadable == 2)
    }

    @Test("a manifest line names each reference by its role (image with image_reference, subjects, scene, style) beside the flat list")
    func manifestReferenceRoles() throws {
        var spec = BatchSpec()
        spec.prompt = "two friends"
        spec.subjects = ["/in/a.jpg", "https://x.example/b.jpg"]
        spec.scene = "/in/park.jpg"
        let request = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        let job = BatchJob(batchID: "b1", line: 2, lineID: "pair", externalTaskID: "kkb-b1-pair", kind: .multiImage, slots: 1, request: request)
        let line = try ManifestEntry(job).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["references"] as? [String] == ["/in/a.jpg", "https://x.example/b.jpg", "/in/park.jpg"])
        #expect(object["subjects"] as? [String] == ["/in/a.jpg", "https://x.example/b.jpg"] && object["scene"] as? String == "/in/park.jpg")
        #expect(object["image"] is NSNull && object["style"] is NSNull)
        #expect(line.hasSuffix("\"references\":[\"/in/a.jpg\",\"https://x.example/b.jpg\",\"/in/park.jpg\"],\"image\":null,\"image_reference\":null,"
                               + "\"subjects\":[\"/in/a.jpg\",\"https://x.example/b.jpg\"],\"scene\":\"/in/park.jpg\",\"style\":null}"), "\(line)")
    }
}
