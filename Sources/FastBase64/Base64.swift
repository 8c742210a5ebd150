internal import CFastBase64

/// Options for ``Base64`` encoding and decoding.
///
/// The default (`[]`) is RFC 4648 section 4: the standard alphabet (`+`, `/`), `=` padding,
/// no line breaks, and strict decoding that accepts nothing but the alphabet and correct padding.
public struct Base64Options: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The URL- and filename-safe alphabet of RFC 4648 section 5 (`-` and `_` for `+` and `/`).
    public static let urlSafe = Base64Options(rawValue: Int(KLINGKIT_B64_URLSAFE))
    /// Encode: write no `=` padding. Decode: the input carries no padding (`=` is an error) and
    /// may end in a 2- or 3-character group.
    public static let omitPadding = Base64Options(rawValue: Int(KLINGKIT_B64_OMIT_PADDING))
    /// Decode: skip ASCII whitespace (space, tab, LF, CR, FF, VT) anywhere in the input.
    /// Without it a whitespace byte is an invalid character. No effect on encoding.
    public static let ignoreWhitespace = Base64Options(rawValue: Int(KLINGKIT_B64_IGNORE_WHITESPACE))

    var cFlags: Int32 { Int32(truncatingIfNeeded: rawValue & 7) }
}

/// Base64 (RFC 4648) at memory speed: SIMD kernels chosen at run time, with a scalar reference.
///
/// Output never has a `data:` prefix or a line break. Decoding is strict: the first byte outside the
/// alphabet, a misplaced `=`, a truncated final group or non-zero unused bits in the last character
/// throw a ``Base64Error`` naming its byte offset.
///
/// On x86-64 the kernels are AVX-512 VBMI, AVX2 and SSSE3 (after Muła & Lemire 2018 and 2020), chosen
/// by CPUID and the OS's saved register state; on AArch64 (Apple silicon, Graviton) the NEON kernel
/// runs; on any other CPU the portable scalar kernel. Set the environment variable
/// `KLINGKIT_BASE64_KERNEL` to `scalar`, `ssse3`, `avx2`, `avx512vbmi` or `neon` to cap the automatic
/// choice, or pass `kernel:` to force one per call.
public enum Base64 {
    /// An implementation of the block loops. All produce identical output.
    public enum Kernel: String, CaseIterable, Sendable, CustomStringConvertible {
        case scalar, ssse3, avx2, avx512vbmi, neon

        var cValue: Int32 {
            switch self {
            case .scalar: Int32(KLINGKIT_B64_SCALAR)
            case .ssse3: Int32(KLINGKIT_B64_SSSE3)
            case .avx2: Int32(KLINGKIT_B64_AVX2)
            case .avx512vbmi: Int32(KLINGKIT_B64_AVX512VBMI)
            case .neon: Int32(KLINGKIT_B64_NEON)
            }
        }

        init?(cValue: Int32) {
            guard let kernel = Kernel.allCases.first(where: { $0.cValue == cValue }) else { return nil }
            self = kernel
        }

        /// Whether this CPU and operating system can run the kernel.
        public var isSupported: Bool { klingkit_b64_supported_kernels() & (1 << UInt32(cValue)) != 0 }

        public var description: String { rawValue }
    }

    /// The kernels this machine can run, narrowest first (always includes ``Kernel/scalar``).
    public static var supportedKernels: [Kernel] { Kernel.allCases.filter(\.isSupported) }

    /// The kernel used when none is forced: the widest supported one, capped by `KLINGKIT_BASE64_KERNEL`.
    public static var activeKernel: Kernel { Kernel(cValue: klingkit_b64_best_kernel()) ?? .scalar }

    static func cKernel(_ kernel: Kernel?) -> Int32 {
        guard let kernel else { return Int32(KLINGKIT_B64_AUTO) }
        precondition(kernel.isSupported, "base64 kernel \(kernel) is not supported on this CPU")
        return kernel.cValue
    }

    // MARK: Sizes

    /// The number of characters encoding `count` bytes produces (4 per 3 bytes, rounded up; fewer
    /// for the last group with ``Base64Options/omitPadding``).
    public static func encodedLength(of count: Int, options: Base64Options = []) -> Int {
        precondition(count >= 0 && count <= (Int.max / 4) * 3 - 3, "base64 input too large")
        return klingkit_b64_encoded_length(count, options.cFlags)
    }

    /// An upper bound of the bytes decoding `count` characters produces (at most 3 more than exact).
    public static func maxDecodedLength(of count: Int) -> Int {
        precondition(count >= 0, "negative length")
        return klingkit_b64_decoded_length_bound(count)
    }

    // MARK: Encode

