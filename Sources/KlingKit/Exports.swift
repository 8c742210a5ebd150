// The umbrella module: `import KlingKit` gives a library user the modules most programs need, so that
// validating, preparing, encoding, submitting and reviewing take one import (`examples/` shows each). The server and batch
// modules (Hummingbird, GRDB, PostgresNIO behind them) stay separate imports: ReferenceImageService,
// KlingEmulator, KlingBatch.
@_exported import ContactSheets
// The client's API takes and returns URL and Data: one import is enough for a program that uses it.
@_exported import Foundation
@_exported import FastBase64
@_exported import ImageCodecs
@_exported import ImageCore
@_exported import KlingAPI
@_exported import KlingModels
@_exported import ReferenceImages
