// Validates images against the API's upload rules, as a backend checks its users' uploads.
//
//   swift run ValidateUpload samples/portrait-valid.jpg samples/avatar-tiny.png
//
// Prints one line per file (every violation, with the measured value and the limit) and exits 1 when
// any file is invalid. A missing or unreadable file is that file's violation, never a crash.
import Foundation
import KlingKit

let paths = Array(CommandLine.arguments.dropFirst())
guard !paths.isEmpty else {
    FileHandle.standardError.write(Data("usage: ValidateUpload FILE...\n".utf8))
    exit(2)
}
let validator = ReferenceImageValidator()   // the vendor's rules: JPEG/PNG, ≤ 10 MiB, sides ≥ 300 px, 1:2.5…2.5:1
var invalid = 0
for path in paths {
    let report = validator.validate(fileAt: path)
    if report.isValid {
        print("\(path): valid (\(report.format?.rawValue ?? "?"), \(report.width ?? 0)x\(report.height ?? 0))")
    } else {
        invalid += 1
        print("\(path): invalid: " + report.violations.map { "\($0.rule.rawValue): \($0.message)" }.joined(separator: "; "))
    }
}
exit(invalid == 0 ? 0 : 1)
