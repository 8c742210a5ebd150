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

    @Test("automatic selection picks NEON, which agrees with the scalar kernel and the reference everywhere")
    func neonSelectedAndCorrect() async throws {
        let (emulator, binary, folder) = try await Self.buildCheck()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try await ChildProcess.run(emulator, [binary.path, "neon"], environment: ["KLINGKIT_BASE64_KERNEL": ""])
        #expect(run.exitCode == 0, "\(run.stdoutText)\(run.stderrText)")
        #expect(run.stdoutText.hasPrefix("kernel_check: selected neon, widest neon:"), "\(run.stdoutText)")
    }

    @Test("KLINGKIT_BASE64_KERNEL=scalar makes an AArch64 build dispatch to the scalar kernel")
    func scalarDispatchOnAArch64() async throws {
        let (emulator, binary, folder) = try await Self.buildCheck()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try await ChildProcess.run(emulator, [binary.path, "scalar"], environment: ["KLINGKIT_BASE64_KERNEL": "scalar"])
        #expect(run.exitCode == 0, "\(run.stdoutText)\(run.stderrText)")
        #expect(run.stdoutText.hasPrefix("kernel_check: selected scalar"), "\(run.stdoutText)")
        // And the check itself refuses a wrong expectation (it is not a program that always passes).
        let wrong = try await ChildProcess.run(emulator, [binary.path, "neon"], environment: ["KLINGKIT_BASE64_KERNEL": "scalar"])
        #expect(wrong.exitCode == 1)
        #expect(wrong.stderrText.contains("automatic selection picked scalar, expected neon"))
    }
}
