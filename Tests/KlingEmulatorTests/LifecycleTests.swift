import KlingSupport
import Foundation
import ImageCodecs
import KlingEmulator
import KlingModels
import Testing

@Suite("Emulator task lifecycle")
struct LifecycleTests {
    @Test("submitted → processing → succeed on the injected clock, times in milliseconds", arguments: ["", "/kling"])
    func lifecycle(prefix: String) async throws {
        try await Harness.with { h in   // task takes 4 s: processing after 1 s
            let auth: Credentials = prefix.isEmpty ? .native : .comet
            let start = h.clock.unixMilliseconds
            let created = try await h.post(prefix + "/v1/images/generations", ["prompt": "a lighthouse", "n": 2, "external_task_id": "lh-1"], auth: auth)
            #expect(created.status == 200 && created.code == 0 && created.message == "SUCCEED")
            let task = try #require(created.task)
            let id = try #require(task.taskID)
            #expect(task.taskStatus == .submitted && task.createdAt == start && task.updatedAt == start)
            #expect(task.externalTaskID == "lh-1")

            #expect(try await h.get(prefix + "/v1/images/generations/\(id)", auth: auth).task?.taskStatus == .submitted)
            await h.advance(seconds: 1)
            let processing = try #require(try await h.get(prefix + "/v1/images/generations/\(id)", auth: auth).task)
            #expect(processing.taskStatus == .processing && processing.updatedAt == start + 1000)
            #expect(processing.images.isEmpty)
            await h.advance(seconds: 3)
            let done = try #require(try await h.get(prefix + "/v1/images/generations/\(id)", auth: auth).task)
            #expect(done.taskStatus == .succeed && done.updatedAt == start + 4000 && done.createdAt == start)
            #expect(done.images.map(\.index) == [0, 1])
            #expect(done.images.allSatisfy { $0.url?.hasPrefix(h.server.baseURL + "/results/") == true && $0.watermarkURL == nil })
            #expect(done.finalUnitDeduction == "2" && done.taskStatusMessage == "" && done.watermarkInfo?.enabled == false)
            // Query by external id: as a query parameter and as the path segment.
            #expect(try await h.get(prefix + "/v1/images/generations?external_task_id=lh-1", auth: auth).task?.taskID == id)
            #expect(try await h.get(prefix + "/v1/images/generations/lh-1", auth: auth).task?.taskID == id)
        }
    }

    @Test("failure injection: the task ends failed with task_status_msg, still HTTP 200 / code 0")
    func failedTask() async throws {
        try await Harness.with({ $0.faults.taskFailureRate = 1; $0.faults.taskFailureMessage = "moderation said no" }) { h in
            let id = try #require(try await h.post("/v1/images/generations", ["prompt": "p"]).task?.taskID)
            await h.advance(seconds: 5)
            let answer = try await h.get("/v1/images/generations/\(id)")
            #expect(answer.status == 200 && answer.code == 0)
            #expect(answer.task?.taskStatus == .failed && answer.task?.taskStatusMessage == "moderation said no")
            #expect(answer.task?.images.isEmpty == true && answer.task?.finalUnitDeduction == "0")
        }
    }

    @Test("concurrency limit: n summed over running tasks; 429 / 1303 over it, accepted again once tasks end")
    func concurrency() async throws {
        try await Harness.with({ $0.concurrencyLimit = 5 }) { h in
            #expect(try await h.post("/v1/images/generations", ["prompt": "a", "n": 3]).code == 0)
            #expect(try await h.post("/v1/images/multi-image2image", ["subject_image_list": [["subject_image": "https://example.com/a.png"]], "n": 2]).code == 0)
            #expect(await h.server.runningSlots(provider: .native) == 5)
            let over = try await h.post("/v1/images/generations", ["prompt": "c", "n": 1])
            #expect(over.status == 429 && over.code == 1303)
            #expect(over.message.contains("5 image(s) running + 1 requested > limit 5"))
            #expect(BusinessCode(over.code ?? 0).isRetryable)
            // A single request larger than the limit can never run.
            #expect(try await h.post("/v1/images/generations", ["prompt": "d", "n": 6]).code == 1303)
            // The other account has its own limit.
            #expect(try await h.post("/kling/v1/images/generations", ["prompt": "e", "n": 5], auth: .comet).code == 0)
            await h.advance(seconds: 4)
            #expect(await h.server.runningSlots(provider: .native) == 0)
            #expect(try await h.post("/v1/images/generations", ["prompt": "c", "n": 5]).code == 0)
        }
    }

