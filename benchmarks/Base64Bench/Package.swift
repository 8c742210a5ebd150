// swift-tools-version:6.0
import Foundation
import PackageDescription

// The base64 benchmark: FastBase64 (from the repository root) against Foundation and
// swift-extras-base64 1.2.0 (a dependency of this package only, never of the root package).
// Run through ../base64.sh, which builds it in release mode.

// A path dependency's identity is its directory name, which depends on where the repo was cloned.
let rootDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../..").standardizedFileURL.lastPathComponent

let package = Package(
    name: "Base64Bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/swift-extras/swift-extras-base64", exact: "1.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "Base64Bench",
            dependencies: [
                .product(name: "FastBase64", package: rootDirectory),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
            ]
        ),
    ]
)
