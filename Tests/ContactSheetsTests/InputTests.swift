import Foundation
import Testing
@testable import ContactSheets

@Suite("Sheet inputs")
struct InputTests {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "klingkit-sheets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func touch(_ path: String, _ text: String = "x") {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    @Test("directories list JPEG/PNG files in natural order, skipping others")
    func directory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["img10.png", "img2.JPG", "img1.jpeg", "notes.txt", ".hidden.png", "b.png"] { touch(dir + "/" + name) }
        let items = try ContactSheet.items(from: [dir])
        #expect(items.map(\.source.name) == ["b.png", "img1.jpeg", "img2.JPG", "img10.png"])
        #expect(items.map(\.caption) == ["b.png", "img1.jpeg", "img2.JPG", "img10.png"])
    }

    @Test("a generate output folder gives task id + index captions and the prompt from the manifest")
    func generateOutput() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        for task in ["778899", "112233"] {
            try FileManager.default.createDirectory(atPath: out + "/" + task, withIntermediateDirectories: true)
            for index in [0, 1, 10, 2] { touch("\(out)/\(task)/\(index).png") }
        }
        touch(out + "/778899/task.json", #"{"task_id": "778899", "request": {"prompt": "a red fox in snow", "n": 4}}"#)
        touch(out + "/journal.json", #"{"tasks": [{"task_id": "112233", "prompt": "a lighthouse at dusk"}, {"task_id": "x", "prompt": "no"}]}"#)
        let items = try ContactSheet.items(from: [out])
        #expect(items.map(\.caption) == ["112233 #0", "112233 #1", "112233 #2", "112233 #10",
                                         "778899 #0", "778899 #1", "778899 #2", "778899 #10"])
        #expect(items[0].subcaption == "a lighthouse at dusk")
        #expect(items[4].subcaption == "a red fox in snow")
        // A single task folder, or one file of it, works the same.
        let single = try ContactSheet.items(from: [out + "/778899/1.png"])
        #expect(single.map(\.caption) == ["778899 #1"])
        #expect(single[0].subcaption == "a red fox in snow")
    }

    @Test("watermarked copies are left out beside their originals, captioned when alone or named")
    func watermarked() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try FileManager.default.createDirectory(atPath: out + "/t1", withIntermediateDirectories: true)
        for name in ["0.png", "0-watermark.png", "1-watermark.png"] { touch("\(out)/t1/\(name)") }
        let items = try ContactSheet.items(from: [out + "/t1"])
        #expect(items.map(\.caption) == ["t1 #0", "t1 #1 watermarked"])
        let named = try ContactSheet.items(from: [out + "/t1/0-watermark.png"])
        #expect(named.map(\.caption) == ["t1 #0 watermarked"])
    }

    @Test("a task folder without a manifest still gives task captions, without a prompt")
    func noManifest() throws {
        let out = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        try FileManager.default.createDirectory(atPath: out + "/abc", withIntermediateDirectories: true)
        touch(out + "/abc/0.jpg")
        let items = try ContactSheet.items(from: [out + "/abc"])
        #expect(items.map(\.caption) == ["abc #0"])
        #expect(items[0].subcaption == nil)
    }

    @Test("missing paths and empty folders are errors naming the path")
    func errors() throws {
        #expect(throws: SheetError.self) { try ContactSheet.items(from: ["/nonexistent/klingkit"]) }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        touch(dir + "/readme.txt")
        do {
            _ = try ContactSheet.items(from: [dir])
            Issue.record("an empty folder was accepted")
        } catch let error as SheetError {
            #expect(error.message.contains(dir))
        }
    }

    @Test("natural order compares digit runs by value")
    func natural() {
        let names = ["a10", "a2", "a1", "B3", "a02", "a"]
        #expect(names.sorted(by: ContactSheet.naturalOrder) == ["a", "a1", "a2", "a02", "a10", "B3"])
    }
}
