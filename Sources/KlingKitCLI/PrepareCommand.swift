import ArgumentParser

// Placeholder until the owning issue lands; replaced wholesale.
struct PrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("prepare is not built yet") }
}
