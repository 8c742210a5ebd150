#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which result URLs the client fetches. A hostile or broken server names the URLs, so the client would
/// otherwise fetch whatever it is told: a local socket (`http+unix://`), the cloud metadata service
/// (169.254.169.254), or a service on the private network, and save the answer as a "result".
///
/// Only `http` and `https` are fetched, and the host's every resolved address must be public: loopback
/// (127.0.0.0/8, ::1) only when the API base URL is itself on loopback (the emulator); link-local
/// (169.254.0.0/16, fe80::/10, which holds the metadata address), private (10/8, 172.16/12,
/// 192.168/16, fc00::/7), CGNAT (100.64/10), unspecified and multicast addresses never, unless
/// ``ClientConfiguration/allowPrivateDownloads`` is set for an on-premise relay.
///
/// - Important: the addresses are checked when the download starts; a name that resolves differently a
///   moment later (DNS rebinding) is not caught, since async-http-client resolves again to connect.
struct DownloadGuard: Sendable {
    var allowLoopback: Bool
    var allowPrivate: Bool

    init(baseURL: String, allowPrivate: Bool) {
        self.allowPrivate = allowPrivate
        let host = Self.host(of: baseURL) ?? ""
        allowLoopback = allowPrivate || Self.addresses(of: host).map { !$0.isEmpty && $0.allSatisfy(\.isLoopback) } ?? false
    }

    /// Why `url` may not be fetched, or `nil` when it may.
    func problem(_ url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            let scheme = url.split(separator: ":", maxSplits: 1).first.map(String.init) ?? url
            return "only http and https result URLs are fetched, not \(scheme.prefix(20))"
        }
        guard let host = Self.host(of: url), !host.isEmpty else { return "the URL has no host" }
        guard let addresses = Self.addresses(of: host), !addresses.isEmpty else { return "the host \(host) does not resolve" }
        for address in addresses {
            if address.isLoopback {
                if !allowLoopback { return "\(host) is a loopback address (\(address)); refused unless the API itself is on loopback" }
            } else if address.isNonPublic && !allowPrivate {
                return "\(host) resolves to a link-local, private or reserved address (\(address)); --allow-private-downloads permits it"
            }
        }
        return nil
    }

    /// The host of an absolute URL (brackets of an IPv6 literal removed).
    static func host(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var rest = url[schemeEnd.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return String(rest)
    }

    /// Every address `host` resolves to (numeric hosts parse directly), or `nil` when it does not resolve.
    static func addresses(of host: String) -> [IPAddress]? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var result: [IPAddress] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let current = node {
            if let address = current.pointee.ai_addr {
                if current.pointee.ai_family == AF_INET {
                    let v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                    result.append(.v4(UInt32(bigEndian: v4)))
                } else if current.pointee.ai_family == AF_INET6 {
                    let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    }
                    result.append(.v6(bytes))
                }
            }
            node = current.pointee.ai_next
        }
        return result
    }
}

/// An IPv4 or IPv6 address, classified by the IANA special-purpose registries (RFC 6890).
enum IPAddress: Sendable, Equatable, CustomStringConvertible {
    case v4(UInt32)
    case v6([UInt8])

    var isLoopback: Bool {
        switch self {
        case .v4(let a): a >> 24 == 127
        case .v6(let b): b == [UInt8](repeating: 0, count: 15) + [1] || mappedV4.map { IPAddress.v4($0).isLoopback } == true
        }
    }

    /// Not a public unicast address: link-local, private, CGNAT, unspecified, multicast or reserved.
    var isNonPublic: Bool {
        switch self {
        case .v4(let a):
            let inBlock = { (base: UInt32, bits: UInt32) in a >> (32 - bits) == base >> (32 - bits) }
            return inBlock(0x0000_0000, 8) || inBlock(0x0A00_0000, 8) || inBlock(0x6440_0000, 10)
                || inBlock(0xA9FE_0000, 16) || inBlock(0xAC10_0000, 12) || inBlock(0xC0A8_0000, 16)
                || inBlock(0xC000_0000, 24) || inBlock(0xC612_0000, 15) || a >> 28 >= 0xE
        case .v6(let b):
            if let v4 = mappedV4 { return IPAddress.v4(v4).isNonPublic }
            if b.allSatisfy({ $0 == 0 }) { return true }                  // ::
            if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return true }        // fe80::/10 link-local
            if b[0] & 0xFE == 0xFC { return true }                        // fc00::/7 unique local
            if b[0] == 0xFF { return true }                               // multicast
            return false
        }
    }

    /// The IPv4 address of an IPv4-mapped IPv6 address (::ffff:a.b.c.d).
    private var mappedV4: UInt32? {
        guard case .v6(let b) = self, b.count == 16, b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF else { return nil }
        return UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15])
    }

    var description: String {
        switch self {
        case .v4(let a): "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)"
        case .v6(let b): stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
    }
}
