import AsyncHTTPClient
import Foundation
import NIOCore

/// Headless Chromium driven through `chromedriver` with the W3C WebDriver protocol, so browser tests
/// run inside `swift test` (Debian `chromium` and `chromium-driver`).
///
/// Why hand-written: WebDriver is a dozen JSON-over-HTTP endpoints; a Python Selenium bridge would add a
/// second test runner. Endpoints follow the W3C WebDriver recommendation (https://www.w3.org/TR/webdriver2/).
///
/// ```swift
/// let browser = try await WebDriverSession.start()
/// defer { Task { await browser.close() } }   // or await browser.close() at the end
/// try await browser.navigate(to: "file:///tmp/gallery/index.html")
/// let tiles = try await browser.findElements(css: ".tile")
/// ```
public final class WebDriverSession: Sendable {
    /// One element of the page (the driver's element reference).
    public struct Element: Sendable, Hashable {
        public let id: String
    }

    /// A WebDriver error answer or a transport failure, with the driver's own message.
    public struct DriverError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Keys for ``pressKeys(_:)`` (WebDriver's code points for non-printing keys).
    public enum Key {
        public static let arrowLeft = "\u{E012}"
        public static let arrowUp = "\u{E013}"
        public static let arrowRight = "\u{E014}"
        public static let arrowDown = "\u{E015}"
        public static let escape = "\u{E00C}"
        public static let enter = "\u{E007}"
        public static let shift = "\u{E008}"
        public static let pageDown = "\u{E00F}"
        public static let end = "\u{E010}"
    }

    private static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    /// Where `chromedriver` is, `nil` when it is not installed.
    public static let driverPath: String? = ChildProcess.find("chromedriver", extraDirectories: ["/usr/lib/chromium"])

    /// Whether browser suites should run: `chromedriver` is installed, or `KLINGKIT_REQUIRE_TOOLS=1`
    /// (CI sets it) so that its absence fails instead of skipping.
    public static let available: Bool = driverPath != nil || RequiredTools.areRequired

    private let driver: Process
    private let base: String
    private let sessionID: String
    private let client: HTTPClient

    private init(driver: Process, base: String, sessionID: String, client: HTTPClient) {
        self.driver = driver
        self.base = base
        self.sessionID = sessionID
        self.client = client
    }

    /// Starts `chromedriver` on a free loopback port and opens a headless Chromium window of
    /// `width`×`height` CSS pixels (default 1280×900).
    public static func start(width: Int = 1280, height: Int = 900) async throws -> WebDriverSession {
        guard let driverPath else { throw DriverError(description: "chromedriver is not installed (Debian: chromium-driver)") }
        let port = try ChildProcess.freeLoopbackPort()
        let driver = Process()
        driver.executableURL = URL(fileURLWithPath: driverPath)
        driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let base = "http://127.0.0.1:\(port)"
        do {
            // Wait for the driver to listen (it takes well under a second; 20 s is generous).
            var ready = false
            for _ in 0..<200 {
                if let status = try? await request(client, "GET", base + "/status", nil),
                   status["value"]?["ready"]?.boolValue == true { ready = true; break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            guard ready else { throw DriverError(description: "chromedriver did not start on port \(port)") }
            var args: [JSONValue] = ["--headless=new", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
                                     "--window-size=\(width),\(height)", "--allow-file-access-from-files"].map { .string($0) }
            if let user = ProcessInfo.processInfo.environment["KLINGKIT_CHROMIUM_ARGS"] {
                args += user.split(separator: " ").map { .string(String($0)) }
            }
            var options: [String: JSONValue] = ["args": .array(args)]
            if let binary = ChildProcess.find("chromium") ?? ChildProcess.find("chromium-browser") {
                options["binary"] = .string(binary)
            }
            let capabilities: JSONValue = .object(["capabilities": .object(["alwaysMatch": .object([
                "browserName": .string("chrome"),
                "goog:chromeOptions": .object(options),
            ])])])
            let answer = try await request(client, "POST", base + "/session", capabilities)
            guard let session = answer["value"]?["sessionId"]?.stringValue else {
                throw DriverError(description: "no session: \(answer)")
            }
            return WebDriverSession(driver: driver, base: base, sessionID: session, client: client)
        } catch {
            kill(driver.processIdentifier, SIGKILL)
            try? await client.shutdown()
            throw error
        }
    }

    /// Ends the session, stops the driver (and with it the browser) and the HTTP client.
    public func close() async {
        _ = try? await command("DELETE", "")
        // chromedriver ignores SIGTERM; it has its own shutdown endpoint, and SIGKILL as the fallback.
        _ = try? await Self.request(client, "GET", base + "/shutdown", nil)
        for _ in 0..<50 where driver.isRunning { try? await Task.sleep(nanoseconds: 20_000_000) }
        if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
        try? await client.shutdown()
    }

    // MARK: Navigation and scripts

    /// Loads `url` (`file://…` or `http://…`) and waits for the document to load.
    public func navigate(to url: String) async throws {
        _ = try await command("POST", "/url", .object(["url": .string(url)]))
    }

    /// Reloads the current page.
    public func refresh() async throws {
        _ = try await command("POST", "/refresh", .object([:]))
    }

    /// Runs `script` as a function body in the page (`arguments` as `arguments[0]…`) and returns its value.
    @discardableResult
    public func executeScript(_ script: String, _ arguments: [JSONValue] = []) async throws -> JSONValue {
        try await command("POST", "/execute/sync", .object(["script": .string(script), "args": .array(arguments)]))
    }

    /// Runs `script` until `predicate` holds for its value or `timeout` seconds pass (default 10); returns the last value.
    @discardableResult
    public func waitFor(_ script: String, timeout: Double = 10, _ predicate: @Sendable (JSONValue) -> Bool) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let value = try await executeScript(script)
            if predicate(value) || Date() > deadline { return value }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// The page as a PNG (the visible viewport).
    public func screenshotPNG() async throws -> Data {
        let value = try await command("GET", "/screenshot")
        guard let text = value.stringValue, let data = Data(base64Encoded: text) else {
            throw DriverError(description: "screenshot: not base64")
        }
        return data
    }

    // MARK: Elements

    /// Every element matching the CSS `selector`, in document order (empty when none).
    public func findElements(css selector: String) async throws -> [Element] {
        let value = try await command("POST", "/elements", .object(["using": .string("css selector"), "value": .string(selector)]))
        return (value.arrayValue ?? []).compactMap { $0[Self.elementKey]?.stringValue }.map(Element.init(id:))
    }

    /// The first element matching `selector`; throws when there is none.
    public func findElement(css selector: String) async throws -> Element {
        guard let first = try await findElements(css: selector).first else {
            throw DriverError(description: "no element matches \(selector)")
        }
        return first
    }

    /// The rendered text of `element`.
    public func text(_ element: Element) async throws -> String {
        try await command("GET", "/element/\(element.id)/text").stringValue ?? ""
    }

    /// The attribute `name` of `element`, `nil` when absent.
    public func attribute(_ element: Element, _ name: String) async throws -> String? {
        try await command("GET", "/element/\(element.id)/attribute/\(name)").stringValue
    }

    /// The DOM property `name` of `element` (`naturalWidth`, `checked`, `value`…).
    public func property(_ element: Element, _ name: String) async throws -> JSONValue {
        try await command("GET", "/element/\(element.id)/property/\(name)")
    }

    /// Clicks `element` (scrolled into view first). With `shift`, the Shift key is held during the click.
    public func click(_ element: Element, shift: Bool = false) async throws {
        guard shift else {
            _ = try await command("POST", "/element/\(element.id)/click", .object([:]))
            return
        }
        let origin: JSONValue = .object([Self.elementKey: .string(element.id)])
        let actions: JSONValue = .object(["actions": .array([
            .object(["type": "key", "id": "keyboard", "actions": .array([
                .object(["type": "keyDown", "value": .string(Key.shift)]),
                .object(["type": "pause", "duration": .int(0)]),
                .object(["type": "pause", "duration": .int(0)]),
                .object(["type": "pause", "duration": .int(0)]),
                .object(["type": "keyUp", "value": .string(Key.shift)]),
            ])]),
            .object(["type": "pointer", "id": "mouse", "parameters": .object(["pointerType": "mouse"]), "actions": .array([
                .object(["type": "pause", "duration": .int(0)]),
                .object(["type": "pointerMove", "origin": origin, "x": .int(0), "y": .int(0)]),
                .object(["type": "pointerDown", "button": .int(0)]),
                .object(["type": "pointerUp", "button": .int(0)]),
                .object(["type": "pause", "duration": .int(0)]),
            ])]),
        ])])
        _ = try await command("POST", "/actions", actions)
        _ = try await command("DELETE", "/actions")
    }

    /// Types `text` into `element` (for a file input, `text` is a local path: the upload).
    public func sendKeys(_ element: Element, _ text: String) async throws {
        _ = try await command("POST", "/element/\(element.id)/value", .object(["text": .string(text)]))
    }

    /// Chooses local files in the `<input type=file>` matching `selector` (several need its `multiple`).
    public func uploadFiles(css selector: String, paths: [String]) async throws {
        try await sendKeys(try await findElement(css: selector), paths.joined(separator: "\n"))
    }

    /// Presses and releases each key in turn on the focused element (the document when nothing has
    /// focus): printable characters as themselves, others from ``Key``.
    public func pressKeys(_ keys: [String]) async throws {
        var steps: [JSONValue] = []
        for key in keys {
            steps.append(.object(["type": "keyDown", "value": .string(key)]))
            steps.append(.object(["type": "keyUp", "value": .string(key)]))
        }
        _ = try await command("POST", "/actions", .object(["actions": .array([
            .object(["type": "key", "id": "keyboard", "actions": .array(steps)]),
        ])]))
    }

    // MARK: Transport

    private func command(_ method: String, _ path: String, _ body: JSONValue? = nil) async throws -> JSONValue {
        let answer = try await Self.request(client, method, "\(base)/session/\(sessionID)\(path)", body)
        let value = answer["value"] ?? .null
        if let error = value["error"]?.stringValue {
            throw DriverError(description: "\(method) \(path): \(error): \(value["message"]?.stringValue ?? "")")
        }
        return value
    }

    private static func request(_ client: HTTPClient, _ method: String, _ url: String, _ body: JSONValue?) async throws -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        let response = try await client.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 256 << 20)
        return try JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))
    }
}