    /// Encodes raw bytes into base64 text (ASCII bytes).
    /// - Parameters:
    ///   - bytes: the input, any length.
    ///   - options: alphabet and padding; ``Base64Options/ignoreWhitespace`` has no effect.
    ///   - kernel: forces a kernel (it must be supported); `nil` uses ``activeKernel``.
    /// - Returns: `encodedLength(of: bytes.count, options:)` ASCII bytes.
    public static func encode(_ bytes: UnsafeRawBufferPointer, options: Base64Options = [], kernel: Kernel? = nil) -> [UInt8] {
        let length = encodedLength(of: bytes.count, options: options)
        let k = cKernel(kernel)
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            klingkit_b64_advise_output(buffer.baseAddress, buffer.count)
            count = klingkit_b64_encode(k, bytes.baseAddress, bytes.count, buffer.baseAddress, options.cFlags)
        }
    }

    /// Encodes a byte array into base64 text (ASCII bytes). See ``encode(_:options:kernel:)-(UnsafeRawBufferPointer,_,_)``.
    public static func encode(_ bytes: [UInt8], options: Base64Options = [], kernel: Kernel? = nil) -> [UInt8] {
        bytes.withUnsafeBytes { encode($0, options: options, kernel: kernel) }
    }

    /// Encodes a byte array into a base64 `String`.
    public static func encodeToString(_ bytes: [UInt8], options: Base64Options = [], kernel: Kernel? = nil) -> String {
        bytes.withUnsafeBytes { encodeToString($0, options: options, kernel: kernel) }
    }

    /// Encodes raw bytes into a base64 `String`.
    public static func encodeToString(_ bytes: UnsafeRawBufferPointer, options: Base64Options = [], kernel: Kernel? = nil) -> String {
        let length = encodedLength(of: bytes.count, options: options)
        let k = cKernel(kernel)
        return String(unsafeUninitializedCapacity: length) { buffer in
            klingkit_b64_advise_output(buffer.baseAddress, buffer.count)
            return klingkit_b64_encode(k, bytes.baseAddress, bytes.count, buffer.baseAddress, options.cFlags)
        }
    }

    /// Encodes into caller-provided memory (no allocation).
    /// - Parameter output: must hold at least `encodedLength(of: bytes.count, options:)` bytes.
    /// - Returns: the number of bytes written to the start of `output`.
    @discardableResult
    public static func encode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                              options: Base64Options = [], kernel: Kernel? = nil) -> Int {
        let length = encodedLength(of: bytes.count, options: options)
        precondition(output.count >= length, "base64 output buffer holds \(output.count) bytes, needs \(length)")
        guard length > 0 else { return 0 }
        return klingkit_b64_encode(cKernel(kernel), bytes.baseAddress, bytes.count, output.baseAddress, options.cFlags)
    }

    // MARK: Decode

    /// Decodes base64 text into caller-provided memory (no allocation).
    /// - Parameter output: must hold at least `maxDecodedLength(of: text.count)` bytes; its
    ///   contents past the returned count are unspecified.
    /// - Returns: the number of bytes decoded.
    /// - Throws: ``Base64Error`` naming the offset of the first offending byte.
    @discardableResult
    public static func decode(_ text: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                              options: Base64Options = [], kernel: Kernel? = nil) throws -> Int {
        let bound = maxDecodedLength(of: text.count)
        precondition(output.count >= bound, "base64 output buffer holds \(output.count) bytes, needs \(bound)")
        var written = 0
        var offset: UInt64 = 0
        let status = klingkit_b64_decode(cKernel(kernel), text.baseAddress, text.count, output.baseAddress,
                                         options.cFlags, &written, &offset)
        if status != Int32(KLINGKIT_B64_OK) {
            throw Base64Error(status: status, offset: Int(offset), input: text)
        }
        return written
    }

    /// Decodes base64 text (ASCII bytes) strictly.
    /// - Parameters:
    ///   - text: the encoded characters.
    ///   - options: alphabet, padding expectation, whitespace skipping.
    ///   - kernel: forces a kernel (it must be supported); `nil` uses ``activeKernel``.
    /// - Returns: the decoded bytes.
    /// - Throws: ``Base64Error`` with the code and byte offset of the first problem.
    public static func decode(_ text: UnsafeRawBufferPointer, options: Base64Options = [], kernel: Kernel? = nil) throws -> [UInt8] {
        let bound = maxDecodedLength(of: text.count)
        return try [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            klingkit_b64_advise_output(buffer.baseAddress, buffer.count)
            count = try decode(text, into: UnsafeMutableRawBufferPointer(buffer), options: options, kernel: kernel)
        }
    }

    /// Decodes base64 text (ASCII bytes) strictly. See ``decode(_:options:kernel:)-(UnsafeRawBufferPointer,_,_)``.
    public static func decode(_ text: [UInt8], options: Base64Options = [], kernel: Kernel? = nil) throws -> [UInt8] {
        try text.withUnsafeBytes { try decode($0, options: options, kernel: kernel) }
    }

    /// Decodes a base64 string strictly; offsets in errors count UTF-8 bytes.
    public static func decode(_ text: some StringProtocol, options: Base64Options = [], kernel: Kernel? = nil) throws -> [UInt8] {
        if let result = try text.utf8.withContiguousStorageIfAvailable({ try decode(UnsafeRawBufferPointer($0), options: options, kernel: kernel) }) {
            return result
        }
        return try decode(Array(text.utf8), options: options, kernel: kernel)
    }
}
