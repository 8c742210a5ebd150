import Foundation
import KlingKitTestSupport
import KlingEmulator
import KlingModels
import Testing

/// Compares the JSON key paths of the emulator's answers with the vendor's examples in `shared/seeds`.
@Suite("Response shapes match the vendor's examples")
struct SeedShapeTests {
    /// Every top-level `{...}` block of a seed file that is a response envelope (has `"code"`), parsed
    /// after dropping `//` comments and turning the `boolean` placeholder into `true`.
    static func responseExamples(_ file: String) throws -> [JSONValue] {
        let text = try String(contentsOf: Fixtures.seeds.appendingPathComponent(file), encoding: .utf8)
        var blocks: [String] = []
        var depth = 0, inString = false, escaped = false, start: String.Index?
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" && depth > 0 {
                inString = true
            } else if c == "/" && depth > 0 && text[text.index(after: index)...].hasPrefix("/") {
                index = text[index...].firstIndex(of: "\n") ?? text.endIndex
                continue
            } else if c == "{" {
                if depth == 0 { start = index }
                depth += 1
            } else if c == "}" && depth > 0 {
                depth -= 1
                if depth == 0, let s = start { blocks.append(String(text[s...index])) }
            }
            index = text.index(after: index)
        }
        return try blocks.compactMap { block -> JSONValue? in
            let cleaned = block.split(separator: "\n").map { line -> String in
                // strip a trailing // comment outside strings (the examples put them after commas)
                var out = "", inString = false, previous: Character = " "
                for ch in line {
                    if ch == "\"" && previous != "\\" { inString.toggle() }
                    if !inString && ch == "/" && previous == "/" { out.removeLast(); break }
                    out.append(ch)
                    previous = ch
                }
                return out
            }.joined(separator: "\n").replacingOccurrences(of: ": boolean", with: ": true")
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(cleaned.utf8)), value["code"] != nil else { return nil }
            return value
        }
    }

    /// Key paths, with list elements folded into `[]`.
    static func keys(_ value: JSONValue) -> Set<String> { value.keyPaths() }

    @Test("the seed files parse into the examples this test relies on")
    func seedsParse() throws {
        #expect(try Self.responseExamples("003_70414022511911b6.txt").count == 6)
        #expect(try Self.responseExamples("001_bcfdc787788a10a8.txt").count == 1)
        #expect(try Self.responseExamples("004_4813aca73edf8ebb.txt").count == 1)
    }

    @Test("native create, query and list have exactly the keys of seed 003")
    func nativeShapes() async throws {
        let examples = try Self.responseExamples("003_70414022511911b6.txt")
        let createExample = try #require(examples.first { $0["data"]?["task_result"] == nil && $0["data"]?.objectValue != nil })
        let queryExample = try #require(examples.first { $0["data"]?["task_result"] != nil })
        let listExample = try #require(examples.first { $0["data"]?.arrayValue != nil })

        try await Harness.with { h in
            let created = try await h.post("/v1/images/generations", ["prompt": "shape", "watermark_info": ["enabled": true], "external_task_id": "s-1"])
            #expect(Self.keys(try #require(created.json)) == Self.keys(createExample))
            let id = try #require(created.task?.taskID)
            await h.advance(seconds: 5)
            let query = try await h.get("/v1/images/generations/\(id)")
            #expect(Self.keys(try #require(query.json)) == Self.keys(queryExample))
            let list = try await h.get("/v1/images/generations?pageNum=1&pageSize=30")
            #expect(Self.keys(try #require(list.json)) == Self.keys(listExample))
            // Without a watermark the only difference is the absent watermark_url.
            let plain = try #require(try await h.post("/v1/images/generations", ["prompt": "shape"]).task?.taskID)
            await h.advance(seconds: 5)
            let plainKeys = Self.keys(try #require(try await h.get("/v1/images/generations/\(plain)").json))
            #expect(Self.keys(queryExample).subtracting(plainKeys) == ["data.task_result.images[].watermark_url"])
            #expect(plainKeys.isSubset(of: Self.keys(queryExample)))
            // Errors: the envelope without data.
            let error = try await h.get("/v1/images/generations/none")
            #expect(Self.keys(try #require(error.json)) == ["code", "message", "request_id"])
        }
    }

    @Test("CometAPI creates have the keys of seeds 001 (generations) and 004 (multi-image) plus request_id")
    func cometShapes() async throws {
        let generation = try #require(try Self.responseExamples("001_bcfdc787788a10a8.txt").first)
        let multi = try #require(try Self.responseExamples("004_4813aca73edf8ebb.txt").first)
        try await Harness.with { h in
            let created = try await h.post("/kling/v1/images/generations", ["prompt": "cry"], auth: .comet)
            let keys = Self.keys(try #require(created.json))
            #expect(keys == Self.keys(generation).union(["request_id"]))
            #expect(created.data?["task_result"] == .null && created.data?["task_info"]?["external_task_id"] == .null)
            let url = "https://example.com/a.png"
            let legacy = try await h.post("/kling/v1/images/generations", ["subject_image_list": [["subject_image": url], ["subject_image": url]]], auth: .comet)
            #expect(Self.keys(multi).isSubset(of: Self.keys(try #require(legacy.json))))
            let routed = try await h.post("/kling/v1/images/multi-image2image", ["subject_image_list": [["subject_image": url]]], auth: .comet)
            #expect(Self.keys(multi).isSubset(of: Self.keys(try #require(routed.json))))
        }
    }
}
