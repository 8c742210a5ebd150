import Foundation
import ImageCodecs
@testable import KlingAPI
import KlingEmulator
import KlingKit
import KlingKitCLI
import KlingModels
import KlingSupport
import Testing

@Suite("Against the emulator: request shapes, polling, downloads")
struct EmulatorRoundTripTests {
    @Test("text→image: submit, wait, download, for each provider", arguments: Flavour.allCases)
    func textToImage(flavour: Flavour) async throws {
        try await Harness.run(flavour) { h in
            let submitted = try await h.client.submit(
                GenerationRequest(prompt: "a red fox in snow", n: 2, aspectRatio: .r1x1, resolution: .oneK),
                options: SubmitOptions(outputDirectory: h.out.path))
            #expect(submitted.attempts == 1 && !submitted.recovered)
            // Journaled before submit returned.
            let entry = try #require(try h.journal.entry(externalTaskID: submitted.externalTaskID))
            #expect(entry.state == .submitted && entry.taskID == submitted.taskID && entry.provider == (flavour == .native ? "kling" : "cometapi"))
            let task = try await h.client.waitForCompletion(taskID: submitted.taskID)
            #expect(task.taskStatus == .succeed)
            #expect(task.externalTaskID == submitted.externalTaskID)
            // The waits follow the polling policy exactly (seeded jitter): 3 s ± 20 %, then 5 s ± 20 %.
            let expected = Array(h.client.configuration.polling.delays(jitter: SeededJitter(seed: 1)).prefix(h.clock.sleeps.count))
            #expect(h.clock.sleeps == expected)
            let files = try await h.client.download(task, to: h.out)
            #expect(files.map(\.index) == [0, 1])
            for f in files {
                #expect(f.width == 1024 && f.height == 1024)
                #expect(f.path.hasPrefix(h.out.appendingPathComponent(SafePath.component(forTaskID: submitted.taskID)).path))
                #expect(f.path.hasSuffix(f.format == .png ? "\(f.index).png" : "\(f.index).jpg"))
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: f.path)))
                #expect(try ImageCodec.verify(bytes).width == 1024)
            }
            #expect(await h.tasksCreated() == 1)
        }
    }

    @Test("image→image from a local file, with subject reference and watermark copies", arguments: Flavour.allCases)
    func imageToImage(flavour: Flavour) async throws {
        try await Harness.run(flavour) { h in
            let request = GenerationRequest(prompt: "the same flower, in watercolour", image: .file(Corpus.jpeg),
                                            imageReference: .subject, imageFidelity: 0.7, humanFidelity: 0.4,
                                            model: .klingV1_5, n: 1, aspectRatio: .r4x3, watermark: true)
            let wire = try await h.client.wireRequest(request)
            // Sent as prefix-free base64 of the file's bytes.
            let fileBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Corpus.jpeg)))
            #expect(wire.image == Data(fileBytes).base64EncodedString())
            let submitted = try await h.client.submit(request)
            let task = try await h.client.waitForCompletion(taskID: submitted.taskID)
            let files = try await h.client.download(task, to: h.out, includeWatermarked: true)
            #expect(files.count == 2)
            #expect(files.map(\.watermarked) == [false, true])
            #expect(files[1].path.contains("0-watermark."))
        }
    }

    @Test("multi-image: subjects, scene and style, on its own route", arguments: Flavour.allCases)
    func multiImage(flavour: Flavour) async throws {
        try await Harness.run(flavour) { h in
            let request = MultiImageGenerationRequest(
                prompt: "two friends in a garden", subjects: [.file(Corpus.jpeg), .file(Corpus.png)],
                scene: .file(Corpus.hopper), style: .bytes(try [UInt8](Data(contentsOf: URL(fileURLWithPath: Corpus.png))), name: "style.png"),
                model: .klingV2_1, n: 1, aspectRatio: .r16x9)
            let submitted = try await h.client.submit(request)
            #expect(submitted.kind == .multiImage)
            let task = try await h.client.waitForCompletion(taskID: submitted.taskID, kind: .multiImage)
            let files = try await h.client.download(task, to: h.out)
            #expect(files.count == 1)
            // Found by external id on its route, and by id via either route.
            let byExternal = try await h.client.task(externalID: submitted.externalTaskID, kind: .multiImage)
            #expect(byExternal.taskID == submitted.taskID)
            let (_, kind) = try await h.client.task(anyKindID: submitted.taskID)
            #expect(kind == .multiImage)
        }
    }

    @Test("URL images are sent as they are; elements go through as Int64", arguments: Flavour.allCases)
    func urlAndElements(flavour: Flavour) async throws {
        try await Harness.run(flavour) { h in
            let big: Int64 = 9_007_199_254_740_993  // 2^53 + 1: not representable as Double
            let request = GenerationRequest(prompt: "p", image: .url("https://example.com/a.jpg"), imageReference: .subject,
                                            elementIDs: [big], model: .klingV2_1)
            let wire = try await h.client.wireRequest(request)
            #expect(wire.image == "https://example.com/a.jpg")
            let body = String(decoding: try KlingClient.encodeBody(wire), as: UTF8.self)
            #expect(body.contains("\"element_id\":9007199254740993"))
            #expect(!body.contains("negative_prompt") && !body.contains("callback_url"))
            #expect(body.contains("\"model_name\":\"kling-v2-1\""))
        }
    }

    @Test("URL images can be fetched and checked first; a bad one is refused before the create")
    func checkedURLs() async throws {
        try await Harness.run { h in
            let first = try await h.client.submit(GenerationRequest(prompt: "seed", aspectRatio: .r1x1))
            let done = try await h.client.waitForCompletion(taskID: first.taskID)
            let url = try #require(done.images.first?.url)
            let checked = ImageHandling(checkURLs: true)
            let ok = try await h.client.wireRequest(GenerationRequest(prompt: "p", image: .url(url), imageReference: .subject), images: checked)
            #expect(ok.image == url)
            let before = await h.tasksCreated()
            let missing = await expectClientError {
                _ = try await h.client.submit(GenerationRequest(prompt: "p", image: .url(h.server.baseURL + "/results/nope/0.png"),
                                                                imageReference: .subject), options: .init(images: checked))
            }
            #expect(missing?.code == .invalidImage && missing?.field == "image")
            #expect(await h.tasksCreated() == before)
        }
    }

    @Test("generate() does the whole job, journaled, for each provider", arguments: Flavour.allCases)
    func oneCall(flavour: Flavour) async throws {
        try await Harness.run(flavour) { h in
            let files = try await h.client.generate(GenerationRequest(prompt: "p", n: 3), to: h.out)
            #expect(files.count == 3)
            let entries = try h.journal.entries()
            #expect(entries.count == 1 && entries[0].state == .completed && entries[0].files == files.map(\.path))
            let multi = try await h.client.generate(MultiImageGenerationRequest(prompt: "m", subjects: [.file(Corpus.png)]), to: h.out)
            #expect(multi.count == 1)
            #expect(await h.tasksCreated() == 2)
        }
    }

    @Test("a text-only request sends no image fields and always a model")
    func textOnlyShape() async throws {
        try await Harness.run { h in
            let wire = try await h.client.wireRequest(GenerationRequest(prompt: "p"))
            let body = String(decoding: try KlingClient.encodeBody(wire), as: UTF8.self)
            #expect(body == #"{"model_name":"kling-v3","prompt":"p"}"#)
        }
    }

    @Test("a failed task surfaces task_status_msg", arguments: Flavour.allCases)
    func failedTask(flavour: Flavour) async throws {
        try await Harness.run(flavour, emulator: { $0.faults.taskFailureRate = 1 }) { h in
            let s = try await h.client.submit(GenerationRequest(prompt: "p"), options: .init(outputDirectory: h.out.path))
            let e = await expectClientError { _ = try await h.client.waitForCompletion(taskID: s.taskID) }
            #expect(e?.code == .taskFailed)
            #expect(e?.message == FaultConfiguration.defaultFailureMessage)
            #expect(e?.taskID == s.taskID)
            // settle records it as failed in the journal.
            let settled = await h.client.settle(try #require(try h.journal.entry(externalTaskID: s.externalTaskID)))
            #expect(settled.entry.state == .failed)
            #expect(try h.journal.unfinished().isEmpty)
        }
    }

    @Test("polling gives up at its deadline with a resumable error")
    func pollingDeadline() async throws {
        try await Harness.run(emulator: { $0.taskSeconds = 1000 }, client: {
            $0.polling = PollingPolicy(initialDelay: .seconds(1), interval: .seconds(10), jitter: 0, timeout: .seconds(60))
        }) { h in
            let s = try await h.client.submit(GenerationRequest(prompt: "p"))
            let e = await expectClientError { _ = try await h.client.waitForCompletion(taskID: s.taskID) }
            #expect(e?.code == .deadlineExceeded && e?.isRetryable == true)
            // The last wait ends exactly at the deadline, for one last query there.
            #expect(h.clock.sleeps == [.seconds(1), .seconds(10), .seconds(10), .seconds(10), .seconds(10), .seconds(10), .seconds(9)])
        }
    }

    @Test("list pages and query by id and by external id", arguments: Flavour.allCases)
    func queries(flavour: Flavour) async throws {
        try await Harness.run(flavour) { h in
            var ids: [String] = []
            for i in 0..<3 {
                ids.append(try await h.client.submit(GenerationRequest(prompt: "p\(i)", externalTaskID: "mine-\(i)")).taskID)
            }
            let page = try await h.client.list(page: 1, pageSize: 2)
            #expect(page.count == 2)
            let all = try await h.client.list(page: 1, pageSize: 500)
            #expect(Set(all.compactMap(\.taskID)) == Set(ids))
            #expect(try await h.client.task(externalID: "mine-1").taskID == ids[1])
            #expect(try await h.client.task(id: ids[2]).taskID == ids[2])
            let missing = await expectClientError { _ = try await h.client.task(id: "no-such-task") }
            #expect(missing?.code == .notFound)
            let missingExternal = await expectClientError { _ = try await h.client.task(externalID: "nobody") }
            #expect(missingExternal?.code == .notFound)
            let badPage = await expectClientError { _ = try await h.client.list(page: 0) }
            #expect(badPage?.code == .invalidRequest && badPage?.field == "pageNum")
        }
    }

    @Test("expired result links fail the download with the status")
    func expiredDownload() async throws {
        try await Harness.run(emulator: { $0.faults.downloadExpirySeconds = 1 }) { h in
            let s = try await h.client.submit(GenerationRequest(prompt: "p"))
            let task = try await h.client.waitForCompletion(taskID: s.taskID)
            try await h.clock.sleep(for: .seconds(5))
            let e = await expectClientError { _ = try await h.client.download(task, to: h.out) }
            #expect(e?.code == .download && e?.httpStatus == 403)
            let folder = h.out.appendingPathComponent(SafePath.component(forTaskID: s.taskID))
            #expect((try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.isEmpty ?? true)
        }
    }
}

