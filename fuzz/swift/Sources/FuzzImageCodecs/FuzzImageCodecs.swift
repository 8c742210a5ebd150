import ImageCore
import ImageCodecs
import ReferenceImages

/// libFuzzer entry point: probe, validate and (small images only) decode arbitrary bytes, convert an
/// embedded ICC profile, and run the planar JPEG resize.
/// Any trap, sanitizer report or leak is a finding; thrown ``CodecError``s are the expected outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageCodecs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let options = DecodeOptions(maxPixels: 4 << 20)
    _ = ImageCodec.sniff(bytes)
    _ = try? ImageCodec.probe(bytes, options: options)
    _ = ReferenceImageValidator(rules: UploadRules(maxPixels: 4 << 20)).validate(bytes: bytes, name: "fuzz")
    if let decoded = try? ImageCodec.decode(bytes, options: options) {
        precondition(decoded.image.pixels.count == decoded.image.width * decoded.image.height * decoded.image.format.channels)
        // An embedded profile goes through lcms2 exactly as `prepare --icc srgb` would take it.
        if let icc = decoded.iccProfile, !decoded.image.format.isGray,
           let converter = try? SRGBConverter(profile: icc, format: decoded.image.format) {
            var image = decoded.image
            converter.convert(&image)
        }
    }
    // The planar resize route of `prepare`, on the decoder thread and without it.
    var scaled = options
    scaled.jpegScaleEighths = 4
    for prefetch in [false, true] {
        guard let reader = try? JPEGPlanarReader(bytes, options: prefetch ? options : scaled),
              let writer = try? JPEGPlanarWriter(width: max(1, reader.width / 3 + 1), height: max(1, reader.height / 2 + 1),
                                                 gray: reader.layout.planes.count == 1) else { continue }
        // Every EXIF orientation in turn (picked from the input's length), swapped sides included.
        let orientation = bytes.count % 8 + 1
        let swaps = orientation >= 5
        guard let turned = swaps ? try? JPEGPlanarWriter(width: writer.height, height: writer.width,
                                                        gray: reader.layout.planes.count == 1) : writer else { continue }
        if (try? PlanarJPEGResize.run(from: reader, to: turned, orientation: orientation, prefetch: prefetch)) != nil {
            precondition((try? turned.finish()) != nil, "a completed planar resize must finish")
        }
    }
    return 0
}

/// libFuzzer's driver, from the runtime `-sanitize=fuzzer` links.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's entry point as `<module>_main`; hand control to libFuzzer there.
@_cdecl("FuzzImageCodecs_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzImageCodecs(data, size) }
}
