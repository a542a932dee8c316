// HTTP/2 beside HTTP/1.1 over TLS, as Hummingbird's `HTTP2UpgradeChannel` serves them, without its trap.
//
// Every HTTP/2 stream is handed to Hummingbird through an AsyncThrowingStream (swift-nio-http2's
// `AsyncStreamMultiplexer.inbound`) that one task per connection consumes. Once that stream has ended, the
// multiplexer still opens a stream channel for each HEADERS frame the connection delivers, the stream
// drops it, and the dropped channel's NIOAsyncWriter traps the process ("Deinited NIOAsyncWriter without
// calling finish()", from `HTTP2CommonInboundStreamMultiplexer.receivedFrame`). The stream can end
// while the connection still delivers frames in two ways:
//
// - an error from before the HTTP/2 handler (TLS, the socket) reaches `NIOHTTP2Handler.errorCaught`, which
//   finishes the stream with it; `TransportErrorGuard` keeps such errors from the HTTP/2 handler of an
//   HTTP/2 connection and closes the connection instead;
// - the consuming task is cancelled when the server stops; `shutdown()` first closes every HTTP/2
//   connection and refuses new ones (`HTTP2Connections`), so no connection outlives its consumer.
//
// In both cases the stream then ends only when the channel goes inactive, after its last frame, and a
// stream opened in between is still served (or closed with the connection).

import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// Hummingbird's `HTTP2UpgradeChannel` (TLS, ALPN "h2" and "http/1.1") with `TransportErrorGuard` after the
/// TLS handler and its connections tracked in `HTTP2Connections`.
struct HTTP2ServerChannel: ServerChildChannel {
    typealias Value = HTTP2UpgradeChannel.Value

    private let upgrade: HTTP2UpgradeChannel
    private let connections: HTTP2Connections

    /// - Parameters:
    ///   - tlsConfiguration: the server's TLS configuration; `HTTP2UpgradeChannel` sets the ALPN protocols.
    ///   - connections: where open connections are tracked, for `HTTP2Connections.closeAll()`.
    ///   - responder: the HTTP responder every request goes to.
    init(tlsConfiguration: TLSConfiguration, connections: HTTP2Connections,
         responder: @escaping HTTPChannelHandler.Responder) throws {
        self.upgrade = try HTTP2UpgradeChannel(tlsConfiguration: tlsConfiguration, responder: responder)
        self.connections = connections
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard self.connections.insert(channel) else {
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        let connections = self.connections
        channel.closeFuture.whenComplete { _ in connections.remove(channel) }
        // `HTTP2UpgradeChannel.setup` adds the TLS handler and then the ALPN handler synchronously, before the
        // channel reads anything. The guard goes right after the TLS handler, so that the HTTP/2 handler, added
        // at the end of the pipeline once "h2" is negotiated, comes after it.
        return self.upgrade.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let tls = try operations.handler(type: NIOSSLServerHandler.self)
            try operations.addHandler(TransportErrorGuard(), position: .after(tls))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await self.upgrade.handle(value: value, logger: logger)
        // Hummingbird leaves an HTTP/2 connection open when its stream of streams ends with an error.
        if value.channel.isActive {
            try? await value.channel.close()
        }
    }
}

/// Keeps errors of the transport (TLS, socket) from the HTTP/2 handler of an HTTP/2 connection and closes the
/// connection instead (see the top of this file). On HTTP/1.1 connections errors pass as before.
final class TransportErrorGuard: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    /// Whether ALPN chose HTTP/2 for this connection.
    private var isHTTP2 = false

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted(let negotiated) = event as? TLSUserEvent {
            self.isHTTP2 = negotiated == "h2"
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard self.isHTTP2 else {
            context.fireErrorCaught(error)
            return
        }
        context.close(mode: .all, promise: nil)
    }
}

/// The open connections of an `HTTP2ServerChannel`, so that the server can close them all before it stops.
final class HTTP2Connections: Sendable {
    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var closing = false
    }

    private let state = Mutex(State())

    /// Tracks `channel`; false once `closeAll()` has begun, when the connection must be refused.
    func insert(_ channel: any Channel) -> Bool {
        self.state.withLock { state in
            guard !state.closing else { return false }
            state.open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    /// Stops tracking `channel` (it has closed).
    func remove(_ channel: any Channel) {
        _ = self.state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Refuses new connections from now on, closes every open one and returns once they are closed.
    func closeAll() async {
        let open = self.state.withLock { state in
            state.closing = true
            return Array(state.open.values)
        }
        await withDiscardingTaskGroup { group in
            for channel in open {
                group.addTask { try? await channel.close() }
            }
        }
    }
}
