import AsyncHTTPClient
import Foundation
import KlingKitTestSupport
import KlingEmulator
import KlingModels
import Testing

@Suite("Emulator callbacks")
struct CallbackTests {
    @Test("a bare task object is POSTed on every status change, in order", arguments: ["", "/kling"])
    func deliveries(prefix: String) async throws {
        try await withCallbackSink() { sink in
            try await Harness.with { h in
                let auth: Credentials = prefix.isEmpty ? .native : .comet
                let id = try #require(try await h.post(prefix + "/v1/images/generations", ["prompt": "cb", "callback_url": sink.url, "external_task_id": "cb-1"], auth: auth).task?.taskID)
                await h.advance(seconds: 1)
                await h.advance(seconds: 3)
                let received = await sink.waitFor(count: 3, timeout: 60)
                #expect(received.count == 3)
                let tasks = received.compactMap(\.task)
                #expect(tasks.map(\.taskStatus) == [.submitted, .processing, .succeed])
                #expect(tasks.allSatisfy { $0.taskID == id && $0.externalTaskID == "cb-1" })
                #expect(tasks.last?.images.count == 1)
                // Bare object: no envelope keys.
                let json = try JSONDecoder().decode(JSONValue.self, from: Data(received[2].body))
                #expect(json["code"] == nil && json["task_id"]?.stringValue == id && json["task_result"] != nil)
                await h.server.drainCallbacks()
                #expect(await h.server.statistics()["callbacks_delivered"] == 3)
            }
        }
    }

    @Test("a failing task reports failed with its message; an unreachable receiver does not disturb the API")
    func failedAndUnreachable() async throws {
        try await withCallbackSink(status: 500) { sink in
            try await Harness.with({ $0.faults.taskFailureRate = 1 }) { h in
                _ = try await h.post("/v1/images/generations", ["prompt": "x", "callback_url": sink.url])
                _ = try await h.post("/v1/images/generations", ["prompt": "y", "callback_url": "http://127.0.0.1:1/unreachable"])
                await h.advance(seconds: 5)
                let received = await sink.waitFor(count: 3, timeout: 60)
                #expect(received.last?.task?.taskStatus == .failed)
                #expect(received.last?.task?.taskStatusMessage == FaultConfiguration.defaultFailureMessage)
                await h.server.drainCallbacks()
                let stats = await h.server.statistics()
                #expect(stats["callbacks_failed"] == 6 && stats["failed"] == 2)
                #expect(try await h.get("/v1/images/generations").code == 0)
            }
        }
    }
}

@Suite("Emulator fault injection")
struct FaultTests {
    @Test("transient 429 / 1302 on every request at rate 1")
    func rateLimited() async throws {
        try await Harness.with({ $0.faults.rateLimitRate = 1 }) { h in
            for path in ["/v1/images/generations", "/kling/v1/images/generations"] {
                let answer = try await h.post(path, ["prompt": "p"], auth: path.hasPrefix("/kling") ? .comet : .native)
                #expect(answer.status == 429 && answer.code == 1302 && BusinessCode(answer.code!).isRetryable)
            }
            // Authentication is still checked first.
            #expect(try await h.get("/v1/images/generations", auth: .none).code == 1001)
            #expect(try await h.get("/v1/images/generations").tasks == nil)
            #expect(await h.server.statistics()["submitted", default: 0] == 0)
        }
    }

    @Test("transient server errors cycle through 500/5000, 503/5001, 504/5002")
    func serverErrors() async throws {
        try await Harness.with({ $0.faults.serverErrorRate = 1 }) { h in
            var seen: [(Int, Int)] = []
            for _ in 0..<3 {
                let answer = try await h.get("/v1/images/generations")
                seen.append((answer.status, answer.code ?? -1))
            }
            #expect(seen.map(\.0) == [500, 503, 504] && seen.map(\.1) == [5000, 5001, 5002])
        }
    }

    @Test("a rate in between hits some requests and spares others, reproducibly by seed")
    func partialRate() async throws {
        func run() async throws -> [Int] {
            try await Harness.with({ $0.faults.rateLimitRate = 0.5; $0.seed = 42 }) { h in
                var codes: [Int] = []
                for _ in 0..<20 { codes.append(try await h.get("/v1/images/generations").code ?? -1) }
                return codes
            }
        }
        let first = try await run(), second = try await run()
        #expect(first == second)
        #expect(first.contains(0) && first.contains(1302))
    }

    @Test("a dropped connection after an accepted create: the client errors, the task exists by external id")
    func dropAfterCreate() async throws {
        try await Harness.with({ $0.faults.dropAfterCreateRate = 1 }) { h in
            await #expect(throws: (any Error).self) {
                _ = try await h.post("/v1/images/generations", ["prompt": "lost answer", "external_task_id": "ambiguous-1"])
            }
            let found = try await h.get("/v1/images/generations?external_task_id=ambiguous-1")
            #expect(found.code == 0 && found.task?.externalTaskID == "ambiguous-1")
            // Re-submitting the same external id is refused (and answered): one logical request, one task.
            #expect(try await h.post("/v1/images/generations", ["prompt": "lost answer", "external_task_id": "ambiguous-1"]).code == 1201)
        }
    }

    @Test("latency is added before answers (no timing asserted) and does not change them")
    func latency() async throws {
        try await Harness.with({ $0.faults.latencyMilliseconds = 1...5 }) { h in
            let answer = try await h.get("/v1/images/generations")
            #expect(answer.code == 0)
        }
    }

    @Test("terminal account codes on create (1100, 1101, 1102, 1103, 1300, 1304) with their HTTP status", arguments: [1100, 1101, 1102, 1103, 1300, 1304])
    func refusedCreates(code: Int) async throws {
        try await Harness.with({ $0.faults.refuseCreatesWith = BusinessCode(code) }) { h in
            let answer = try await h.post("/v1/images/generations", ["prompt": "p"])
            #expect(answer.code == code && answer.status == BusinessCode(code).httpStatus)
            #expect(!BusinessCode(code).isRetryable)
            // Queries still work.
            #expect(try await h.get("/v1/images/generations").code == 0)
        }
    }

    @Test("content safety refuses a blocked prompt term with 400 / 1301")
    func contentSafety() async throws {
        try await Harness.with({ $0.faults.blockedPromptTerms = ["forbidden"] }) { h in
            let answer = try await h.post("/kling/v1/images/generations", ["prompt": "A FORBIDDEN castle"], auth: .comet)
            #expect(answer.status == 400 && answer.code == 1301 && answer.message.contains("forbidden"))
            #expect(try await h.post("/kling/v1/images/generations", ["prompt": "an allowed castle"], auth: .comet).code == 0)
        }
    }

    @Test("bad fault settings are refused at start")
    func badConfiguration() async throws {
        await #expect(throws: EmulatorError.self) {
            try await withEmulator(EmulatorConfiguration(faults: FaultConfiguration(taskFailureRate: 1.5))) { _ in }
        }
        await #expect(throws: EmulatorError.self) {
            try await withEmulator(EmulatorConfiguration(concurrencyLimit: 0)) { _ in }
        }
        await #expect(throws: EmulatorError.self) {
            try await withEmulator(EmulatorConfiguration(faults: FaultConfiguration(refuseCreatesWith: BusinessCode(0)))) { _ in }
        }
    }
}
