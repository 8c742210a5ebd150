// swift-tools-version:6.0
// libFuzzer target over the Swift layer (header probe, EXIF parser, validator, decode, ICC conversion,
// planar JPEG resize), built only by
// fuzz/run-swift.sh, never by the root package:
//   swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
import PackageDescription

let package = Package(
    name: "KlingKitFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "KlingKit", path: "../..")],
    targets: [
        .executableTarget(
            name: "FuzzImageCodecs",
            dependencies: [
                .product(name: "ImageCore", package: "KlingKit"),
                .product(name: "ImageCodecs", package: "KlingKit"),
                .product(name: "ReferenceImages", package: "KlingKit"),
            ]
        ),
    ]
)