@Suite("Against the emulator: validation before sending")
struct ValidationTests {
    static let cases: [(String, GenerationRequest)] = [
        ("prompt", GenerationRequest(prompt: "")),
        ("prompt", GenerationRequest(prompt: String(repeating: "a", count: 2501))),
        ("negative_prompt", GenerationRequest(prompt: "p", negativePrompt: String(repeating: "a", count: 2501))),
        ("negative_prompt", GenerationRequest(prompt: "p", negativePrompt: "blur", image: .url("https://e.com/a.jpg"), imageReference: .subject)),
        ("image_reference", GenerationRequest(prompt: "p", imageReference: .face)),
        ("image_reference", GenerationRequest(prompt: "p", image: .url("https://e.com/a.jpg"), model: .klingV1_5)),
        ("image_reference", GenerationRequest(prompt: "p", image: .url("https://e.com/a.jpg"), imageReference: "hand")),
        ("image_fidelity", GenerationRequest(prompt: "p", imageFidelity: 1.5, model: .klingV1)),
        ("image_fidelity", GenerationRequest(prompt: "p", imageFidelity: 0.5, model: .klingV2)),
        ("human_fidelity", GenerationRequest(prompt: "p", image: .url("https://e.com/a.jpg"), imageReference: .face, humanFidelity: 0.5, model: .klingV1_5)),
        ("human_fidelity", GenerationRequest(prompt: "p", humanFidelity: 0.5, model: .klingV3)),
        ("element_list", GenerationRequest(prompt: "p", image: .url("https://e.com/a.jpg"), imageReference: .subject, elementIDs: Array(1...10))),
        ("model_name", GenerationRequest(prompt: "p", model: "kling-v9")),
        ("n", GenerationRequest(prompt: "p", n: 0)),
        ("n", GenerationRequest(prompt: "p", n: 10)),
        ("aspect_ratio", GenerationRequest(prompt: "p", aspectRatio: "5:4")),
        ("aspect_ratio", GenerationRequest(prompt: "p", model: .klingV1, aspectRatio: .r21x9)),
        ("resolution", GenerationRequest(prompt: "p", resolution: "4k")),
        ("callback_url", GenerationRequest(prompt: "p", callbackURL: "ftp://x")),
        ("image", GenerationRequest(prompt: "p", image: .url("https://"), imageReference: .subject)),
    ]

