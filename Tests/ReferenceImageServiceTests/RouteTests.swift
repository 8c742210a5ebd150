import FastBase64
import Foundation
import ImageCodecs
import KlingKitTestSupport
import ReferenceImageService
import ReferenceImages
import Testing

@Suite("klingkit serve: routes on a real socket")
struct RouteTests {
    @Test("GET /healthz, / (the page) and /openapi.json (the committed docs/openapi/serve.json)")
    func documents() async throws {
        try await withService { server in
            let health = try await call(server, "GET", "/healthz")
            #expect(health.status == 200 && health.text == #"{"status":"ok"}"#, "\(health)")
            let page = try await call(server, "GET", "/")
            #expect(page.status == 200 && page.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("<input id=\"files\" type=\"file\"") && page.text.contains("/v1/prepare"))
            #expect(!page.text.contains("http://") && !page.text.contains("https://"), "the page loads nothing from elsewhere")
            let openapi = try await call(server, "GET", "/openapi.json")
            #expect(openapi.status == 200 && openapi.headers["content-type"] == "application/json")
            let committed = try [UInt8](Data(contentsOf: TestCorpus.packageRoot.appendingPathComponent("docs/openapi/serve.json")))
            #expect(openapi.body == committed)
        }
    }

    @Test("POST /v1/check with a raw body answers check --json's object, byte for byte")
    func checkRaw() async throws {
        try await withService { server in
            for name in ["portrait-valid.jpg", "avatar-tiny.png", "panorama-wide.jpg", "corrupt-truncated.jpg", "phone-photo-exif6.jpg"] {
                let bytes = try Samples.bytes(name)
                let answer = try await call(server, "POST", "/v1/check?name=\(name)", headers: ["Content-Type": "image/jpeg"], body: bytes)
                #expect(answer.status == 200, "\(name): \(answer)")
                let expected = ReferenceImageValidator().validate(bytes: bytes, name: name).checkJSON().text
                #expect(answer.text == expected, "\(name)")
            }
            let tiny = try #require(try json(try await call(server, "POST", "/v1/check", body: try Samples.bytes("avatar-tiny.png"))) as? [String: Any])
            #expect(tiny["valid"] as? Bool == false && tiny["path"] as? String == "upload")
            let rules = (tiny["violations"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
            #expect(rules == ["min-dimension", "min-dimension"], "\(tiny)")
            let corrupt = try #require(try json(try await call(server, "POST", "/v1/check", body: try Samples.bytes("corrupt-truncated.jpg"))) as? [String: Any])
            #expect((corrupt["violations"] as? [[String: Any]])?.contains { $0["rule"] as? String == "corrupt" } == true, "\(corrupt)")
        }
    }

    @Test("POST /v1/check with multipart/form-data: one report per file, in form order; fields without a filename are ignored")
    func checkMultipart() async throws {
        try await withService { server in
            var form = Multipart()
            form.add(file: try Samples.bytes("portrait-valid.jpg"), filename: "portrait-valid.jpg", type: "image/jpeg")
            form.add(field: "note", value: "ignored")
            form.add(file: try Samples.bytes("avatar-tiny.png"), filename: "avatar-tiny.png", type: "image/png")
            form.add(file: try Samples.bytes("panorama-wide.jpg"), filename: "panorama-wide.jpg", type: "image/jpeg")
            let answer = try await call(server, "POST", "/v1/check", headers: ["Content-Type": form.contentType], body: form.body)
            #expect(answer.status == 200, "\(answer)")
            let reports = try #require(try json(answer) as? [[String: Any]])
            #expect(reports.map { $0["path"] as? String } == ["portrait-valid.jpg", "avatar-tiny.png", "panorama-wide.jpg"])
            #expect(reports.map { $0["valid"] as? Bool } == [true, false, false])
            let panorama = (reports[2]["violations"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
            #expect(panorama == ["aspect-ratio"], "\(reports[2])")
        }
    }

    @Test("?face=1 adds the face count and boxes")
    func checkFaces() async throws {
        try await withService { server in
            let bytes = try Samples.fixture("formats/two-faces.jpg")
            let answer = try await call(server, "POST", "/v1/check?face=1", body: bytes)
            let report = try #require(try json(answer) as? [String: Any], "\(answer)")
            #expect(report["faces"] as? Int == 2, "\(report)")
            #expect((report["face_boxes"] as? [[String: Any]])?.count == 2)
            let plain = try #require(try json(try await call(server, "POST", "/v1/check", body: bytes)) as? [String: Any])
            #expect(plain["faces"] == nil)
        }
    }

    @Test("POST /v1/prepare answers the prepared image with its type, actions and size headers")
    func prepareImage() async throws {
        try await withService { server in
            let answer = try await call(server, "POST", "/v1/prepare?name=avatar-tiny.png", body: try Samples.bytes("avatar-tiny.png"))
            #expect(answer.status == 200, "\(answer)")
            let header = try ImageCodec.probe(answer.body)
            #expect(answer.headers["content-type"] == header.format.mediaType)
            #expect(min(header.width, header.height) >= 300, "\(header)")
            #expect(answer.headers["x-klingkit-width"] == String(header.width) && answer.headers["x-klingkit-height"] == String(header.height))
            #expect(answer.headers["x-klingkit-actions"]?.contains("resized") == true, "\(answer.headers)")
            #expect(answer.headers["content-disposition"]?.contains("avatar-tiny.") == true)
            #expect(ReferenceImageValidator().validate(bytes: answer.body, name: "out").isValid)

            let png = try await call(server, "POST", "/v1/prepare?format=png&fit=crop", body: try Samples.bytes("panorama-wide.jpg"))
            #expect(png.status == 200 && png.headers["content-type"] == "image/png", "\(png.headers)")
            #expect(png.headers["x-klingkit-actions"]?.contains("cropped") == true, "\(png.headers)")
            #expect(ReferenceImageValidator().validate(bytes: png.body, name: "out").isValid)
        }
    }

    @Test("Accept: application/json answers {report, actions, width, height, format, bytes, base64}")
    func prepareSidecar() async throws {
        try await withService { server in
            let input = try Samples.bytes("phone-photo-exif6.jpg")
            let answer = try await call(server, "POST", "/v1/prepare?name=phone.jpg", headers: ["Accept": "application/json"], body: input)
            #expect(answer.status == 200 && answer.headers["content-type"] == "application/json", "\(answer)")
            let sidecar = try #require(try json(answer) as? [String: Any])
            let report = try #require(sidecar["report"] as? [String: Any])
            #expect(report["path"] as? String == "phone.jpg")
            let actions = try #require(sidecar["actions"] as? [String])
            #expect(actions.contains { $0.hasPrefix("oriented(6)") }, "\(actions)")
            let base64 = try #require(sidecar["base64"] as? String)
            #expect(!base64.hasPrefix("data:"))
            let output = try Base64.decode(Array(base64.utf8))
            #expect(output.count == sidecar["bytes"] as? Int)
            let header = try ImageCodec.probe(output)
            #expect(header.width == sidecar["width"] as? Int && header.height == sidecar["height"] as? Int)
            #expect(header.format.rawValue == sidecar["format"] as? String)
            #expect(answer.headers["x-klingkit-actions"] == actions.joined(separator: "; "))
        }
    }

    @Test("GET /metrics: requests by route and status, verdicts by rule, durations, queue depth, bytes in and out")
    func metrics() async throws {
        try await withService { server in
            let tiny = try Samples.bytes("avatar-tiny.png")
            _ = try await call(server, "POST", "/v1/check", body: tiny)
            _ = try await call(server, "POST", "/v1/check", body: try Samples.bytes("portrait-valid.jpg"))
            _ = try await call(server, "POST", "/v1/prepare", body: tiny)
            _ = try await call(server, "POST", "/v1/check", headers: ["Content-Type": "text/plain"], body: Array("hello".utf8))
            _ = try await call(server, "GET", "/nowhere")
            let answer = try await call(server, "GET", "/metrics")
            #expect(answer.status == 200 && answer.headers["content-type"]?.hasPrefix("text/plain") == true)
            let text = answer.text
            for line in [
                #"klingkit_serve_requests_total{route="/v1/check",status="200"} 2"#,
                #"klingkit_serve_requests_total{route="/v1/prepare",status="200"} 1"#,
                #"klingkit_serve_requests_total{route="/v1/check",status="415"} 1"#,
                #"klingkit_serve_requests_total{route="unmatched",status="404"} 1"#,
                #"klingkit_serve_verdicts_total{rule="min-dimension"} 2"#,
                #"klingkit_serve_verdicts_total{rule="valid"} 1"#,
                "klingkit_serve_decode_duration_seconds_count 2",
                "klingkit_serve_prepare_duration_seconds_count 1",
                "klingkit_serve_queue_depth 0.0",
                "klingkit_serve_buffered_body_bytes 0.0",   // every request's body given back
            ] {
                #expect(text.contains(line), "missing \(line) in\n\(text)")
            }
            #expect(text.contains(#"klingkit_serve_decode_duration_seconds_bucket{le="+Inf"} 2"#), "\(text)")
            let bytesIn = text.split(separator: "\n").first { $0.hasPrefix("klingkit_serve_bytes_in_total ") }
            let read = try #require(bytesIn.flatMap { Double($0.split(separator: " ")[1]) })
            #expect(Int(read) >= 2 * tiny.count + (try Samples.bytes("portrait-valid.jpg")).count)
            #expect(text.contains("klingkit_serve_bytes_out_total "))
        }
    }
}
