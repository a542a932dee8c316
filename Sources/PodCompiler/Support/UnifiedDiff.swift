/// A line-based unified diff (Myers' algorithm), for `systemk-render --diff` and the golden tests.
public enum UnifiedDiff {
    /// The diff of `old` and `new` with `context` lines around each change, or "" when equal.
    public static func diff(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = lines(old)
        let b = lines(new)
        if a == b { return "" }
        let ops = editScript(a, b)
        // Group into hunks.
        var out = "--- \(oldName)\n+++ \(newName)\n"
        var i = 0
        while i < ops.count {
            guard ops[i].kind != .equal else {
                i += 1
                continue
            }
            var start = i
            var back = 0
            while start > 0 && ops[start - 1].kind == .equal && back < context {
                start -= 1
                back += 1
            }
            var end = i
            var lastChange = i
            while end < ops.count {
                if ops[end].kind != .equal {
                    lastChange = end
                } else if end - lastChange > context * 2 {
                    break
                }
                end += 1
            }
            end = min(ops.count, lastChange + context + 1)
            let hunk = ops[start..<end]
            let oldStart = hunk.first?.oldIndex ?? 0
            let newStart = hunk.first?.newIndex ?? 0
            let oldCount = hunk.filter { $0.kind != .insert }.count
            let newCount = hunk.filter { $0.kind != .delete }.count
            out += "@@ -\(oldStart + (oldCount == 0 ? 0 : 1)),\(oldCount) +\(newStart + (newCount == 0 ? 0 : 1)),\(newCount) @@\n"
            for op in hunk {
                switch op.kind {
                case .equal: out += " " + a[op.oldIndex] + "\n"
                case .delete: out += "-" + a[op.oldIndex] + "\n"
                case .insert: out += "+" + b[op.newIndex] + "\n"
                }
            }
            i = end
        }
        return out
    }

    static func lines(_ s: String) -> [String] {
        var l = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }

    struct Op {
        enum Kind { case equal, delete, insert }
        var kind: Kind
        var oldIndex: Int
        var newIndex: Int
    }

    /// Myers' O((N+M)D) shortest edit script.
    static func editScript(_ a: [String], _ b: [String]) -> [Op] {
        let n = a.count
        let m = b.count
        let max = n + m
        var v = [Int](repeating: 0, count: 2 * max + 2)
        var trace: [[Int]] = []
        outer: for d in 0...max {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x: Int
                if k == -d || (k != d && v[k - 1 + max] < v[k + 1 + max]) {
                    x = v[k + 1 + max]
                } else {
                    x = v[k - 1 + max] + 1
                }
                var y = x - k
                while x < n && y < m && a[x] == b[y] {
                    x += 1
                    y += 1
                }
                v[k + max] = x
                if x >= n && y >= m { break outer }
            }
        }
        // Backtrack.
        var ops: [Op] = []
        var x = n
        var y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let v = trace[d]
            let k = x - y
            let prevK: Int
            if k == -d || (k != d && v[k - 1 + max] < v[k + 1 + max]) {
                prevK = k + 1
            } else {
                prevK = k - 1
            }
            let prevX = v[prevK + max]
            let prevY = prevX - prevK
            while x > prevX && y > prevY {
                x -= 1
                y -= 1
                ops.append(Op(kind: .equal, oldIndex: x, newIndex: y))
            }
            if d > 0 {
                if x == prevX {
                    ops.append(Op(kind: .insert, oldIndex: x, newIndex: prevY))
                } else {
                    ops.append(Op(kind: .delete, oldIndex: prevX, newIndex: y))
                }
            }
            x = prevX
            y = prevY
        }
        return ops.reversed()
    }
}