    @Test("every rule is refused before anything is sent, naming the field", arguments: 0..<cases.count)
    func generation(index: Int) async throws {
        let (field, request) = Self.cases[index]
        try await Harness.run { h in
            let before = await h.requests()
            let e = await expectClientError { _ = try await h.client.submit(request) }
            #expect(e?.code == .invalidRequest, "\(field): \(String(describing: e))")
            #expect(e?.field == field, "\(String(describing: e))")
            #expect(e?.message.contains(field) == true)
            #expect(await h.requests() == before)
            let entries = try h.journal.entries()
            #expect(entries.isEmpty)
        }
    }

    @Test("multi-image rules: subject count, model")
    func multi() async throws {
        try await Harness.run { h in
            let five = Array(repeating: ImageInput.file(Corpus.jpeg), count: 5)
            for (field, r) in [("subject_image_list", MultiImageGenerationRequest(prompt: "p", subjects: [])),
                               ("subject_image_list", MultiImageGenerationRequest(prompt: "p", subjects: five)),
                               ("model_name", MultiImageGenerationRequest(prompt: "p", subjects: [.file(Corpus.jpeg)], model: .klingV3)),
                               ("n", MultiImageGenerationRequest(prompt: "p", subjects: [.file(Corpus.jpeg)], n: 12))] {
                let e = await expectClientError { _ = try await h.client.submit(r) }
                #expect(e?.code == .invalidRequest && e?.field == field, "\(String(describing: e))")
            }
            #expect(await h.requests() == 0)
        }
    }

