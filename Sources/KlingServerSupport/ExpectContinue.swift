import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with an interim `100 Continue` before the body is read, as HTTP/1.1
/// servers do (RFC 9110 §10.1.1). curl sends the header for every large body and otherwise waits a
/// second before sending it; Hummingbird does not answer it by itself.
///
/// A request the route is about to refuse without reading its body (a declared body over the cap, a
/// full queue) gets no `100`: `continues` says so from the head, and the client, holding its body
/// back, sends none of it. The route's refusal then closes the connection. Should the route read
/// after all (the queue freed up meanwhile), the client sends its body once its own wait (curl: 1 s)
/// runs out.
public final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundOut = HTTPResponsePart

    private let continues: @Sendable (HTTPRequest) -> Bool

    /// - Parameter continues: whether to invite the body of this head (default: always).
    public init(continues: @escaping @Sendable (HTTPRequest) -> Bool = { _ in true }) {
        self.continues = continues
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .head(var head) = part, let expect = head.headerFields[.expect], expect.lowercased() == "100-continue" {
            head.headerFields[.expect] = nil
            if continues(head) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            context.fireChannelRead(wrapInboundOut(.head(head)))
            return
        }
        context.fireChannelRead(data)
    }
}
