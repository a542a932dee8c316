import Foundation
import NIOCore
import NIOSSL
import Synchronization
import X509

/// An authenticated user: name and groups, as the real server derives them.
struct UserInfo: Sendable, Hashable {
    var name: String
    var groups: [String]
}

/// Client certificate (CN → user, O → groups) or bearer token; over plain HTTP everyone is accepted.
final class Authenticator: Sendable {
    private let tls: Bool
    private let tokens: Mutex<[String: UserInfo]>

    init(tls: Bool, tokens: [String: String]) {
        self.tls = tls
        self.tokens = Mutex(tokens.mapValues { UserInfo(name: $0, groups: ["system:authenticated"]) })
    }

    /// Accepts `token` as `user` from now on (TokenRequest).
    func register(token: String, user: UserInfo) {
        tokens.withLock { $0[token] = user }
    }

    /// The user of a request, or nil when it must be refused with 401.
    func authenticate(channel: any Channel, authorization: String?) async -> UserInfo? {
        if let authorization, authorization.lowercased().hasPrefix("bearer ") {
            let token = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
            if let user = tokens.withLock({ $0[token] }) { return user }
            return tls ? nil : UserInfo(name: "system:anonymous", groups: ["system:unauthenticated"])
        }
        guard tls else { return UserInfo(name: "system:anonymous", groups: ["system:unauthenticated"]) }
        // The TLS layer already verified a presented certificate against the test CA.
        // Over HTTP/2 the request's channel is a stream: TLS is its parent connection's.
        var peer = try? await channel.nioSSL_peerCertificate().get()
        if peer == nil, let parent = channel.parent { peer = try? await parent.nioSSL_peerCertificate().get() }
        guard let certificate = peer,
              let der = try? certificate.toDERBytes(),
              let parsed = try? Certificate(derEncoded: der) else { return nil }
        var name = ""
        var groups: [String] = []
        for rdn in parsed.subject {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName { name = String(describing: attribute.value) }
                if attribute.type == .RDNAttributeType.organizationName { groups.append(String(describing: attribute.value)) }
            }
        }
        guard !name.isEmpty else { return nil }
        return UserInfo(name: name, groups: groups + ["system:authenticated"])
    }
}

/// Every watch event written on the wire, in order.
final class EventRecorder: Sendable {
    private let events = Mutex<[RecordedWatchEvent]>([])

    func record(watchID: Int, resource: ResourceType, type: WatchEventType, object: JSONValue) {
        events.withLock { events in
            let sequence = events.count
            events.append(RecordedWatchEvent(sequence: sequence, watchID: watchID, resource: resource, type: type, object: object))
        }
    }

    func events(since sequence: Int) -> [RecordedWatchEvent] {
        events.withLock { Array($0.dropFirst(max(0, sequence))) }
    }
}
