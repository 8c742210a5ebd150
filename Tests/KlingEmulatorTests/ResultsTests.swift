import Foundation
import ImageCodecs
import ImageCore
import KlingEmulator
import KlingModels
import Testing

@Suite("Emulator result images")
struct ResultsTests {
    /// Creates a task, lets it finish and returns its images.
    func finished(_ h: Harness, _ body: [String: Any], path: String = "/v1/images/generations") async throws -> [ResultImage] {
        let created = try await h.post(path, body)
        let id = try #require(created.task?.taskID, "\(created.text)")
        await h.advance(seconds: 5)
        let task = try #require(try await h.get(path + "/\(id)").task)
        #expect(task.taskStatus == .succeed)
        return task.images
    }

    func download(_ h: Harness, _ url: String?) async throws -> DecodedImage {
        let answer = try await h.fetch(try #require(url))
        #expect(answer.status == 200 && answer.header("content-type") == "image/png")
        return try ImageCodec.decode(answer.body)
    }

    @Test("sizes follow aspect_ratio × resolution; 1:1 at 1k is 1024×1024", arguments: [
        ("1:1", "1k", 1024, 1024), ("16:9", "1k", 1368, 768), ("9:16", "1k", 768, 1368), ("21:9", "1k", 1568, 672), ("1:1", "2k", 2048, 2048),
    ])
    func sizes(ratio: String, resolution: String, width: Int, height: Int) async throws {
        try await Harness.with { h in
            let images = try await finished(h, ["prompt": "size check", "aspect_ratio": ratio, "resolution": resolution, "model_name": "kling-v3"])
            let decoded = try await download(h, images.first?.url)
            #expect(decoded.image.width == width && decoded.image.height == height)
        }
    }

    @Test("images are deterministic in the prompt, differ by prompt, by index and by reference image")
    func determinism() async throws {
        try await Harness.with { h in
            let body: [String: Any] = ["prompt": "a red fox in snow", "aspect_ratio": "1:1", "n": 2]
            let a = try await finished(h, body)
            let b = try await finished(h, body)
            let c = try await finished(h, ["prompt": "a blue whale", "aspect_ratio": "1:1"])
            let a0 = try await h.fetch(a[0].url!).body, a1 = try await h.fetch(a[1].url!).body
            let b0 = try await h.fetch(b[0].url!).body, c0 = try await h.fetch(c[0].url!).body
            #expect(a0 == b0)          // same request, same picture
            #expect(a0 != a1)          // index matters
            #expect(a0 != c0)          // prompt matters
            // The reference image shows up: with vs without, and two different references.
            let ref1 = Fixtures.base64(Fixtures.png(width: 400, height: 400, seed: 10))
            let ref2 = Fixtures.base64(Fixtures.png(width: 400, height: 400, seed: 200))
            let r1 = try await finished(h, ["prompt": "a red fox in snow", "aspect_ratio": "1:1", "model_name": "kling-v3", "image": ref1])
            let r2 = try await finished(h, ["prompt": "a red fox in snow", "aspect_ratio": "1:1", "model_name": "kling-v3", "image": ref2])
            let p1 = try await download(h, r1[0].url), p2 = try await download(h, r2[0].url)
            let plain = try await download(h, a[0].url)
            #expect(p1.image.pixels != plain.image.pixels && p1.image.pixels != p2.image.pixels)
            // The inset is a downscaled copy of the reference: bottom-left, its blue channel is the seed (10 vs 200).
            let inset = sample(p1.image, x: 40, y: 1024 - 140), inset2 = sample(p2.image, x: 40, y: 1024 - 140)
            #expect(abs(Int(inset.2) - 10) < 12 && abs(Int(inset2.2) - 200) < 12, "\(inset) \(inset2)")
        }
    }

    func sample(_ image: Image, x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let o = (y * image.width + x) * image.format.channels
        return (image.pixels[o], image.pixels[o + 1], image.pixels[o + 2])
    }

    @Test("watermark_url only when asked, and it is a different picture")
    func watermark() async throws {
        try await Harness.with { h in
            let images = try await finished(h, ["prompt": "w", "aspect_ratio": "4:3", "watermark_info": ["enabled": true]])
            let plain = try await h.fetch(images[0].url!), marked = try await h.fetch(try #require(images[0].watermarkURL))
            #expect(plain.status == 200 && marked.status == 200 && plain.body != marked.body)
            let multi = try await finished(h, ["subject_image_list": [["subject_image": Fixtures.base64(Fixtures.jpeg(width: 500, height: 400))]], "prompt": "m"], path: "/v1/images/multi-image2image")
            #expect(multi.count == 1 && multi[0].watermarkURL == nil)
            // Asking for a watermarked copy the task never offered: the edited path fails the signature.
            let forged = multi[0].url!.replacingOccurrences(of: "/0.png", with: "/0-wm.png")
            #expect(try await h.fetch(forged).status == 403)   // the signature covers the path
        }
    }

    @Test("result URLs are signed and expire: 403 after the configured time")
    func expiry() async throws {
        try await Harness.with({ $0.faults.downloadExpirySeconds = 60 }) { h in
            let images = try await finished(h, ["prompt": "e"])
            let url = try #require(images.first?.url)
            #expect(try await h.fetch(url).status == 200)
            let tampered = url.replacingOccurrences(of: "expires=", with: "expires=9")
            #expect(try await h.fetch(tampered).status == 403)
            await h.advance(seconds: 61)
            let expired = try await h.fetch(url)
            #expect(expired.status == 403 && expired.text.contains("expired"))
            #expect(try await h.fetch(h.server.baseURL + "/results/nope/0.png").status == 403)
        }
    }

    @Test("slow downloads still deliver the whole image")
    func slowDownload() async throws {
        try await Harness.with({ $0.faults.slowDownloadBytesPerSecond = 4_000_000 }) { h in
            let images = try await finished(h, ["prompt": "slow", "aspect_ratio": "1:1"])
            let answer = try await h.fetch(images[0].url!)
            #expect(answer.status == 200 && Int(answer.header("content-length") ?? "") == answer.body.count)
            #expect(try ImageCodec.decode(answer.body).image.width == 1024)
        }
    }
}
