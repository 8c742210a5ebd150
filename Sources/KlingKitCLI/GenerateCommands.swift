import ArgumentParser

// Placeholder until the client issue lands; replaced wholesale.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("generate is not built yet") }
}
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("status is not built yet") }
}
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("list is not built yet") }
}
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "download", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("download is not built yet") }
}
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("resume is not built yet") }
}
