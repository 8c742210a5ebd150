import ArgumentParser
import ContactSheets
import ImageCore
import KlingModels
import ReferenceImages

// Option values as typed values: argument-parser parses them, lists them in `--help` and in shell
// completions, and refuses an unknown closed-set value as a usage error (exit 2) naming the choices.
// Closed sets match case-insensitively, as the CLI always has.

extension PrepareOptions.PadStyle: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension PrepareOptions.OutputFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension PrepareOptions.ColorProfile: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension ResampleFilter: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

// The API's vocabulary is open (a new model name must not need a new klingkit): any text parses, the
// request rules refuse what the service would refuse with their own message, and the known values
// are offered for completion and help.

extension ModelName: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var allValueStrings: [String] { generationModels.map(\.rawValue) }
}

extension AspectRatio: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var allValueStrings: [String] { all.map(\.rawValue) }
}

extension Resolution: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument.lowercased()) }
    public static var allValueStrings: [String] { all.map(\.rawValue) }
}

extension ImageReference: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument.lowercased()) }
    public static var allValueStrings: [String] { all.map(\.rawValue) }
}

extension CaptionMode: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
