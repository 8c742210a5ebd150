import ArgumentParser
import Foundation

/// The `klingkit` root command. Each subcommand lives in its own file.
public struct KlingKitCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "klingkit",
        abstract: "Prepare reference images for Kling's image API, talk to the API, and see the results.",
        version: KlingKitVersion.string,
        subcommands: [
            CheckCommand.self,
            PrepareCommand.self,
            Base64Command.self,
            GenerateCommand.self,
            StatusCommand.self,
            ListCommand.self,
            DownloadCommand.self,
            ResumeCommand.self,
            BatchCommand.self,
            SheetCommand.self,
            GalleryCommand.self,
            EmulatorCommand.self,
            ServeCommand.self,
            DemoCommand.self,
        ]
    )

    public init() {}
}

/// The package version printed by `klingkit --version`.
public enum KlingKitVersion {
    public static let string = "0.1.0"
}

/// Runs the command line and maps outcomes to the exit codes the commands document:
/// 0 success, 1 a failed item (set by the command), 2 a usage error.
public enum KlingKitMain {
    public static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        if let first = arguments.first, let message = unknownSubcommandMessage(first) {
            note(message)
            Foundation.exit(2)
        }
        do {
            var command = try KlingKitCommand.parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit(0)
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let failure as CommandFailure {
            note("klingkit: " + failure.message)
            Foundation.exit(failure.exitCode)
        } catch {
            let code = KlingKitCommand.exitCode(for: error)
            if code == .success || code.rawValue == ExitCode.validationFailure.rawValue || isUsage(error) {
                // Help and version requests print to stdout and exit 0; usage errors exit 2.
                // Help and usage text is several lines; each is escaped on its own (a usage error quotes
                // what was typed).
                let lines = KlingKitCommand.fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                if code == .success {
                    lines.forEach(output)
                    Foundation.exit(0)
                }
                lines.forEach(note)
                Foundation.exit(2)
            }
            note("klingkit: " + String(describing: error))
            Foundation.exit(1)
        }
    }

    /// For a first word that is no subcommand (and no option): one line naming it, with the closest
    /// subcommand when one is within two edits (`chek` → `check`), else the list of subcommands.
    static func unknownSubcommandMessage(_ word: String) -> String? {
        guard !word.hasPrefix("-") else { return nil }
        let names = KlingKitCommand.configuration.subcommands.map { $0._commandName } + ["help"]
        guard !names.contains(word) else { return nil }
        let ranked = names.map { (name: $0, distance: editDistance(word.lowercased(), $0)) }.min { $0.distance < $1.distance }
        if let best = ranked, best.distance <= min(2, max(1, word.count / 2)) {
            return "klingkit: unknown command '\(word)'. Did you mean '\(best.name)'? (klingkit --help lists the commands)"
        }
        return "klingkit: unknown command '\(word)'; the commands are: \(names.dropLast().joined(separator: ", "))"
    }

    /// Levenshtein distance (insertions, deletions, substitutions), two rows of the classic table.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    private static func isUsage(_ error: Error) -> Bool {
        error is ValidationError || KlingKitCommand.exitCode(for: error).rawValue == 64
    }
}

/// An error a command throws to end with a one-line message and a chosen exit code.
public struct CommandFailure: Error, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32
    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }
    public var description: String { message }
}