    @Test("retention: beyond maxRetainedTasks the tasks that ended first are forgotten, running ones never")
    func retention() async throws {
        try await Harness.with({ $0.maxRetainedTasks = 3 }) { h in
            func create(_ external: String) async throws -> String {
                let answer = try await h.post("/v1/images/generations", ["prompt": external, "external_task_id": external])
                return try #require(answer.task?.taskID, "\(answer.text)")
            }
            func known(_ id: String) async throws -> Bool {
                try await h.get("/v1/images/generations/\(id)").task?.taskID == id
            }
            let first = try await create("r1"), second = try await create("r2")
            await h.advance(seconds: 2)
            let third = try await create("r3")
            await h.advance(seconds: 2)       // r1 and r2 have ended; r3 runs until +6 s
            let fourth = try await create("r4")   // four held: r1 (ended first) goes
            #expect(try await !known(first))
            for id in [second, third, fourth] { #expect(try await known(id)) }
            // A forgotten task's external id is free again; the next eviction takes r2, never a running task.
            let again = try await create("r1")
            #expect(try await !known(second))
            for id in [third, fourth, again] { #expect(try await known(id)) }
            let more = [try await create("r5"), try await create("r6")]   // all running: nothing can go
            for id in [third, fourth, again] + more { #expect(try await known(id)) }
            // All five end by +8 s: r3 first (at +6 s), then r4, r1, r5, r6 (at +8 s, in creation order).
            // Each that ends beyond the limit makes the earliest ended go: r3, then r4; r7 then pushes out r1.
            await h.advance(seconds: 4)
            let seventh = try await create("r7")
            for id in [third, fourth, again] { #expect(try await !known(id)) }
            for id in more + [seventh] { #expect(try await known(id)) }
            let list = try #require(try await h.get("/v1/images/generations?pageNum=1&pageSize=50").tasks)
            #expect(list.compactMap(\.taskID) == [seventh, more[1], more[0]], "\(list.map { ($0.externalTaskID ?? "", $0.updatedAt ?? 0) })")
        }
    }

    @Test("list: newest first, pageNum/pageSize paging and bounds, one route family per list")
    func pagination() async throws {
        try await Harness.with { h in
            var ids: [String] = []
            for i in 0..<5 {
                ids.append(try #require(try await h.post("/v1/images/generations", ["prompt": "p\(i)"]).task?.taskID))
                await h.advance(seconds: 0.01)
            }
            _ = try await h.post("/v1/images/multi-image2image", ["subject_image_list": [["subject_image": "https://example.com/a.png"]]])
            let all = try #require(try await h.get("/v1/images/generations").tasks)
            #expect(all.map(\.taskID) == ids.reversed())
            let page1 = try #require(try await h.get("/v1/images/generations?pageNum=1&pageSize=2").tasks)
            let page3 = try #require(try await h.get("/v1/images/generations?pageNum=3&pageSize=2").tasks)
            #expect(page1.map(\.taskID) == [ids[4], ids[3]] && page3.map(\.taskID) == [ids[0]])
            #expect(try await h.get("/v1/images/generations?pageNum=4&pageSize=2").tasks?.isEmpty == true)
            #expect(try await h.get("/v1/images/multi-image2image?pageSize=500").tasks?.count == 1)
            for query in ["pageNum=0", "pageNum=1001", "pageSize=0", "pageSize=501", "pageNum=x"] {
                let answer = try await h.get("/v1/images/generations?\(query)")
                #expect(answer.status == 400 && answer.code == 1201, "\(query)")
                #expect(answer.message.contains(query.split(separator: "=")[0]))
            }
            #expect(try await h.get("/v1/images/generations?pageNum=1000&pageSize=500").code == 0)
            // The CometAPI account sees none of these.
            #expect(try await h.get("/kling/v1/images/generations", auth: .comet).tasks?.isEmpty == true)
        }
    }

    @Test("unknown tasks: native 404 / 1203; CometAPI task_not_exist; families do not mix")
    func unknownTasks() async throws {
        try await Harness.with { h in
            let native = try await h.get("/v1/images/generations/nope")
            #expect(native.status == 404 && native.code == 1203)
            #expect(try await h.get("/v1/images/generations?external_task_id=nope").code == 1203)
            let comet = try await h.get("/kling/v1/images/generations/nope", auth: .comet)
            #expect(comet.status == 400 && comet.json?["error"]?["code"]?.stringValue == "task_not_exist")
            let multi = try #require(try await h.post("/v1/images/multi-image2image", ["subject_image_list": [["subject_image": "https://example.com/a.png"]]]).task?.taskID)
            #expect(try await h.get("/v1/images/generations/\(multi)").code == 1203)
            #expect(try await h.get("/v1/images/multi-image2image/\(multi)").task?.taskID == multi)
            // Tasks of one provider are invisible to the other.
            #expect(try await h.get("/kling/v1/images/multi-image2image/\(multi)", auth: .comet).status == 400)
        }
    }

    @Test("/_emulator/health and /_emulator/stats need no key and count tasks by status")
    func emulatorRoutes() async throws {
        try await Harness.with({ $0.faults.taskFailureRate = 0.5; $0.seed = 7 }) { h in
            #expect(try await h.get("/_emulator/health", auth: .none).json?["status"]?.stringValue == "ok")
            for i in 0..<6 { _ = try await h.post("/v1/images/generations", ["prompt": "s\(i)"]) }
            _ = try await h.post("/kling/v1/images/multi-image2image", ["subject_image_list": [["subject_image": "https://example.com/a.png"]]], auth: .comet)
            var stats = try #require(try await h.get("/_emulator/stats", auth: .none).json)
            #expect(stats["submitted"] == .int(7))
            await h.advance(seconds: 5)
            stats = try #require(try await h.get("/_emulator/stats", auth: .none).json)
            let succeeded = stats["succeed"]?.intValue ?? 0, failed = stats["failed"]?.intValue ?? 0
            #expect(succeeded + failed == 7 && succeeded > 0 && failed > 0)
            #expect(stats["submitted"] == nil && (stats["requests"]?.intValue ?? 0) >= 9)
        }
    }

    @Test("old CometAPI multi-image on the generations route: subject_image_list, scence_image, 2–4 subjects")
    func legacyCometMultiImage() async throws {
        try await Harness.with { h in
            let url = "https://example.com/a.png"
            let one = try await h.post("/kling/v1/images/generations", ["subject_image_list": [["subject_image": url]]], auth: .comet)
            #expect(one.code == 1201 && one.message.contains("2 to 4"))
            let two = try await h.post("/kling/v1/images/generations", ["subject_image_list": [["subject_image": url], ["subject_image": url]], "scence_image": url, "model_name": "kling-v2"], auth: .comet)
            #expect(two.code == 0)
            let id = try #require(two.task?.taskID)
            #expect(try await h.get("/kling/v1/images/generations/\(id)", auth: .comet).task?.taskID == id)
            // Natively, a generations body without a prompt is just invalid.
            #expect(try await h.post("/v1/images/generations", ["subject_image_list": [["subject_image": url], ["subject_image": url]]]).code == 1201)
        }
    }
}
