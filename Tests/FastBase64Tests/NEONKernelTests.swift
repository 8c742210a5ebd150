import Foundation
import KlingKitTestSupport
import Testing

/// The AArch64 cross compiler and the user-mode emulator, `nil` when either is missing.
enum AArch64Tools {
    static let found: (compiler: String, emulator: String)? = {
        guard let compiler = ChildProcess.find("aarch64-linux-gnu-gcc"),
              let emulator = ChildProcess.find("qemu-aarch64-static") ?? ChildProcess.find("qemu-aarch64") else { return nil }
        return (compiler, emulator)
    }()
}

/// The AArch64 NEON kernel, checked on this x86-64 machine: CFastBase64's C sources and the differential
/// check in `CrossCheck/kernel_check.c` are compiled with the AArch64 cross compiler and run under
/// qemu-user, once with automatic selection (which must pick NEON) and once capped to the scalar kernel
/// through `KLINGKIT_BASE64_KERNEL` (the scalar dispatch path of an arm64 build).
///
/// Needs Debian's `gcc-aarch64-linux-gnu` and `qemu-user-static` (in `scripts/apt-test-packages.txt`);
/// without them the suite skips, unless `KLINGKIT_REQUIRE_TOOLS=1` (CI), where it fails.
@Suite("NEON kernel on AArch64 (cross-compiled, run under qemu-user)",
       .enabled(if: AArch64Tools.found != nil || RequiredTools.areRequired))
struct NEONKernelTests {
    struct MissingTools: Error, CustomStringConvertible {
        var description: String { "aarch64-linux-gnu-gcc and qemu-aarch64-static are needed (apt: gcc-aarch64-linux-gnu qemu-user-static)" }
    }

    /// Builds the check as a static AArch64 executable in a fresh folder.
    static func buildCheck() async throws -> (emulator: String, binary: URL, folder: URL) {
        guard let tools = AArch64Tools.found else { throw MissingTools() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-neon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let sources = TestCorpus.packageRoot.appendingPathComponent("Sources/CFastBase64")
        let library = try FileManager.default.contentsOfDirectory(atPath: sources.path)
            .filter { $0.hasSuffix(".c") }.sorted().map { sources.appendingPathComponent($0).path }
        #expect(library.contains { $0.hasSuffix("base64_neon.c") })
        let check = TestCorpus.packageRoot.appendingPathComponent("Tests/FastBase64Tests/CrossCheck/kernel_check.c").path
        let binary = folder.appendingPathComponent("kernel_check")
        let compiled = try await ChildProcess.run(tools.compiler, [
            "-O2", "-static", "-Wall", "-Werror", "-I", sources.appendingPathComponent("include").path,
        ] + library + [check, "-o", binary.path], timeout: 300)
        #expect(compiled.exitCode == 0, "\(compiled.stderrText)")
        return (tools.emulator, binary, folder)
    }

    /// Builds the check once and runs it once per `(expected kernel, KLINGKIT_BASE64_KERNEL)` pair.
    static func runCheck(_ runs: [(expected: String, cap: String)]) async throws -> [ChildResult] {
        let (emulator, binary, folder) = try await buildCheck()
        defer { try? FileManager.default.removeItem(at: folder) }
        var results: [ChildResult] = []
        for run in runs {
            results.append(try await ChildProcess.run(emulator, [binary.path, run.expected], environment: ["KLINGKIT_BASE64_KERNEL": run.cap]))
        }
        return results
    }

    @Test("automatic selection picks NEON, which agrees with the scalar kernel and the reference everywhere")
    func neonSelectedAndCorrect() async throws {
        let run = try #require(try await Self.runCheck([("neon", "")]).first)
        #expect(run.exitCode == 0, "\(run.stdoutText)\(run.stderrText)")
        #expect(run.stdoutText.hasPrefix("kernel_check: selected neon, widest neon:"), "\(run.stdoutText)")
    }

    @Test("KLINGKIT_BASE64_KERNEL=scalar makes an AArch64 build dispatch to the scalar kernel")
    func scalarDispatchOnAArch64() async throws {
        // The second run checks that the check refuses a wrong expectation (it is not a program that always passes).
        let results = try await Self.runCheck([("scalar", "scalar"), ("neon", "scalar")])
        try #require(results.count == 2)
        let run = results[0], wrong = results[1]
        #expect(run.exitCode == 0, "\(run.stdoutText)\(run.stderrText)")
        #expect(run.stdoutText.hasPrefix("kernel_check: selected scalar"), "\(run.stdoutText)")
        #expect(wrong.exitCode == 1)
        #expect(wrong.stderrText.contains("automatic selection picked scalar, expected neon"))
    }
}
