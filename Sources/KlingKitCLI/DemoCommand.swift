import ArgumentParser

// Placeholder until the owning issue lands; replaced wholesale.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("demo is not built yet") }
}
