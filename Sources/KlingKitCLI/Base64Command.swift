import ArgumentParser

// Placeholder until the owning issue lands; replaced wholesale.
struct Base64Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "base64", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("base64 is not built yet") }
}
