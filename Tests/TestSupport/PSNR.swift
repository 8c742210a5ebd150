import Foundation
import ImageCore

/// Peak signal-to-noise ratio in dB between two images of the same size and format (infinity when
/// identical): how every test judges a lossy result against an independent reference.
public func psnr(_ a: Image, _ b: Image) -> Double {
    precondition(a.size == b.size && a.format == b.format, "psnr needs two images of one size and format")
    var sum = 0.0
    for i in 0..<a.pixels.count {
        let d = Double(a.pixels[i]) - Double(b.pixels[i])
        sum += d * d
    }
    let mse = sum / Double(a.pixels.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}
