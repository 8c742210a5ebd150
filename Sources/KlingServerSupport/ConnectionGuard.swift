import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Protects a server from slow and abandoned clients, per connection, after HTTP parsing:
///
/// - **head timeout**: a request head must arrive complete within ``headTimeout`` of the connection
///   opening or of the previous response ending (a slowloris trickling header bytes is closed);
/// - **read timeout**: while a request body is arriving, each part must follow the previous one within
///   ``readTimeout`` (a client that stops sending mid-body is closed);
/// - **refusal close**: a response whose head carries `Connection: close` (a refusal sent before the
///   body was read, a 413 say) ends the connection once written: the output is shut at once, so the
///   client sees the answer and an end of stream, and the socket is closed ``lingerTime`` later, so a
///   client still sending (a 1 GB upload) is not kept reading for ever and is not reset before it read
///   the answer.
///
/// Timers run on the channel's event loop; nothing here allocates per byte.
public final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// Longest wait for a complete request head.
    public let headTimeout: TimeAmount
    /// Longest pause between two parts of a request body.
    public let readTimeout: TimeAmount
    /// How long a refused client's remaining upload is read and discarded before the socket closes.
    public let lingerTime: TimeAmount

    private enum Phase { case awaitingHead, readingBody, answering }
    private var phase = Phase.awaitingHead
    private var timer: Scheduled<Void>?
    private var closeAfterResponse = false

    /// - Parameters:
    ///   - headTimeout: longest wait for a complete request head (default 10 s).
    ///   - readTimeout: longest pause between body parts (default 10 s).
    ///   - lingerTime: time a refused upload is drained before the socket closes (default 2 s).
    public init(headTimeout: TimeAmount = .seconds(10), readTimeout: TimeAmount = .seconds(10), lingerTime: TimeAmount = .seconds(2)) {
        self.headTimeout = headTimeout
        self.readTimeout = readTimeout
        self.lingerTime = lingerTime
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, after: headTimeout) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        arm(context, after: headTimeout)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .readingBody
            arm(context, after: readTimeout)
        case .body:
            if phase == .readingBody { arm(context, after: readTimeout) }
        case .end:
            if phase == .readingBody {
                phase = .answering
                disarm()
            }
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.status.kind != .informational, response.headerFields[.connection]?.lowercased() == "close" {
                closeAfterResponse = true
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                if phase == .answering {
                    phase = .awaitingHead
                    arm(context, after: headTimeout)
                }
                return
            }
            let written = promise ?? context.eventLoop.makePromise()
            context.writeAndFlush(data, promise: written)
            let linger = lingerTime
            written.futureResult.assumeIsolated().whenComplete { [self] _ in
                context.close(mode: .output, promise: nil)
                phase = .answering
                disarm()
                timer = context.eventLoop.assumeIsolated().scheduleTask(in: linger) { context.close(promise: nil) }
            }
        }
    }

    private func arm(_ context: ChannelHandlerContext, after delay: TimeAmount) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { context.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
