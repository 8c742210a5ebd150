// swift-tools-version:6.0
import Foundation
import PackageDescription

// The codecs benchmark driver: ImageCodecs (from the repository root) decode / verify / probe timed
// in-process on files held in memory. Run through ../codecs.sh, which builds it in release mode and
// times djpeg, Pillow and vipsheader on the same files.

// A path dependency's identity is its directory name, which depends on where the repo was cloned.
let rootDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../..").standardizedFileURL.lastPathComponent

let package = Package(
    name: "CodecsBench",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "CodecsBench",
            dependencies: [.product(name: "ImageCodecs", package: rootDirectory)]
        ),
    ]
)
