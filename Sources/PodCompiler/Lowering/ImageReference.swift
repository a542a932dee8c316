/// What a container's `image` names: a Debian package, a `.deb` to download, or a binary on the host.
public enum ImageReference: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A package installed with the node's package manager, optionally pinned: `nginx`, `nginx=1.22.1-7`
    /// (apt's syntax) or `nginx:1.22.1-7` (an image tag).
    case package(name: String, version: String?)
    /// `https://host/path/NAME_VERSION_ARCH.deb`: downloaded and installed; the package is NAME.
    case deb(url: String, package: String)
    /// `/path/to/binary`: nothing to install; the path is the executable.
    case path(String)

    /// `{"path": {"path": "/usr/bin/env"}}` in JSON rather than Swift's default `_0`.
    private enum PathCodingKeys: String, CodingKey {
        case _0 = "path"
    }

    /// Parses an image field. The error text completes "image ...".
    public static func parse(_ image: String) -> Result<ImageReference, ImageError> {
        if image.isEmpty { return .failure(ImageError("is empty")) }
        if image.hasPrefix("/") {
            if image.contains("\0") || image.split(separator: "/").contains(where: { $0 == ".." }) {
                return .failure(ImageError("\(quoted(image)) is not a clean absolute path"))
            }
            return .success(.path(image))
        }
        if image.hasPrefix("https://") {
            let withoutQuery = image.split(separator: "?", maxSplits: 1).first.map(String.init) ?? image
            guard let last = withoutQuery.split(separator: "/").last, withoutQuery.split(separator: "/").count >= 3,
                last.hasSuffix(".deb")
            else {
                return .failure(ImageError("\(quoted(image)) must end in NAME_VERSION_ARCH.deb"))
            }
            let package = String(last.prefix(while: { $0 != "_" }))
            let name = package.hasSuffix(".deb") ? String(package.dropLast(4)) : package
            guard isPackageName(name) else {
                return .failure(ImageError("\(quoted(image)): \(quoted(name)) is not a Debian package name"))
            }
            return .success(.deb(url: image, package: name))
        }
        if image.hasPrefix("http://") {
            return .failure(ImageError("\(quoted(image)) must use https://: a package fetched over plain HTTP could be replaced in transit"))
        }
        var name = image
        var version: String? = nil
        if let sep = image.firstIndex(where: { $0 == "=" || $0 == ":" }) {
            name = String(image[..<sep])
            version = String(image[image.index(after: sep)...])
            // An image tag of `latest` (a habit from container images) means no pinned version.
            if image[sep] == ":" && version == "latest" { version = nil }
            if version?.isEmpty == true {
                return .failure(ImageError("\(quoted(image)) has an empty version"))
            }
            if let v = version, !v.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.~:-".contains($0)) }) {
                return .failure(ImageError("\(quoted(image)): \(quoted(v)) is not a package version"))
            }
        }
        guard isPackageName(name) else {
            return .failure(
                ImageError(
                    "\(quoted(image)) is neither a Debian package name (lowercase letters, digits, + - .), an https:// URL of a .deb, nor an absolute path"
                ))
        }
        return .success(.package(name: name, version: version))
    }

    /// Debian policy 5.6.1: at least two characters, lowercase letters, digits, `+`, `-`, `.`, starting
    /// with a letter or digit.
    public static func isPackageName(_ s: String) -> Bool {
        guard s.count >= 2, let first = s.first, first.isASCII, first.isLowercase || first.isNumber else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
    }

    /// The package to install, if any.
    public var packageName: String? {
        switch self {
        case let .package(name, _): return name
        case let .deb(_, package): return package
        case .path: return nil
        }
    }

    public var description: String {
        switch self {
        case let .package(name, version): return version.map { "\(name)=\($0)" } ?? name
        case let .deb(url, _): return url
        case let .path(p): return p
        }
    }
}

public struct ImageError: Error, Sendable, Equatable {
    public var message: String
    init(_ message: String) { self.message = message }
}

func quoted(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if ch.value < 0x20 || ch.value == 0x7f {
                let hex = String(ch.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(ch)
            }
        }
    }
    return out + "\""
}
