import KlingSupport
import AsyncHTTPClient
import Foundation
import KlingKitTestSupport
import ImageCodecs
import ImageCore
import KlingEmulator
import KlingModels
import NIOCore
import NIOHTTP1
import Testing

/// One HTTP answer as the tests see it.
struct Answer: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body)) }
    var code: Int? {
        if case .int(let code)? = json?["code"] { return Int(code) }
        return nil
    }
    var message: String { json?["message"]?.stringValue ?? "" }
    var data: JSONValue? { json?["data"] }
    var task: TaskObject? { (try? JSONDecoder().decode(Envelope<TaskObject>.self, from: Data(body)))?.data }
    var tasks: [TaskObject]? { (try? JSONDecoder().decode(Envelope<[TaskObject]>.self, from: Data(body)))?.data }
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

/// Which credentials a request carries.
enum Credentials {
    case native          // a fresh JWT from the emulator's keys and clock
    case comet           // the CometAPI key
    case header(String)  // this exact Authorization value
    case none
}

/// An emulator on a free loopback port driven by a manual clock, plus request helpers.
final class Harness: Sendable {
    let server: EmulatorServer
    let clock: ManualClock

    init(server: EmulatorServer, clock: ManualClock) {
        self.server = server
        self.clock = clock
    }

    /// Runs `body` with an emulator (tasks of 4 s on a manual clock, adjusted by `configure`) that
    /// always stops afterwards.
    static func with<T>(_ configure: (inout EmulatorConfiguration) -> Void = { _ in },
                        _ body: (Harness) async throws -> T) async throws -> T {
        let clock = ManualClock(mode: .waits)
        var configuration = EmulatorConfiguration(port: 0, taskSeconds: 4, clock: clock)
        configure(&configuration)
        configuration.clock = clock
        return try await withEmulator(configuration) { server in try await body(Harness(server: server, clock: clock)) }
    }

    /// `path` is relative to the base URL; for CometAPI pass `/kling/...`.
    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, auth: Credentials) async throws -> Answer {
        var request = HTTPClientRequest(url: server.baseURL + path)
        request.method = method
        switch auth {
        case .native: request.headers.add(name: "Authorization", value: server.nativeAuthorization())
        case .comet: request.headers.add(name: "Authorization", value: server.cometAPIAuthorization)
        case .header(let value): request.headers.add(name: "Authorization", value: value)
        case .none: break
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer.readableBytesView))
    }

    func post(_ path: String, _ json: [String: Any], auth: Credentials = .native) async throws -> Answer {
        try await request(.POST, path, body: Array(try JSONSerialization.data(withJSONObject: json)), auth: auth)
    }

    func get(_ path: String, auth: Credentials = .native) async throws -> Answer {
        try await request(.GET, path, auth: auth)
    }

    /// Downloads an absolute URL with no credentials.
    func fetch(_ url: String) async throws -> Answer {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer.readableBytesView))
    }

    /// Moves the clock and gives the lifecycle drivers a moment to run.
    func advance(seconds: Double) async {
        clock.advance(bySeconds: seconds)
        for _ in 0..<5 { await Task.yield() }
    }
}

/// Test images made with the project's codecs.
enum Fixtures {
    /// A `width`×`height` RGB image with a diagonal gradient tinted by `seed`.
    static func image(width: Int, height: Int, seed: UInt8 = 0) -> Image {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let o = (y * width + x) * 3
                pixels[o] = UInt8(truncatingIfNeeded: x &+ Int(seed))
                pixels[o + 1] = UInt8(truncatingIfNeeded: y)
                pixels[o + 2] = seed
            }
        }
        return try! Image(width: width, height: height, format: .rgb, pixels: pixels)
    }

    static func png(width: Int, height: Int, seed: UInt8 = 0) -> [UInt8] {
        try! ImageCodec.encodePNG(image(width: width, height: height, seed: seed)).bytes
    }

    static func jpeg(width: Int, height: Int, seed: UInt8 = 0) -> [UInt8] {
        try! ImageCodec.encodeJPEG(image(width: width, height: height, seed: seed)).bytes
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// The seeds folder, read from the package root as every test of the project does.
    static var seeds: URL {
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("../shared/seeds").standardizedFileURL
    }
}
