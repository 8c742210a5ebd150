import ArgumentParser

// Placeholder until the owning issue lands; replaced wholesale.
struct SheetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sheet", abstract: "(not built yet)")
    func run() async throws { throw CommandFailure("sheet is not built yet") }
}
