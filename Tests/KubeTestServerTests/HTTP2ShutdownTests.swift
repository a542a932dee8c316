import Foundation
import KubeTestServer
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// Over HTTP/2 the server closes its connections before it stops: a connection that outlived the task
/// consuming its streams would trap the process on its next stream (see `HTTP2ServerChannel`).
@Suite("HTTP/2 connections at shutdown", .timeLimit(.minutes(1)))
struct HTTP2ShutdownTests {
    @Test func shutdownClosesAnOpenHTTP2Connection() async throws {
        var options = KubeTestServer.Options()
        options.http2 = true
        let server = try await KubeTestServer.start(options)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(try #require(server.pki).ca.certificatePEM.utf8)))
        tls.certificateVerification = .noHostnameVerification
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                }
            }
            .connect(host: "127.0.0.1", port: server.port).get()
        // The client preface and an empty SETTINGS frame: an HTTP/2 connection that stays open.
        var preface = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        preface.writeBytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
        try await channel.writeAndFlush(preface)
        try await Task.sleep(for: .milliseconds(200))
        #expect(channel.isActive)

        try await server.shutdown()
        // Closed by the server (a TLS close_notify, then the socket), not left to the client.
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
    }
}
