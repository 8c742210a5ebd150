import ArgumentParser

// Placeholder until the owning issue lands; replaced wholesale.
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "emulator", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("emulator is not built yet") }
}
