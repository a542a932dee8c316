import Foundation
import Testing

/// How systemk is linked (Package.swift, `systemkLinkFlags`; BENCHMARKS.md, "Link order"): the link order
/// is a file lld reads as meant, and the executable the build made carries the layout Package.swift asks for.
@Suite struct LinkLayoutTests {
    static let order = KitPaths.root + "/Sources/systemk/systemk.order"
    static let privateCode = KitPaths.root + "/Sources/systemk/private-code.ld"
    static var canInspect: Bool { SystemkExecutable.path != nil && Tools.find("readelf") != nil }

    @Test func theLinkOrderIsAHeaderThenSortedDistinctSymbolNames() throws {
        let text = try String(contentsOfFile: Self.order, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let header = lines.prefix { $0.hasPrefix("#") }
        #expect(header.contains { $0.contains("Benchmarks/link-order/run.sh") }, "the header says how to make it again")
        let names = Array(lines.dropFirst(header.count))
        #expect(names.count > 1000, "a profile of a live run names thousands of functions")
        // lld reads a name per line and drops what follows a '#': a name must be whole, with no blank or '#'.
        let malformed = names.filter { $0.isEmpty || $0.contains { $0.isWhitespace || $0 == "#" } }
        #expect(malformed.isEmpty, "\(malformed.prefix(5))")
        // Sorted by bytes and distinct, as order.py writes it: a new profile's diff shows only what changed.
        let bytes = names.map { Array($0.utf8) }
        let unsorted = zip(bytes, bytes.dropFirst()).filter { !$0.0.lexicographicallyPrecedes($0.1) }
        #expect(unsorted.isEmpty, "\(unsorted.prefix(3).map { (String(decoding: $0.0, as: UTF8.self), String(decoding: $0.1, as: UTF8.self)) })")
    }

    @Test func thePrivateCodeScriptAddsToTheDefaultLayout() throws {
        let script = try String(contentsOfFile: Self.privateCode, encoding: .utf8)
        // Without INSERT, lld would take the script as the whole layout and drop its own.
        #expect(script.contains("INSERT BEFORE .text;"))
        #expect(script.contains("*(.text..L*)"))
    }

    @Test(.enabled(if: canInspect, "the systemk executable and readelf are needed (swift build --build-tests; binutils)"))
    func systemkHasPackedRelocationsAndNoExportedSymbols() throws {
        // (The order and private-code.ld act only on a build with a section per function, which a test
        // build is not: BENCHMARKS.md's live benchmark measures what they do.)
        let systemk = try #require(SystemkExecutable.path)
        let readelf = try #require(Tools.find("readelf"))
        let sections = try run(readelf, ["-S", "-W", systemk])
        #expect(sections.status == 0, "\(sections)")
        #expect(sections.stdout.contains(" .relr.dyn "), "relative relocations are packed (-z pack-relative-relocs)")
        let symbols = try run(readelf, ["--dyn-syms", "-W", systemk])
        #expect(symbols.status == 0, "\(symbols)")
        // A defined dynamic symbol of systemk's own modules would mean -export-dynamic won again.
        let exported = symbols.stdout.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count >= 8 && fields[6] != "UND"
                && ["$s14SystemkRuntime", "$s10KubeClient", "$s11PodCompiler", "$s7systemk"].contains { fields[7].hasPrefix($0) }
        }
        #expect(exported.isEmpty, "\(exported.count) exported, e.g. \(exported.prefix(3))")
    }
}
