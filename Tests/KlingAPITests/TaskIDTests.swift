import Foundation
@testable import KlingAPI
import KlingKit
import KlingKitCLI
import KlingModels
import KlingSupport
import Testing

/// Task ids are opaque tokens put into URL paths: path steps and empty ids never reach the wire, and a
/// server's unusable id is not believed.
@Suite("Task ids")
struct TaskIDTests {
    @Test("'.', '..', '', 'a/b' and control characters are refused before any request", arguments: [".", "..", "", "a/b", "x\ny", "t\u{1B}[2J"])
    func refusedBeforeSending(id: String) async throws {
        let stub = try StubServer { _, _ in .json(200, #"{"code":0,"message":"SUCCEED","request_id":"r","data":{"task_id":"t1","task_status":"succeed"}}"#) }
        defer { stub.shutdown() }
        var c = ClientConfiguration(provider: .cometAPI(key: "k"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        try await KlingClient.withClient(c) { client in
            let e = await expectClientError { _ = try await client.task(id: id) }
            #expect(e?.code == .invalidRequest, "\(String(describing: e))")
            #expect(e?.message.contains("\u{1B}") == false)
        }
        #expect(stub.requests.isEmpty, "nothing may be sent for \(id.debugDescription)")
    }

    @Test("an id with reserved characters goes as one percent-encoded path segment")
    func percentEncoded() async throws {
        let stub = try StubServer { _, _ in .json(200, #"{"code":0,"message":"SUCCEED","request_id":"r","data":{"task_id":"a b?c#d","task_status":"succeed"}}"#) }
        defer { stub.shutdown() }
        var c = ClientConfiguration(provider: .cometAPI(key: "k"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        try await KlingClient.withClient(c) { client in _ = try await client.task(id: "a%b?c#d") }
        #expect(stub.requests.first?.path == "/kling/v1/images/generations/a%25b%3Fc%23d")
    }

    @Test("a create answered with an empty task id fails as an invalid response instead of being accepted")
    func emptyIDFromServer() async throws {
        let stub = try StubServer { req, _ in
            req.method == "POST" ? .json(200, #"{"code":0,"message":"SUCCEED","request_id":"r","data":{"task_id":"","task_status":"submitted"}}"#)
                                 : .json(200, #"{"code":0,"message":"SUCCEED","request_id":"r","data":[]}"#)
        }
        defer { stub.shutdown() }
        var c = ClientConfiguration(provider: .cometAPI(key: "k"), baseURL: stub.baseURL)
        c.images = ReferenceImageChecks()
        c.clock = ManualClock()
        try await KlingClient.withClient(c) { client in
            let e = await expectClientError { _ = try await client.submit(GenerationRequest(prompt: "p")) }
            #expect(e?.code == .invalidResponse, "\(String(describing: e))")
        }
    }
}
