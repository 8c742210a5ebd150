import Foundation
import KlingKitTestSupport
import Testing

/// Shell completions from `klingkit --generate-completion-script`, run in a real bash: files and folders
/// where a command takes paths, the closed sets of values where an option has one, and subcommands.
@Suite("Shell completions")
struct CompletionTests {
    /// What bash offers for `line` (the cursor at its end), as the completion function leaves COMPREPLY.
    static func completions(_ line: String, in directory: URL) async throws -> [String] {
        let script = try await CLIRunner.run(["--generate-completion-script", "bash"])
        #expect(script.exitCode == 0)
        let file = directory.appendingPathComponent("klingkit.bash")
        try script.stdout.write(to: file, atomically: true, encoding: .utf8)
        // What bash-completion would set up for `klingkit <line>` and <TAB>: the words, the cursor, the call.
        let driver = """
            shopt -s extglob
            source "$1"
            COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
            read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMPREPLY=()
            _klingkit klingkit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let r = try await ChildProcess.run("/bin/bash", ["-c", driver, "bash", file.path, line], currentDirectory: directory, timeout: 60)
        #expect(r.exitCode == 0, "\(r.stderrText)")
        return r.stdoutText.split(separator: "\n").map(String.init).sorted()
    }

    @Test("bash completes subcommands, enum values, files for inputs and folders for --out")
    func bash() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("results"), withIntermediateDirectories: true)
        for name in ["a.jpg", "b.png"] { FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data()) }

        #expect(try await Self.completions("klingkit ch", in: dir) == ["check"])
        #expect(try await Self.completions("klingkit prepare --format ", in: dir) == ["auto", "jpeg", "png"])
        #expect(try await Self.completions("klingkit sheet x --captions ", in: dir) == ["name", "none", "task"])
        #expect(try await Self.completions("klingkit check ", in: dir) == ["a.jpg", "b.png", "klingkit.bash", "results"])
        #expect(try await Self.completions("klingkit prepare a.jpg --out ", in: dir) == ["results"])
        #expect(try await Self.completions("klingkit sheet a.jpg --out ", in: dir) == ["a.jpg", "b.png", "klingkit.bash", "results"])
    }

    @Test("zsh and fish scripts are generated, with file and folder completion in them")
    func zshAndFish() async throws {
        let zsh = try await CLIRunner.run(["--generate-completion-script", "zsh"])
        #expect(zsh.exitCode == 0 && zsh.stdout.hasPrefix("#compdef klingkit") && zsh.stdout.contains("_files"), "\(zsh.stdout.prefix(200))")
        let fish = try await CLIRunner.run(["--generate-completion-script", "fish"])
        #expect(fish.exitCode == 0 && fish.stdout.contains("complete -c 'klingkit'") && fish.stdout.contains("__klingkit_complete_directories"),
                "\(fish.stdout.prefix(200))")
    }
}
