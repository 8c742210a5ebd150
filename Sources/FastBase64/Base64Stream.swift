internal import CFastBase64

/// Encodes a stream of bytes delivered in chunks of any size; the output equals a one-shot
/// ``Base64/encode(_:options:kernel:)-(UnsafeRawBufferPointer,_,_)`` of the concatenated input.
///
/// Up to 2 bytes are carried between chunks, so memory use is bounded by the chunk size.
public struct Base64StreamEncoder: Sendable {
    public let options: Base64Options
    public let kernel: Base64.Kernel?
    private var carry: [UInt8] = []
    private var finished = false

    public init(options: Base64Options = [], kernel: Base64.Kernel? = nil) {
        self.options = options
        self.kernel = kernel
    }

    /// Encodes as much of `chunk` (plus carried bytes) as forms whole 3-byte groups.
    /// - Returns: the characters for those groups (a multiple of 4).
    public mutating func encode(_ chunk: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(!finished, "Base64StreamEncoder used after finish()")
        var output: [UInt8] = []
        var rest = chunk
        if !carry.isEmpty {
            let take = min(3 - carry.count, rest.count)
            carry.append(contentsOf: rest.prefix(take))
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(take))
            guard carry.count == 3 else { return [] }
            output = Base64.encode(carry, options: options, kernel: kernel)
            carry.removeAll(keepingCapacity: true)
        }
        let whole = rest.count - rest.count % 3
        if whole > 0 {
            output += Base64.encode(UnsafeRawBufferPointer(rebasing: rest.prefix(whole)), options: options, kernel: kernel)
        }
        carry.append(contentsOf: rest.dropFirst(whole))
        return output
    }

    /// Encodes `chunk`; see ``encode(_:)-(UnsafeRawBufferPointer)``.
    public mutating func encode(_ chunk: [UInt8]) -> [UInt8] {
        chunk.withUnsafeBytes { encode($0) }
    }

    /// Ends the stream: the last 1 or 2 carried bytes, padded unless ``Base64Options/omitPadding``.
    public mutating func finish() -> [UInt8] {
        precondition(!finished, "Base64StreamEncoder finished twice")
        finished = true
        defer { carry = [] }
        return Base64.encode(carry, options: options, kernel: kernel)
    }
}

/// Decodes base64 text delivered in chunks of any size, strictly, with offsets counted from the start
/// of the stream; the output equals a one-shot decode of the concatenated text.
///
/// After the first error every further call throws the same error.
public struct Base64StreamDecoder: Sendable {
    private var state = klingkit_b64_decoder()
    private var lastError: Base64Error?

    public init(options: Base64Options = [], kernel: Base64.Kernel? = nil) {
        klingkit_b64_decoder_init(&state, Base64.cKernel(kernel), options.cFlags)
    }

    /// The number of input characters consumed so far.
    public var offset: Int { Int(state.offset) }

    /// Decodes `chunk` into `output`, which must hold `Base64.maxDecodedLength(of: chunk.count + 4)` bytes.
    /// - Returns: the number of bytes written.
    /// - Throws: ``Base64Error`` with the absolute offset in the stream.
    public mutating func decode(_ chunk: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int {
        if let lastError { throw lastError }
        precondition(output.count >= Base64.maxDecodedLength(of: chunk.count + 4), "base64 stream output buffer too small")
        let start = state.offset
        var written = 0
        var errorOffset: UInt64 = 0
        let status = klingkit_b64_decoder_update(&state, chunk.baseAddress, chunk.count, output.baseAddress, &written, &errorOffset)
        guard status == Int32(KLINGKIT_B64_OK) else {
            let local = Int(errorOffset) - Int(start)
            let byte: UInt8? = local >= 0 && local < chunk.count ? chunk[local] : nil
            let error = Base64Error(status: status, offset: Int(errorOffset), byte: byte)
            lastError = error
            throw error
        }
        return written
    }

    /// Decodes `chunk`, returning the bytes of every group it completes.
    public mutating func decode(_ chunk: UnsafeRawBufferPointer) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: Base64.maxDecodedLength(of: chunk.count + 4)) { buffer, count in
            count = try decode(chunk, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Decodes `chunk`; see ``decode(_:)-(UnsafeRawBufferPointer)``.
    public mutating func decode(_ chunk: [UInt8]) throws -> [UInt8] {
        try chunk.withUnsafeBytes { try decode($0) }
    }

    /// Ends the stream: decodes an unpadded tail (with ``Base64Options/omitPadding``) or reports
    /// input that stops inside a group or inside its padding.
    public mutating func finish() throws -> [UInt8] {
        if let lastError { throw lastError }
        var bytes = [UInt8](repeating: 0, count: 3)
        var written = 0
        var errorOffset: UInt64 = 0
        let status = bytes.withUnsafeMutableBytes {
            klingkit_b64_decoder_finish(&state, $0.baseAddress, &written, &errorOffset)
        }
        guard status == Int32(KLINGKIT_B64_OK) else {
            let error = Base64Error(status: status, offset: Int(errorOffset), byte: nil)
            lastError = error
            throw error
        }
        bytes.removeLast(3 - written)
        return bytes
    }
}
