import FastBase64
import Foundation
import Hummingbird
import ImageCodecs
import KlingAPI
import KlingEmulator
import KlingKit
import KlingKitCLI
import KlingKitTestSupport
import ReferenceImages
import ReferenceImageService
import Testing

// README.md's Swift snippets, verbatim, inside functions: this file compiling is the proof that they
// compile, and `ReadmeSnippetTests` proves README still holds exactly these lines (so neither can drift).
// A snippet that continues an earlier one (base64 of `prepared`) shares its function.

// readme-snippet-begin
private func readmeValidateAndPrepare() throws {
    // Validate: every violation, never a throw.
    let report = ReferenceImageValidator().validate(fileAt: "upload.jpg")
    if !report.isValid { for v in report.violations { print(v.rule.rawValue, v.message) } }

    // Fix: orientation, ratio, size and bytes, with the actions taken.
    let prepared = try ReferenceImagePreparer().prepare(fileAt: "upload.jpg")
    print(prepared.actions.map(\.description), prepared.width, prepared.height)

    let body = Base64.encodeToString(prepared.encoded.bytes)      // no prefix, no line breaks
    let back = try Base64.decode(Array(body.utf8))                // strict: Base64Error names the offset
    _ = back
}

private func readmeClient() async throws {
    var configuration = try ClientConfiguration.fromEnvironment(provider: "kling")
    configuration.images = ReferenceImageChecks()   // checks local images and verifies downloads
    try await KlingClient.withClient(configuration) { client in
        let submitted = try await client.submit(GenerationRequest(
            prompt: "the same person as a watercolour", image: .file("portrait.jpg"), imageReference: .subject))
        let task = try await client.waitForCompletion(taskID: submitted.taskID)
        return try await client.download(task, to: URL(fileURLWithPath: "results"))
    }
}

private func readmeEmulator() async throws {
    try await withEmulator(EmulatorConfiguration()) { emulator in   // port 0: a free port
        print(emulator.baseURL)                                      // http://127.0.0.1:PORT; CometAPI under /kling
    }                                                                // stopped here, even when the body throws
}
private func readmeMountRoutes() async throws {   // run for real (port 0) by ReferenceImageServiceTests/MountingTests
    let uploads = ReferenceImageRoutes(limits: ReferenceImageServiceLimits(maxBodyBytes: 10 << 20, maxFiles: 4))
    let router = Router()
    router.get("/hello") { _, _ in "my own route" }
    uploads.add(to: router.group("uploads"))   // POST /uploads/v1/check, /uploads/v1/prepare, GET /uploads/metrics, ...
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
    try await app.runService()
    await uploads.shutdown()                   // stops the decode pool's threads
}
// readme-snippet-end

@Suite("README's Swift snippets")
struct ReadmeSnippetTests {
    /// The non-blank, trimmed lines of `text`, without `import` lines and this file's `_ = back`-style glue.
    static func codeLines(_ text: Substring) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
    }

    @Test("every ```swift block of README.md is in this file, line for line, and its imports are here")
    func snippetsMatch() throws {
        let readme = try String(contentsOf: TestCorpus.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let begin = try #require(source.range(of: "// readme-snippet-" + "begin"))
        let end = try #require(source.range(of: "// readme-snippet-" + "end"))
        let compiled = Self.codeLines(source[begin.upperBound..<end.lowerBound]).joined(separator: "\n")
        let imports = Set(source.split(separator: "\n").filter { $0.hasPrefix("import ") }.map(String.init))

        let blocks = readme.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "\n```")[0] }
        try #require(!blocks.isEmpty)
        for block in blocks {
            let lines = Self.codeLines(Substring(block))
            #expect(compiled.contains(lines.joined(separator: "\n")), "README snippet not compiled here:\n\(block)")
            for line in block.split(separator: "\n") where line.hasPrefix("import ") {
                let module = String(line.split(separator: " ")[1])
                #expect(imports.contains("import \(module)"), "README imports \(module); this file does not")
            }
        }
    }

    @Test("the emulator snippet runs and stops")
    func emulatorSnippetRuns() async throws {
        try await readmeEmulator()
    }
}
