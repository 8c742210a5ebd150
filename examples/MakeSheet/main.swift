// Makes a contact sheet of images or folders of results: one picture of what a batch produced.
//
//   swift run MakeSheet sheet.png samples
//
// Folders expand to the images inside them (a result folder's tiles are captioned by task and index);
// a damaged input becomes a labelled placeholder tile, never a failed sheet. The file is written
// atomically: all of a new sheet or none of it.
import Foundation
import KlingKit

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: MakeSheet OUT.png|OUT.jpg INPUT...\n".utf8))
    exit(2)
}
do {
    let items = try ContactSheet.items(from: Array(arguments.dropFirst()))
    var options = SheetOptions()
    options.tile = 200
    options.title = "\(items.count) images"
    options.format = arguments[0].lowercased().hasSuffix(".jpg") ? .jpeg : .png
    let sheet = try ContactSheet.write(items, options: options, to: arguments[0])
    print("\(sheet.path): \(sheet.width)x\(sheet.height) \(sheet.format.rawValue), \(items.count) tiles, \(sheet.byteCount) bytes")
} catch {
    FileHandle.standardError.write(Data("MakeSheet: \(error)\n".utf8))
    exit(1)
}