    @Test("an image that breaks an upload rule is refused naming the rule; prepare fixes it")
    func imageRules() async throws {
        try await Harness.run { h in
            let e = await expectClientError {
                _ = try await h.client.submit(GenerationRequest(prompt: "p", image: .file(Corpus.tiny), imageReference: .subject))
            }
            #expect(e?.code == .invalidImage && e?.field == "image")
            #expect(e?.message.contains("min-dimension") == true)
            let missing = await expectClientError {
                _ = try await h.client.submit(GenerationRequest(prompt: "p", image: .file("/nonexistent/x.jpg"), imageReference: .subject))
            }
            #expect(missing?.code == .invalidImage && missing?.message.contains("/nonexistent/x.jpg") == true)
            let notImage = await expectClientError {
                _ = try await h.client.submit(GenerationRequest(prompt: "p", image: .bytes(Array("hello".utf8), name: "hello.txt"), imageReference: .subject))
            }
            #expect(notImage?.code == .invalidImage && notImage?.message.contains("unsupported-format") == true)
            #expect(await h.requests() == 0)
            // On request, the fix-up pipeline makes it acceptable and the emulator takes it.
            let s = try await h.client.submit(GenerationRequest(prompt: "p", image: .file(Corpus.tiny), imageReference: .subject),
                                              options: .init(images: .init(prepare: true)))
            #expect(!s.taskID.isEmpty)
        }
    }
}

