internal import CImageCodecShims
import ImageCore

/// Converts RGB or RGBA pixels from the colour space an embedded ICC profile describes (Display P3,
/// Adobe RGB, ProPhoto, a camera profile…) to sRGB, through Little CMS 2: perceptual intent where the
/// profile has one, else relative colorimetric; alpha passes through untouched.
///
/// Use it where the receiver may ignore embedded profiles (most upload APIs and image models do):
/// converted pixels look the same everywhere and no profile needs to travel with them.
/// - Important: not thread-safe; one converter belongs to one thread at a time.
public final class SRGBConverter {
    public let format: PixelFormat
    private let handle: OpaquePointer

    /// Builds the transform.
    /// - Throws: ``CodecError`` `.corrupt` when the profile does not parse, `.unsupported` when it is
    ///   not an RGB profile or lcms2 cannot link it to sRGB, `.invalidArgument` for gray formats.
    public init(profile: [UInt8], format: PixelFormat) throws {
        guard format == .rgb || format == .rgba else {
            throw CodecError(.invalidArgument, "sRGB conversion takes RGB or RGBA pixels, not \(format)")
        }
        var handle: OpaquePointer?
        var status = kk_status()
        let rc = profile.withUnsafeBytes { raw in
            kk_icc_to_srgb_open(raw.baseAddress, raw.count, Int32(format.channels), &handle, &status)
        }
        guard rc == Int32(KK_OK), let handle else { throw NativeCodec.error(rc, status) }
        self.handle = handle
        self.format = format
    }

    deinit { kk_icc_transform_free(handle) }

    /// Converts `pixels` pixels in place.
    public func convert(_ samples: UnsafeMutablePointer<UInt8>, pixels: Int) {
        kk_icc_to_srgb_run(handle, samples, samples, pixels)
    }

    /// Converts every pixel of `image` (whose format must be this converter's) in place.
    public func convert(_ image: inout Image) {
        precondition(image.format == format, "converter for \(format) given \(image.format)")
        let count = image.width * image.height
        image.withUnsafeMutablePixels { convert($0.baseAddress!, pixels: count) }
    }
}
