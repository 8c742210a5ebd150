import ArgumentParser

// Placeholder until the owning issue lands; replaced wholesale.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("check is not built yet") }
}
