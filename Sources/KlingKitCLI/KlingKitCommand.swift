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
            SheetCommand.self,
            GalleryCommand.self,
            EmulatorCommand.self,
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
            FileHandle.standardError.write(Data(("klingkit: " + failure.message + "\n").utf8))
            Foundation.exit(failure.exitCode)
        } catch {
            let code = KlingKitCommand.exitCode(for: error)
            if code == .success || code.rawValue == ExitCode.validationFailure.rawValue || isUsage(error) {
                // Help and version requests print to stdout and exit 0; usage errors exit 2.
                let message = KlingKitCommand.fullMessage(for: error)
                if code == .success {
                    print(message)
                    Foundation.exit(0)
                }
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(2)
            }
            FileHandle.standardError.write(Data(("klingkit: " + String(describing: error) + "\n").utf8))
            Foundation.exit(1)
        }
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
