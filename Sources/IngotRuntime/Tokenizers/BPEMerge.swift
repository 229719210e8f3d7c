// BPEMerge: the merge loop of byte-level BPE for one pre-tokenized piece, in O(n log n).
// Rule (the same as merging the lowest-ranked adjacent pair, every occurrence left to right,
// then rescanning): each round takes the lowest rank among the current adjacent pairs and
// merges all of its occurrences left to right, non-overlapping; pairs that a round creates
// take part only from the next round on. Symbols live in a doubly linked list over their
// first scalar's position; candidate pairs wait in a min-heap keyed (rank, position) and are
// checked against the list when taken (stale entries are dropped). It does not map bytes
// to scalars or symbols to ids (ByteLevelBPETokenizer does).

struct BPEMerge {
    /// One candidate pair: the left symbol's node and both symbols' lengths (in scalars) when
    /// it was queued. Lengths only grow, so equal lengths mean the pair is still there.
    struct Candidate {
        var rank: Int
        var left: Int
        var leftLength: Int
        var rightLength: Int

        func precedes(_ other: Candidate) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    /// Min-heap of candidates by (rank, left).
    struct CandidateHeap {
        var items: [Candidate] = []

        var top: Candidate? { items.first }

        mutating func push(_ c: Candidate) {
            items.append(c)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard items[i].precedes(items[parent]) else { break }
                items.swapAt(i, parent)
                i = parent
            }
        }

        mutating func pop() {
            let last = items.removeLast()
            guard !items.isEmpty else { return }
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count && items[l].precedes(items[smallest]) { smallest = l }
                if r < items.count && items[r].precedes(items[smallest]) { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
    }

    /// `symbols` (one scalar each, as mapped from the piece's bytes) after merging by `ranks`
    /// ("left right" → rank). `work` grows by one per rank lookup, heap push and heap pop
    /// (at most 9 per input symbol).
    static func merge(_ symbols: [String], ranks: [String: Int], work: inout Int) -> [String] {
        let n = symbols.count
        guard n > 1 else { return symbols }
        var text = symbols
        // length[i] == 0: node i was merged into its left neighbour.
        var length = [Int](repeating: 1, count: n)
        var next = Array(1...n)
        next[n - 1] = -1
        var previous = Array(-1..<(n - 1))
        var heap = CandidateHeap()
        heap.items.reserveCapacity(n)

        func enqueue(_ left: Int) {
            let right = next[left]
            guard right >= 0 else { return }
            work += 1
            guard let rank = ranks[text[left] + " " + text[right]] else { return }
            work += 1
            heap.push(Candidate(rank: rank, left: left, leftLength: length[left], rightLength: length[right]))
        }
        func isCurrent(_ c: Candidate) -> Bool {
            guard length[c.left] == c.leftLength else { return false }
            let right = next[c.left]
            return right >= 0 && length[right] == c.rightLength
        }

        for i in 0..<(n - 1) { enqueue(i) }
        var mergedThisRound: [Int] = []
        while let first = heap.top {
            guard isCurrent(first) else { heap.pop(); work += 1; continue }
            let rank = first.rank
            mergedThisRound.removeAll(keepingCapacity: true)
            while let c = heap.top, c.rank == rank {
                heap.pop()
                work += 1
                guard isCurrent(c) else { continue }
                let right = next[c.left]
                text[c.left] += text[right]
                length[c.left] += length[right]
                length[right] = 0
                text[right] = ""
                next[c.left] = next[right]
                if next[right] >= 0 { previous[next[right]] = c.left }
                mergedThisRound.append(c.left)
            }
            for node in mergedThisRound {
                if previous[node] >= 0 { enqueue(previous[node]) }
                enqueue(node)
            }
        }
        var out: [String] = []
        var i = 0
        while i >= 0 {
            out.append(text[i])
            i = next[i]
        }
        return out
    }
}
