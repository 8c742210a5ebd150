import Foundation
import KlingEmulator
import KlingModels
import Testing

@Suite("Emulator request validation")
struct ValidationTests {
    @Test("field rules answer 400 / 1201 naming the field and rule, every violation at once")
    func fieldRules() async throws {
        try await Harness.with { h in
            let cases: [([String: Any], String)] = [
                (["prompt": "p", "n": 12], "n: must be an integer in 1...9, got 12"),
                (["prompt": "p", "n": "2"], "n: must be an integer, got string"),
                (["prompt": "p", "aspect_ratio": "5:4"], "aspect_ratio: \"5:4\" is not one of"),
                (["prompt": "p", "resolution": "8k"], "resolution:"),
                (["prompt": String(repeating: "x", count: 2501)], "prompt: at most 2500 characters, got 2501"),
                (["model_name": "kling-v3"], "prompt: required"),
                (["prompt": "p", "image_reference": "subject"], "image_reference: requires image"),
                (["prompt": "p", "model_name": "kling-v3", "image_fidelity": 0.5], "image_fidelity: not supported by kling-v3"),
                (["prompt": "p", "model_name": "kling-v1-5", "image": "https://example.com/a.png"], "image_reference: required for kling-v1-5"),
                (["prompt": "p", "model_name": "kling-v3", "image": "https://example.com/a.png", "negative_prompt": "no"], "negative_prompt: not allowed when image is set"),
                (["prompt": "p", "element_list": (1...11).map { ["element_id": $0] }], "element_list: elements + images must be at most 10"),
                (["prompt": "p", "callback_url": "not a url"], "callback_url: must be an absolute http(s) URL"),
                (["prompt": "p", "watermark_info": ["enabled": "yes"]], "watermark_info.enabled: must be a boolean"),
            ]
            for (body, expected) in cases {
                let answer = try await h.post("/v1/images/generations", body)
                #expect(answer.status == 400 && answer.code == 1201, "\(expected) -> \(answer.text)")
                #expect(answer.message.contains(expected), "expected “\(expected)” in “\(answer.message)”")
            }
            let many = try await h.post("/v1/images/generations", ["n": 0, "aspect_ratio": "1:7", "callback_url": "x"])
            for field in ["prompt:", "n:", "aspect_ratio:", "callback_url:"] { #expect(many.message.contains(field), "\(field)") }
        }
    }

    @Test("reference images are checked with the project's codecs: data: prefix, 200 px, 3:1, not an image")
    func imageContent() async throws {
        try await Harness.with { h in
            let good = Fixtures.base64(Fixtures.png(width: 320, height: 400))
            let base: [String: Any] = ["prompt": "p", "model_name": "kling-v3"]
            func post(_ image: String, path: String = "/v1/images/generations") async throws -> Answer {
                var body = base
                body["image"] = image
                return try await h.post(path, body)
            }
            let prefixed = try await post("data:image/png;base64," + good)
            #expect(prefixed.status == 400 && prefixed.code == 1201)
            #expect(prefixed.message.contains("image: base64 must be sent without a data: URL prefix"))
            let small = try await post(Fixtures.base64(Fixtures.png(width: 200, height: 200)))
            #expect(small.code == 1201 && small.message.contains("image: min-dimension"), "\(small.message)")
            let panorama = try await post(Fixtures.base64(Fixtures.jpeg(width: 1200, height: 400)))
            #expect(panorama.code == 1201 && panorama.message.contains("image: aspect-ratio"), "\(panorama.message)")
            let notImage = try await post(Fixtures.base64(Array("GIF89a this is not a jpeg or png at all".utf8)))
            #expect(notImage.code == 1201 && notImage.message.contains("image: unsupported-format"), "\(notImage.message)")
            let wrapped = try await post(String(good.prefix(76)) + "\n" + good.dropFirst(76))
            #expect(wrapped.code == 1201 && wrapped.message.contains("line break"))
            let ok = try await post(good)
            #expect(ok.status == 200 && ok.code == 0, "\(ok.message)")
            // The boundary ratio 2.5:1 is allowed, both ways.
            #expect(try await post(Fixtures.base64(Fixtures.png(width: 750, height: 300))).code == 0)
            #expect(try await post(Fixtures.base64(Fixtures.png(width: 300, height: 750))).code == 0)
            // Multi-image: every subject, the scene and the style image are checked.
            let multi = try await h.post("/v1/images/multi-image2image", [
                "prompt": "p",
                "subject_image_list": [["subject_image": good], ["subject_image": Fixtures.base64(Fixtures.png(width: 200, height: 600))]],
                "scene_image": "data:image/jpeg;base64," + good,
            ])
            #expect(multi.code == 1201)
            #expect(multi.message.contains("subject_image_list[1].subject_image: min-dimension"), "\(multi.message)")
            #expect(multi.message.contains("subject_image_list[1].subject_image: aspect-ratio"), "\(multi.message)")
            #expect(multi.message.contains("scene_image: base64 must be sent without a data: URL prefix"))
            #expect(!multi.message.contains("subject_image_list[0]"))
        }
    }

    @Test("image URLs on loopback are fetched and checked; others are accepted unchecked")
    func imageURLs() async throws {
        try await Harness.with { h in
            // A result of the emulator itself is a loopback PNG.
            let first = try #require(try await h.post("/v1/images/generations", ["prompt": "source", "aspect_ratio": "1:1"]).task?.taskID)
            await h.advance(seconds: 5)
            let url = try #require(try await h.get("/v1/images/generations/\(first)").task?.images.first?.url)
            let base: [String: Any] = ["prompt": "p", "model_name": "kling-v3"]
            var body = base
            body["image"] = url
            #expect(try await h.post("/v1/images/generations", body).code == 0)
            body["image"] = h.server.baseURL + "/_emulator/health"
            let notImage = try await h.post("/v1/images/generations", body)
            #expect(notImage.code == 1201 && notImage.message.contains("image: unsupported-format"), "\(notImage.message)")
            body["image"] = h.server.baseURL + "/results/none/0.png"
            let missing = try await h.post("/v1/images/generations", body)
            #expect(missing.code == 1201 && missing.message.contains("image: the image URL cannot be fetched (HTTP 403)"), "\(missing.message)")
            body["image"] = "https://example.com/remote.png"
            #expect(try await h.post("/v1/images/generations", body).code == 0)
        }
    }

    @Test("body and routing errors: 1200, 413, 1202, 1203, CometAPI HTML 404")
    func bodyAndRouting() async throws {
        try await Harness.with({ $0.maxBodyBytes = 4096 }) { h in
            let notJSON = try await h.request(.POST, "/v1/images/generations", body: Array("{nope".utf8), auth: .native)
            #expect(notJSON.status == 400 && notJSON.code == 1200)
            let array = try await h.request(.POST, "/v1/images/generations", body: Array("[]".utf8), auth: .native)
            #expect(array.status == 400 && array.code == 1200)
            let big = try await h.post("/v1/images/generations", ["prompt": String(repeating: "a", count: 5000)])
            #expect(big.status == 413 && big.code == 1200)
            let method = try await h.request(.DELETE, "/v1/images/generations", auth: .native)
            #expect(method.status == 404 && method.code == 1202)
            let postItem = try await h.request(.POST, "/v1/images/generations/abc", body: Array("{}".utf8), auth: .native)
            #expect(postItem.code == 1202)
            let unknown = try await h.get("/v1/videos/text2video")
            #expect(unknown.status == 404 && unknown.code == 1203)
            let model = try await h.post("/v1/images/generations", ["prompt": "p", "model_name": "kling-v9"])
            #expect(model.status == 404 && model.code == 1203 && model.message.contains("model_name"))
            let html = try await h.get("/kling/v2/whatever", auth: .comet)
            #expect(html.status == 404 && html.header("content-type")?.hasPrefix("text/html") == true && html.json == nil)
        }
    }

    @Test("a list of 200,000 entries is refused unread; a flood of violations gets a bounded message")
    func boundedLists() async throws {
        try await Harness.with { h in
            // 200,000 integers: refused by its length, before any entry is judged (one violation, not 200,000).
            let body = Array((#"{"prompt":"p","element_list":["# + Array(repeating: "1", count: 200_000).joined(separator: ",") + "]}").utf8)
            let huge = try await h.request(.POST, "/v1/images/generations", body: body, auth: .native)
            #expect(huge.status == 400 && huge.code == 1201, "\(huge.text.prefix(300))")
            #expect(huge.message == "element_list: at most 100 entries, got 200000", "\(huge.message.prefix(300))")
            // 100 entries, each broken: every one is a violation, the answer names the first 20 and counts the rest.
            let broken = try await h.post("/v1/images/generations", ["prompt": "p", "element_list": (0..<100).map { _ in ["element_id": "x"] }])
            #expect(broken.code == 1201)
            #expect(broken.message.contains("element_list[19].element_id") && !broken.message.contains("element_list[20]"), "\(broken.message)")
            #expect(broken.message.hasSuffix("and 80 more"), "\(broken.message)")
            // One enormous value is cut in the message, not echoed whole.
            let longValue = try await h.post("/v1/images/generations", ["prompt": "p", "resolution": String(repeating: "k", count: 100_000)])
            #expect(longValue.code == 1201 && longValue.message.count < 400, "\(longValue.message.count)")
        }
    }

    @Test("a duplicate external_task_id is refused with 1201; the other account may reuse it")
    func duplicateExternalID() async throws {
        try await Harness.with { h in
            let first = try await h.post("/v1/images/generations", ["prompt": "p", "external_task_id": "order-1"])
            #expect(first.code == 0)
            let again = try await h.post("/v1/images/generations", ["prompt": "other", "external_task_id": "order-1"])
            #expect(again.status == 400 && again.code == 1201)
            #expect(again.message.contains("external_task_id") && again.message.contains(first.task?.taskID ?? "?"))
            // Unique per account, across both routes of the account.
            #expect(try await h.post("/v1/images/multi-image2image", ["subject_image_list": [["subject_image": "https://example.com/a.png"]], "external_task_id": "order-1"]).code == 1201)
            #expect(try await h.post("/kling/v1/images/generations", ["prompt": "p", "external_task_id": "order-1"], auth: .comet).code == 0)
        }
    }
}
