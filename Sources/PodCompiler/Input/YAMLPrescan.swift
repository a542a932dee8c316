// libyaml, which Yams builds and wraps: its event parser is the only way to look at a document's
// structure before Yams composes (and hashes) its nodes.
import CYaml

/// A pass over a YAML text's parse events, made before Yams composes any node, that refuses the two
/// shapes that would make composing slow: aliases that expand past the node limit (counted without
/// expanding anything, so an alias bomb is refused at once), and map keys that are not scalars
/// (Yams hashes every key of a map, and hashing a key that is an alias of a large list walks all of
/// it: minutes for a 500-byte input). Syntax errors are left to Yams, which reports them.
///
/// Nodes are counted as `ManifestReader` counts them while converting: every node except map keys,
/// over all documents of the text.
enum YAMLPrescan {
    struct Refusal: Error, Equatable {
        var message: String
        var position: SourcePosition
    }

    private struct Frame {
        var isMapping: Bool
        var children = 0
        var size = 1
        var anchor: String?
    }

    private struct Anchored {
        var size: Int
        var isScalar: Bool
    }

    static func check(_ text: String, maxNodes: Int) -> Refusal? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeMutableBufferPointer { buffer -> Refusal? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var stack: [Frame] = []
            var anchors: [String: Anchored] = [:]
            var total = 0
            func add(_ a: Int, _ b: Int) -> Int {
                let (sum, overflow) = a.addingReportingOverflow(b)
                return overflow ? Int.max : sum
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                let position = SourcePosition(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
                let atKey = stack.last.map { $0.isMapping && $0.children % 2 == 0 } ?? false
                var completed: (size: Int, isScalar: Bool, anchor: String?)? = nil
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    completed = (1, true, event.data.scalar.anchor.map { String(cString: $0) })
                case YAML_ALIAS_EVENT:
                    guard let name = event.data.alias.anchor.map({ String(cString: $0) }), let target = anchors[name] else {
                        return nil  // an undefined alias: Yams reports it
                    }
                    if atKey && !target.isScalar {
                        return Refusal(message: "map keys must be strings, not an alias of a list or a map", position: position)
                    }
                    completed = (target.size, target.isScalar, nil)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    let isMapping = event.type == YAML_MAPPING_START_EVENT
                    if atKey {
                        return Refusal(message: "map keys must be strings, not \(isMapping ? "a map" : "a list")", position: position)
                    }
                    let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                    stack.append(Frame(isMapping: isMapping, anchor: anchor.map { String(cString: $0) }))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let frame = stack.popLast() else { return nil }
                    completed = (frame.size, false, frame.anchor)
                default:
                    break
                }
                guard let node = completed else { continue }
                if let anchor = node.anchor {
                    anchors[anchor] = Anchored(size: node.size, isScalar: node.isScalar)
                }
                if stack.isEmpty {
                    total = add(total, node.size)
                    if total > maxNodes { return Refusal(message: tooManyNodes(maxNodes), position: position) }
                } else {
                    let i = stack.count - 1
                    let isKey = stack[i].isMapping && stack[i].children % 2 == 0
                    stack[i].children += 1
                    if !isKey {
                        stack[i].size = add(stack[i].size, node.size)
                        // Every open container's size includes this node once it closes: check now.
                        if add(total, stack[i].size) > maxNodes {
                            return Refusal(message: tooManyNodes(maxNodes), position: position)
                        }
                    }
                }
            }
        }
    }

    static func tooManyNodes(_ maxNodes: Int) -> String {
        "document expands to more than \(maxNodes) nodes (an alias bomb or a huge document)"
    }
}
