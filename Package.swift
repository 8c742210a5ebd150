// swift-tools-version:6.0
import PackageDescription

// Module layout (imports point down; only CImageCodecShims sees libjpeg/libpng/lcms2):
//   klingkit (KlingKitTool) -> KlingKitCLI -> KlingKit (the umbrella: re-exports, ReferenceImageChecks) and {KlingAPI, KlingEmulator, KlingBatch, ReferenceImageService, ResultGallery, ContactSheets, ReferenceImages, FastBase64}
//   ResultGallery (the HTML gallery of results) -> ContactSheets (its tile path makes the thumbnails)
//   KlingAPI (the client, KlingClient) -> KlingModels, KlingSupport (image checks are injected: no image module)
//   KlingEmulator -> KlingModels, KlingSupport, ReferenceImages, KlingServerSupport (reference intake, result rendering)
//   ReferenceImageService -> ReferenceImages, ImageCodecs, KlingSupport, KlingServerSupport (`klingkit serve`'s routes)
//   KlingServerSupport (Hummingbird pieces both servers share: thread pool executor, channel guards) imports nothing of ours
//   KlingBatch -> KlingAPI, KlingModels, KlingSupport (+ GRDB, PostgresNIO, SwiftCSV): batch files, journals, the runner
//   ContactSheets, ReferenceImages -> ImageCodecs -> ImageCore, CImageCodecShims -> CLibJPEG, CLibPNG, CLibLCMS2
//   KlingModels -> KlingSupport; KlingSupport (atomic files, one clock, one seeded generator) imports nothing of ours
let package = Package(
    name: "KlingKit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "klingkit", targets: ["KlingKitTool"]),
        // The umbrella: `import KlingKit` re-exports the image, base64, model and client modules.
        .library(name: "KlingKit", targets: ["KlingKit"]),
        .library(name: "ImageCore", targets: ["ImageCore"]),
        .library(name: "ImageCodecs", targets: ["ImageCodecs"]),
        .library(name: "FastBase64", targets: ["FastBase64"]),
        .library(name: "ReferenceImages", targets: ["ReferenceImages"]),
        .library(name: "ContactSheets", targets: ["ContactSheets"]),
        .library(name: "ResultGallery", targets: ["ResultGallery"]),
        .library(name: "KlingSupport", targets: ["KlingSupport"]),
        .library(name: "FaceDetection", targets: ["FaceDetection"]),
        .library(name: "KlingModels", targets: ["KlingModels"]),
        .library(name: "KlingAPI", targets: ["KlingAPI"]),
        .library(name: "KlingEmulator", targets: ["KlingEmulator"]),
        .library(name: "ReferenceImageService", targets: ["ReferenceImageService"]),
        .library(name: "KlingBatch", targets: ["KlingBatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // Batch journals: SQLite (embedded) and PostgreSQL (shared by several workers); batch CSV files.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV", from: "0.10.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        // The emulator's task store: a heap of due transitions and a deque of creation order.
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // `swift package generate-documentation` for the DocC catalogs (Sources/*/*.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: C
        .systemLibrary(name: "CLibJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"]), .brew(["jpeg-turbo"])]),
        .systemLibrary(name: "CLibPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        .systemLibrary(name: "CLibLCMS2", pkgConfig: "lcms2", providers: [.apt(["liblcms2-dev"]), .brew(["little-cms2"])]),
        // zlib directly for the parallel PNG encoder (png_parallel.c: independent deflate segments).
        .target(name: "CImageCodecShims", dependencies: ["CLibJPEG", "CLibPNG", "CLibLCMS2"],
                linkerSettings: [.linkedLibrary("z"), .linkedLibrary("pthread")]),
        // Formats the API refuses but prepare converts (issue #13): HEIF/AVIF, WebP, nclx -> ICC.
        .systemLibrary(name: "CLibHeif", pkgConfig: "libheif", providers: [.apt(["libheif-dev"]), .brew(["libheif"])]),
        .systemLibrary(name: "CLibWebP", pkgConfig: "libwebpdemux", providers: [.apt(["libwebp-dev"]), .brew(["webp"])]),
        .target(name: "CImageFormatShims", dependencies: ["CLibHeif", "CLibWebP", "CLibLCMS2"]),
        .target(name: "CFastBase64"),
        // Advisory face count (issue #13): dlib's HOG frontal face detector (libdlib-dev) behind a C API.
        // Optimised even in debug builds: dlib's templates at -O0 make one detection take seconds.
        // On Linux linked statically (`-l:libdlib.a`): only its base64 and entropy-decoder members are
        // pulled in, and no process loads libdlib.so and its LAPACK/BLAS/gfortran chain (face_detect.cpp).
        // Apple's linker has no `-l:`; Homebrew's dlib is linked as it comes.
        .target(name: "CFaceDetect", cxxSettings: [.unsafeFlags(["-O2"])], linkerSettings: [
            .linkedLibrary(":libdlib.a", .when(platforms: [.linux])),
            .linkedLibrary("dlib", .when(platforms: [.macOS])),
        ]),

        // MARK: Support
        .target(name: "KlingSupport", dependencies: [
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),

        // MARK: Image work
        .target(name: "ImageCore", dependencies: [.product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .target(name: "ImageCodecs", dependencies: ["ImageCore", "CImageCodecShims", "CImageFormatShims", "KlingSupport"]),
        .target(name: "FastBase64", dependencies: ["CFastBase64", "KlingSupport"]),
        .target(name: "ReferenceImages", dependencies: ["ImageCore", "ImageCodecs", "FastBase64", "FaceDetection", "KlingSupport"]),
        .target(name: "ContactSheets", dependencies: [
            "ImageCore", "ImageCodecs", "KlingSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .target(name: "ResultGallery", dependencies: [
            "ContactSheets", "ImageCore", "ImageCodecs", "KlingSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .target(name: "FaceDetection", dependencies: ["ImageCore", "CFaceDetect"]),

        // MARK: API
        .target(name: "KlingModels", dependencies: ["KlingSupport", .product(name: "Crypto", package: "swift-crypto")]),
        // What the emulator and the upload service share: a task executor on threads of its own, and
        // channel handlers (100-continue, head/read timeouts, close after a refusal).
        .target(name: "KlingServerSupport", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        ]),
        .target(name: "KlingEmulator", dependencies: [
            "KlingModels", "KlingSupport", "ImageCore", "ImageCodecs", "ReferenceImages", "FastBase64", "KlingServerSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            // Callbacks and loopback image fetches; not URLSession, whose FoundationNetworking
            // loads libcurl and ~28 more shared libraries at every klingkit launch.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "KlingAPI", dependencies: [
            // No image module: reference images and downloads are checked through an injected
            // ReferenceImageProcessor (KlingKitCLI's ReferenceImageChecks wires ReferenceImages in).
            "KlingModels", "KlingSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Upload service
        // `klingkit serve` as a library: the check/prepare routes any Hummingbird app can mount, and the
        // standalone server built by a function. The page and the OpenAPI document are compiled in.
        .target(name: "ReferenceImageService", dependencies: [
            "ReferenceImages", "ImageCodecs", "ImageCore", "FastBase64", "KlingSupport", "KlingServerSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "MultipartKit", package: "multipart-kit"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], resources: [.embedInCode("Resources/page.html"), .embedInCode("Resources/openapi.json")]),
        // Batches (issue #15): batch files, the journal protocol with its SQLite and PostgreSQL
        // implementations, and the runner (slot budget, leases, one poller). Image work stays injected.
        .target(name: "KlingBatch", dependencies: [
            "KlingAPI", "KlingModels", "KlingSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "SwiftCSV", package: "SwiftCSV"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),

        // MARK: Umbrella
        // Re-exports (Exports.swift) plus the glue no lower module may hold: ReferenceImageChecks wires
        // ReferenceImages into the client's injected image checks.
        .target(name: "KlingKit", dependencies: [
            "ContactSheets", "FastBase64", "ImageCodecs", "ImageCore", "KlingAPI", "KlingModels", "ReferenceImages",
        ]),

        // MARK: Command line
        .target(name: "KlingKitCLI", dependencies: [
            "KlingKit", "ImageCore", "ImageCodecs", "FastBase64", "ReferenceImages", "ContactSheets", "ResultGallery", "FaceDetection",
            "KlingModels", "KlingSupport", "KlingAPI", "KlingEmulator", "ReferenceImageService", "KlingBatch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .executableTarget(name: "KlingKitTool", dependencies: ["KlingKitCLI"]),  // the `klingkit` binary

        // MARK: Examples
        // Small programs a library user can copy (examples/README.md); ExamplesTests runs each built binary.
        .executableTarget(name: "ValidateUpload", dependencies: ["KlingKit"], path: "examples/ValidateUpload"),
        .executableTarget(name: "PrepareAndSubmit", dependencies: ["KlingKit"], path: "examples/PrepareAndSubmit"),
        .executableTarget(name: "EmulatorRoundTrip", dependencies: ["KlingKit", "KlingEmulator"], path: "examples/EmulatorRoundTrip"),
        .executableTarget(name: "MakeSheet", dependencies: ["KlingKit"], path: "examples/MakeSheet"),

        // MARK: Tests
        // What every test target shares: where the corpus is (KLINGKIT_CORPUS, KLINGKIT_REQUIRE_CORPUS).
        // Also: child processes off the cooperative pool, headless Chromium over WebDriver, a throwaway PostgreSQL.
        .target(name: "KlingKitTestSupport", dependencies: [
            "ImageCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "TestSupportTests", dependencies: ["KlingKitTestSupport"]),
        .testTarget(name: "ImageCoreTests", dependencies: ["KlingKitTestSupport", "ImageCore"]),
        .testTarget(name: "ImageCodecsTests", dependencies: ["KlingKitTestSupport", "KlingSupport", "ImageCodecs", "ImageCore"]),
        .testTarget(name: "FastBase64Tests", dependencies: ["KlingKitTestSupport", "FastBase64", "CFastBase64", "KlingSupport"],
            // The C differential check that NEONKernelTests cross-compiles for AArch64 (not part of this target).
            exclude: ["CrossCheck"]),
        .testTarget(name: "ReferenceImagesTests", dependencies: ["KlingKitTestSupport", "ReferenceImages", "ImageCodecs", "ImageCore"]),
        .testTarget(name: "ContactSheetsTests", dependencies: ["KlingKitTestSupport", "ContactSheets", "ImageCodecs", "ImageCore"]),
        .testTarget(name: "ResultGalleryTests", dependencies: ["KlingKitTestSupport", "ResultGallery", "ContactSheets", "ImageCodecs", "ImageCore"]),
        .testTarget(name: "KlingSupportTests", dependencies: ["KlingKitTestSupport", "KlingSupport"]),
        .testTarget(name: "KlingModelsTests", dependencies: ["KlingKitTestSupport", "KlingModels", "KlingSupport"]),
        .testTarget(name: "FaceDetectionTests", dependencies: ["KlingKitTestSupport", "FaceDetection", "ImageCodecs", "ImageCore"]),
        .testTarget(name: "KlingEmulatorTests", dependencies: ["KlingKitTestSupport",
            "KlingEmulator", "KlingModels", "KlingSupport", "ImageCodecs", "ImageCore", "FastBase64",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "KlingAPITests", dependencies: ["KlingKitTestSupport", "KlingKit",
            "KlingAPI", "KlingEmulator", "KlingModels", "KlingSupport", "KlingKitCLI", "ImageCodecs",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "KlingBatchTests", dependencies: ["KlingKitTestSupport", "KlingKit",
            "KlingBatch", "KlingAPI", "KlingEmulator", "KlingModels", "KlingSupport", "KlingKitCLI",
        ]),
        .testTarget(name: "KlingKitCLITests", dependencies: ["KlingKitTestSupport", "KlingKit", "KlingKitCLI", "KlingAPI", "KlingEmulator", "KlingSupport",
            // README's snippets:
            "ReferenceImages", "ImageCodecs", "FastBase64", "ReferenceImageService", .product(name: "Hummingbird", package: "hummingbird"),
            "KlingBatch", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            "ImageCore"],  // the gallery tests make tiny results
            exclude: ["Scripts"]),  // run by python3 from the tests, not built
        .testTarget(name: "ReferenceImageServiceTests", dependencies: ["KlingKitTestSupport",
            "ReferenceImageService", "ReferenceImages", "ImageCodecs", "ImageCore", "FastBase64",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ]
)