@Suite("Against the emulator: errors, retries, tokens, exactly-once")
struct ErrorTests {
    @Test("wrong credentials: auth error, not retried, key never in the message", arguments: Flavour.allCases)
    func auth(flavour: Flavour) async throws {
        try await Harness.run(flavour, client: {
            $0.provider = flavour == .native ? .kling(accessKey: "emulator-access-key", secretKey: "WRONG-SECRET-123")
                                             : .cometAPI(key: "WRONG-KEY-123")
        }) { h in
            let e = await expectClientError { _ = try await h.client.list() }
            #expect(e?.httpStatus == 401 && e?.isRetryable == false)
            if flavour == .native { #expect(e?.businessCode == 1000) }
            #expect(await h.requests() == 1)
            #expect(!(e?.description.contains("WRONG") ?? true))
        }
    }

    @Test("a token is reused until 60 s before it expires, then a fresh one is signed ahead of time")
    func tokenReuse() async throws {
        try await Harness.run { h in
            _ = try await h.client.list()
            try await h.clock.sleep(for: .seconds(1739))   // 61 s left: reuse
            _ = try await h.client.list()
            #expect(h.client.tokensSigned == 1)
            try await h.clock.sleep(for: .seconds(2))      // 59 s left: re-sign before the server would refuse
            _ = try await h.client.list()
            #expect(h.client.tokensSigned == 2)
            #expect(await h.requests() == 3)               // no request was refused
        }
    }

    @Test("an expired token is re-signed once and the call succeeds")
    func tokenExpiry() async throws {
        // The client's clock stays put while the emulator's runs ahead past the token's exp.
        let clientClock = ManualClock(unixTime: Date().timeIntervalSince1970)
        try await Harness.run(client: { $0.clock = clientClock }) { h in
            _ = try await h.client.list()
            _ = try await h.client.list()
            #expect(h.client.tokensSigned == 1)          // reused
            h.emulatorClock.advance(bySeconds: 1801)     // emulator: token expired
            clientClock.advance(by: .seconds(100))       // client: still 1700 s left, so reused
            _ = try await h.client.list()                // 1004, re-sign, success
            #expect(h.client.tokensSigned == 2)
            #expect(await h.requests() == 4)
        }
    }

    @Test("a token rejected again after re-signing fails with its code (re-signed only once)")
    func tokenNotYetValid() async throws {
        let clientClock = ManualClock(unixTime: Date().timeIntervalSince1970 + 60)  // client clock 60 s fast
        try await Harness.run(client: { $0.clock = clientClock }) { h in
            let e = await expectClientError { _ = try await h.client.list() }
            #expect(e?.businessCode == 1003 && e?.httpStatus == 401 && e?.isRetryable == false)
            #expect(h.client.tokensSigned == 2)
            #expect(await h.requests() == 2)
        }
    }

    @Test("1302 is retried on the policy's schedule, then reported", arguments: Flavour.allCases)
    func rateLimited(flavour: Flavour) async throws {
        try await Harness.run(flavour, emulator: { $0.faults.rateLimitRate = 1 }, client: {
            $0.retry = RetryPolicy(maxAttempts: 4, initialDelay: .milliseconds(500), jitter: 0.5, deadline: nil)
        }) { h in
            let e = await expectClientError { _ = try await h.client.submit(GenerationRequest(prompt: "p")) }
            #expect(e?.businessCode == 1302 && e?.httpStatus == 429 && e?.isRetryable == true)
            #expect(await h.requests() == 4)
            #expect(h.clock.sleeps == Array(h.client.configuration.retry.delays(jitter: SeededJitter(seed: 1))))
            #expect(await h.tasksCreated() == 0)
            // Refused for sure: the journal says so and resume has nothing to do.
            let unfinished = try h.journal.unfinished()
            let entries = try h.journal.entries()
            #expect(unfinished.isEmpty)
            #expect(entries.first?.state == .notCreated)
        }
    }

    @Test("intermittent 429/5xx: retried until success, exactly one task", arguments: Flavour.allCases)
    func intermittent(flavour: Flavour) async throws {
        try await Harness.run(flavour, emulator: {
            $0.faults.rateLimitRate = 0.3
            $0.faults.serverErrorRate = 0.3
        }, client: { $0.retry = RetryPolicy(maxAttempts: 30, initialDelay: .milliseconds(100), maxDelay: .seconds(2), deadline: nil) }) { h in
            for i in 0..<6 {
                let s = try await h.client.submit(GenerationRequest(prompt: "p\(i)"))
                _ = try await h.client.waitForCompletion(taskID: s.taskID)
            }
            #expect(await h.tasksCreated() == 6)
            #expect(await h.requests() > 12)   // faults really happened
        }
    }

    @Test("a create whose connection drops is found by external id, never sent twice", arguments: Flavour.allCases)
    func droppedCreate(flavour: Flavour) async throws {
        try await Harness.run(flavour, emulator: { $0.faults.dropAfterCreateRate = 1 }) { h in
            let s = try await h.client.submit(GenerationRequest(prompt: "p", externalTaskID: "order-42"))
            #expect(s.recovered && s.attempts == 1)
            #expect(s.externalTaskID == "order-42")
            #expect(await h.tasksCreated() == 1)
            let again = try await h.client.submit(GenerationRequest(prompt: "p", externalTaskID: "order-42"))
            #expect(again.taskID == s.taskID && again.recovered)   // same logical request: journal finds it
            #expect(await h.tasksCreated() == 1)
        }
    }

    @Test("concurrency limit: 1303 is retried with at least 1 s waits", arguments: Flavour.allCases)
    func concurrencyRetry(flavour: Flavour) async throws {
        try await Harness.run(flavour, emulator: { $0.concurrencyLimit = 2 }, client: {
            $0.retry = RetryPolicy(maxAttempts: 40, initialDelay: .milliseconds(100), maxDelay: .seconds(4), deadline: nil)
        }) { h in
            _ = try await h.client.submit(GenerationRequest(prompt: "a", n: 2))
            let s = try await h.client.submit(GenerationRequest(prompt: "b", n: 1))   // over the limit until "a" ends
            #expect(s.attempts > 1)
            #expect(h.clock.sleeps.allSatisfy { $0 >= .seconds(1) })
            #expect(await h.tasksCreated() == 2)
        }
    }

    @Test("emulator refusals: content safety, policy, account, permission are final; 5xx retried", arguments: Flavour.allCases)
    func emulatorRefusals(flavour: Flavour) async throws {
        let cases: [(BusinessCode?, [String], Int, Int, Bool)] = [
            (nil, ["forbidden"], 400, 1301, false), (.platformPolicy, [], 400, 1300, false),
            (.accountInArrears, [], 429, 1101, false), (.resourcePackExhausted, [], 429, 1102, false),
            (.noPermission, [], 403, 1103, false), (.ipWhitelist, [], 429, 1304, false),
            (.serviceUnavailable, [], 503, 5001, true),
        ]
        for (code, terms, status, business, retryable) in cases {
            try await Harness.run(flavour, emulator: {
                $0.faults.refuseCreatesWith = code
                $0.faults.blockedPromptTerms = terms
            }, client: { $0.retry = RetryPolicy(maxAttempts: 3, deadline: nil) }) { h in
                let e = await expectClientError { _ = try await h.client.submit(GenerationRequest(prompt: "a forbidden thing")) }
                #expect(e?.code == .api && e?.httpStatus == status && e?.businessCode == business, "\(String(describing: e))")
                #expect(e?.isRetryable == retryable)
                #expect(e?.requestID?.isEmpty == false)
                // Final refusals are sent once; retryable ones three times, each re-send after a lookup.
                #expect(await h.requests() == (retryable ? 5 : 1))
                #expect(await h.tasksCreated() == 0)
            }
        }
    }

    @Test("1102 at HTTP 429 is final: one request, no retry")
    func accountFinal() async throws {
        let stub = try StubServer { _, _ in .json(429, #"{"code":1102,"message":"resource pack exhausted","request_id":"rq-9"}"#) }
        defer { stub.shutdown() }
        let clock = ManualClock()
        var c = ClientConfiguration(provider: .cometAPI(key: "k"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = clock
        try await KlingClient.withClient(c) { client in
            let e = await expectClientError { _ = try await client.submit(GenerationRequest(prompt: "p")) }
            #expect(e?.businessCode == 1102 && e?.httpStatus == 429 && e?.isRetryable == false && e?.requestID == "rq-9")
        }
        #expect(stub.requests.count == 1)
        #expect(clock.sleeps.isEmpty)
        #expect(stub.requests[0].path == "/kling/v1/images/generations")
        #expect(stub.requests[0].headers["authorization"] == "Bearer k")
    }

    @Test("scripted business codes: policy, account, permission, whitelist are final; 5001 retried", arguments: [
        (400, 1300, false), (400, 1301, false), (429, 1100, false), (429, 1101, false), (403, 1103, false),
        (429, 1304, false), (503, 5001, true), (504, 5002, true), (400, 1201, false),
    ])
    func codes(status: Int, code: Int, retryable: Bool) async throws {
        let stub = try StubServer { req, _ in
            req.method == "GET" ? .json(404, #"{"code":1203,"message":"none"}"#)
                                : .json(status, #"{"code":\#(code),"message":"m\#(code)","request_id":"r"}"#)
        }
        defer { stub.shutdown() }
        var c = ClientConfiguration(provider: .kling(accessKey: "a", secretKey: "s"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = ManualClock()
        c.retry = RetryPolicy(maxAttempts: 3)
        try await KlingClient.withClient(c) { client in
            let e = await expectClientError { _ = try await client.submit(GenerationRequest(prompt: "p")) }
            #expect(e?.businessCode == code && e?.httpStatus == status && e?.isRetryable == retryable)
        }
        let posts = stub.requests.filter { $0.method == "POST" }.count
        #expect(posts == (retryable ? 3 : 1))
        if retryable {
            // A 5xx may have created the task: every re-send is preceded by a query by external id.
            #expect(stub.requests.map(\.method) == ["POST", "GET", "POST", "GET", "POST"])
        }
    }

    @Test("HTML instead of JSON, malformed JSON, CometAPI error envelope, redirects", arguments: [
        ("html", 502), ("html200", 200), ("malformed", 200), ("comet", 401), ("redirect", 302), ("empty", 200),
    ])
    func notTheAPI(kind: String, status: Int) async throws {
        let stub = try StubServer { _, _ in
            switch kind {
            case "html", "html200": return .http(status: status, contentType: "text/html", body: Array("<!DOCTYPE html><html><body>nginx</body></html>".utf8))
            case "malformed": return .json(200, #"{"code":0,"message":"SUCCEED","data":{"task_id":"x""#)
            case "comet": return .json(401, #"{"error":{"message":"Invalid API key","type":"auth","code":"invalid_api_key"}}"#)
            case "redirect": return .http(status: 302, contentType: "text/html", headers: [("Location", "https://elsewhere/")], body: [])
            default: return .http(status: 200, body: [])
            }
        }
        defer { stub.shutdown() }
        var c = ClientConfiguration(provider: .cometAPI(key: "secret-key-value"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = ManualClock()
        c.retry = RetryPolicy(maxAttempts: 3)
        try await KlingClient.withClient(c) { client in
            let e = await expectClientError { _ = try await client.list() }
            #expect(e?.httpStatus == status)
            switch kind {
            case "html": #expect(e?.code == .invalidResponse && e?.isRetryable == true && e?.message.contains("HTML") == true)
            case "html200": #expect(e?.code == .invalidResponse && e?.isRetryable == false)
            case "malformed": #expect(e?.code == .invalidResponse && e?.message.contains("malformed JSON") == true)
            case "comet": #expect(e?.code == .api && e?.message.contains("invalid_api_key") == true && e?.isRetryable == false)
            case "redirect": #expect(e?.code == .invalidResponse && e?.message.contains("redirected") == true)
            default: #expect(e?.code == .invalidResponse && e?.message.contains("empty") == true)
            }
            #expect(e?.description.contains("secret-key-value") == false)
        }
        #expect(stub.requests.count == (kind == "html" ? 3 : 1))
    }

    @Test("a create that times out is checked by external id before being re-sent")
    func createTimeout() async throws {
        let stub = try StubServer { req, i in
            if req.method == "POST" { return .after(seconds: 1.0, .json(200, #"{"code":0,"data":{"task_id":"late"}}"#)) }
            // The first create did reach the server: the query finds it.
            let external = req.target.components(separatedBy: "external_task_id=").last ?? ""
            return .json(200, #"{"code":0,"message":"SUCCEED","data":{"task_id":"T-1","task_status":"submitted","task_info":{"external_task_id":"\#(external)"}}}"#)
        }
        defer { stub.shutdown() }
        var c = ClientConfiguration(provider: .kling(accessKey: "a", secretKey: "s"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = ManualClock()
        c.requestTimeout = .milliseconds(200)
        try await KlingClient.withClient(c) { client in
            let s = try await client.submit(GenerationRequest(prompt: "p"))
            #expect(s.taskID == "T-1" && s.recovered)
        }
        #expect(stub.requests.map(\.method) == ["POST", "GET"])
        #expect(stub.requests[1].target.contains("external_task_id="))
    }

    @Test("a query that times out is retried and then reported as a timeout")
    func queryTimeout() async throws {
        let stub = try StubServer { _, _ in .after(seconds: 1.0, .json(200, #"{"code":0,"data":[]}"#)) }
        defer { stub.shutdown() }
        var c = ClientConfiguration(provider: .kling(accessKey: "a", secretKey: "s"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = ManualClock()
        c.requestTimeout = .milliseconds(150)
        c.retry = RetryPolicy(maxAttempts: 2)
        try await KlingClient.withClient(c) { client in
            let e = await expectClientError { _ = try await client.list() }
            #expect(e?.code == .timeout && e?.isRetryable == true)
        }
        #expect(stub.requests.count == 2)
    }

    @Test("client-side queue keeps running images under the limit: no 1303 ever")
    func clientQueue() async throws {
        try await Harness.run(emulator: { $0.concurrencyLimit = 2 }, client: {
            $0.concurrencyLimit = 2
            $0.retry = .none   // a 1303 would fail the test
        }) { h in
            let client = h.client
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<5 { group.addTask { try await client.submit(GenerationRequest(prompt: "p\(i)")).taskID } }
                var all: [String] = []
                for try await id in group { all.append(id) }
                return all
            }
            #expect(Set(ids).count == 5)
            #expect(await h.tasksCreated() == 5)
            #expect(await h.server.runningSlots(provider: .native) <= 2)
        }
    }
}

@Suite("Downloads against a stub: truncated, oversized, not an image, unsafe ids")
struct DownloadStubTests {
    static func task(_ id: String, _ base: String, count: Int = 1) -> TaskObject {
        TaskObject(taskID: id, taskStatus: .succeed,
                   taskResult: TaskResult(images: (0..<count).map { ResultImage(index: $0, url: "\(base)/img/\($0)") }))
    }

    static let png: [UInt8] = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: Corpus.png)))) ?? []

    func run(_ reply: @escaping @Sendable (Int) -> StubReply, id: String = "T", count: Int = 1,
             configure: (inout ClientConfiguration) -> Void = { _ in }) async throws -> (Result<[DownloadedImage], ClientError>, URL) {
        let stub = try StubServer { req, _ in reply(Int(req.path.split(separator: "/").last ?? "0") ?? 0) }
        defer { stub.shutdown() }
        return try await run(stub: stub, id: id, count: count, configure: configure)
    }

    func run(stub: StubServer, id: String = "T", count: Int = 1,
             configure: (inout ClientConfiguration) -> Void = { _ in }) async throws -> (Result<[DownloadedImage], ClientError>, URL) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID().uuidString)")
        var c = ClientConfiguration(provider: .cometAPI(key: "k"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = ManualClock()
        configure(&c)
        let result: Result<[DownloadedImage], ClientError> = try await KlingClient.withClient(c) { client in
            do { return .success(try await client.download(Self.task(id, stub.baseURL, count: count), to: out)) }
            catch let e as ClientError { return .failure(e) }
        }
        return (result, out)
    }

    func files(in dir: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
        return e.compactMap { $0 as? String }.filter { !$0.hasSuffix("/") }.sorted()
    }

    @Test("concurrent downloads land as <task>/<index>.<ext> with the extension from the content")
    func good() async throws {
        let (result, out) = try await run({ _ in .http(status: 200, contentType: "image/jpeg", body: Self.png) }, count: 5)
        let images = try result.get()
        #expect(images.map(\.index) == [0, 1, 2, 3, 4])
        #expect(images.allSatisfy { $0.format == .png && $0.path.hasSuffix(".png") })
        #expect(Set(files(in: out)).isSuperset(of: ["T/0.png", "T/4.png"]))
    }

    @Test("a truncated body is refused and leaves no file")
    func truncated() async throws {
        let (result, out) = try await run({ _ in .truncated(declared: Self.png.count, contentType: "image/png", body: Array(Self.png.prefix(Self.png.count / 2))) })
        guard case .failure(let e) = result else { Issue.record("expected a failure"); return }
        #expect(e.code == .download)
        #expect(files(in: out).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") || $0.hasSuffix(".tmp") }.isEmpty)
    }

    @Test("a body that trickles is abandoned by the rate floor, retried, and leaves no file")
    func trickle() async throws {
        let stub = try StubServer { _, _ in .trickle(contentType: "image/png", body: Self.png, bytesPerSecond: 400) }
        defer { stub.shutdown() }
        let (result, out) = try await run(stub: stub) {
            $0.minimumDownloadRate = 2000
            $0.downloadRateWindow = .seconds(1)
            $0.retry = RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(10))
        }
        guard case .failure(let e) = result else { Issue.record("expected a failure"); return }
        #expect(e.code == .download && e.isRetryable, "\(e)")
        #expect(e.message.contains("arrived slower than 2000 bytes/s") && e.message.contains("gave up after 2 attempts"), "\(e.message)")
        #expect(stub.requests.count == 2)
        #expect(files(in: out).filter { $0.contains(".png") || $0.contains(".tmp") }.isEmpty)
    }

    @Test("a body that stops without closing misses the one download deadline (head and body together)")
    func stall() async throws {
        let stub = try StubServer { _, _ in .stall(contentType: "image/png", body: Self.png, sent: 100) }
        defer { stub.shutdown() }
        let (result, _) = try await run(stub: stub) {
            // Long enough for the head to arrive on a loaded machine (CI once saw no head within 8 s while
            // every suite ran at once), far shorter than the stub's 60 s of silence.
            $0.downloadTimeout = .seconds(20)
            $0.minimumDownloadRate = 0
            $0.retry = .none
        }
        guard case .failure(let e) = result else { Issue.record("expected a failure"); return }
        // The watchdog, not the stub's silence, ended it: the message counts the 100 bytes that came.
        #expect(e.message.contains("did not arrive within the download deadline of 20.0 seconds (100 bytes received)"), "\(e.message)")
    }

    @Test("a complete body that is a cut-off image fails to decode and leaves no file")
    func cutImage() async throws {
        let (result, out) = try await run({ _ in .http(status: 200, contentType: "image/png", body: Array(Self.png.prefix(Self.png.count - 200))) })
        guard case .failure(let e) = result else { Issue.record("expected a failure"); return }
        #expect(e.code == .download && e.message.contains("does not decode"))
        #expect(files(in: out).filter { $0.contains(".png") }.isEmpty)
    }

    @Test("an oversized image is refused by its declared length and by counting")
    func oversized() async throws {
        let (declared, _) = try await run({ _ in .http(status: 200, contentType: "image/png", body: Self.png) }, configure: { $0.maxImageBytes = 1000 })
        guard case .failure(let e) = declared else { Issue.record("expected a failure"); return }
        #expect(e.code == .download && e.message.contains("cap"))
        let (counted, out) = try await run({ _ in .unsized(contentType: "image/png", body: Self.png) }, configure: { $0.maxImageBytes = 1000 })
        guard case .failure(let e2) = counted else { Issue.record("expected a failure"); return }
        #expect(e2.code == .download && e2.message.contains("cap"))
        #expect(files(in: out).filter { $0.contains(".png") }.isEmpty)
        // The same body under the cap, length known only at the end, is fine.
        let (fine, _) = try await run({ _ in .unsized(contentType: "image/png", body: Self.png) })
        #expect((try? fine.get())?.count == 1)
    }

    @Test("HTML where an image should be is refused")
    func htmlImage() async throws {
        let (result, _) = try await run({ _ in .http(status: 200, contentType: "text/html", body: Array("<html>expired</html>".utf8)) })
        guard case .failure(let e) = result else { Issue.record("expected a failure"); return }
        #expect(e.code == .download)
    }

    @Test("a hostile task id cannot escape the output folder")
    func hostileID() async throws {
        let (result, out) = try await run({ _ in .http(status: 200, contentType: "image/png", body: Self.png) }, id: "../../escape")
        let images = try result.get()
        #expect(images.count == 1)
        let path = URL(fileURLWithPath: images[0].path).standardizedFileURL.path
        #expect(path.hasPrefix(out.standardizedFileURL.path + "/"))
        #expect(!path.contains(".."))
    }
}
