import Crypto
import Foundation
import Hummingbird

extension APIResponder {
    /// POST serviceaccounts/NAME/token: a signed JWT for the service account, bound to a pod when the
    /// request names one (which must exist with that uid). The token authenticates to this server as
    /// `system:serviceaccount:NS:NAME` until it expires.
    func tokenRequest(namespace: String?, serviceAccount: String, body: JSONValue) async throws -> Response {
        let ns = namespace ?? "default"
        let account = try await store.get(.serviceAccounts, namespace: ns, name: serviceAccount)
        if let kind = body["kind"]?.stringValue, kind != "TokenRequest" {
            throw APIError.badRequest("expected a TokenRequest, got \(kind)")
        }
        let expiration = body[path: ["spec", "expirationSeconds"]]?.intValue ?? 3600
        guard expiration >= 600 else {
            throw APIError.invalid(.serviceAccounts, serviceAccount, field: "spec.expirationSeconds",
                                   "Invalid value: \(expiration): may not specify a duration less than 10 minutes")
        }
        let audiences = body[path: ["spec", "audiences"]]?.arrayValue ?? ["https://kubernetes.default.svc.cluster.local"]
        var claims: JSONValue = [
            "aud": .array(audiences), "iss": "https://kubernetes.default.svc.cluster.local",
            "sub": .string("system:serviceaccount:\(ns):\(serviceAccount)"),
            "iat": .int(Int64(Date().timeIntervalSince1970)), "exp": .int(Int64(Date().timeIntervalSince1970) + expiration),
            "kubernetes.io": ["namespace": .string(ns),
                              "serviceaccount": ["name": .string(serviceAccount), "uid": .string(account.uid ?? "")]],
        ]
        if let bound = body[path: ["spec", "boundObjectRef"]], let name = bound["name"]?.stringValue {
            guard bound["kind"]?.stringValue == "Pod" || bound["kind"]?.stringValue == "Secret" else {
                throw APIError.badRequest("cannot bind token to object of kind \(bound["kind"]?.stringValue ?? "")")
            }
            let resource: ResourceType = bound["kind"]?.stringValue == "Pod" ? .pods : .secrets
            let object = try await store.get(resource, namespace: ns, name: name)
            if let uid = bound["uid"]?.stringValue, !uid.isEmpty, uid != object.uid {
                throw APIError.conflict(resource, name, "the UID in the bound object reference (\(uid)) does not match the UID in record. The object might have been deleted and then recreated")
            }
            claims[path: ["kubernetes.io", resource == .pods ? "pod" : "secret"]] =
                ["name": .string(name), "uid": .string(object.uid ?? "")]
        }
        let token = Self.signJWT(claims)
        authenticator.register(token: token, user: UserInfo(
            name: "system:serviceaccount:\(ns):\(serviceAccount)",
            groups: ["system:serviceaccounts", "system:serviceaccounts:\(ns)", "system:authenticated"]))
        var result = body
        result["kind"] = "TokenRequest"
        result["apiVersion"] = "authentication.k8s.io/v1"
        result[path: ["metadata", "name"]] = .string(serviceAccount)
        result[path: ["metadata", "namespace"]] = .string(ns)
        result[path: ["metadata", "creationTimestamp"]] = nil
        result[path: ["spec", "expirationSeconds"]] = .int(expiration)
        result[path: ["spec", "audiences"]] = .array(audiences)
        result["status"] = [
            "token": .string(token),
            "expirationTimestamp": .string(Strategy.timestamp(Date().addingTimeInterval(TimeInterval(expiration)))),
        ]
        return Self.json(result, status: .created)
    }

    private static let signingKey = SymmetricKey(size: .bits256)

    private static func signJWT(_ claims: JSONValue) -> String {
        func base64url(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let header: JSONValue = ["alg": "HS256", "typ": "JWT"]
        let signingInput = base64url(header.data()) + "." + base64url(claims.data())
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: signingKey)
        return signingInput + "." + base64url(Data(mac))
    }
}
