// SVGCharts: the inline charts of the HTML pages — latency strips (every raw sample of
// baseline and optimized per row), horizontal bars (sensitivity, sparsity), a line (training
// loss) and a trade-off scatter across reports. Plain SVG text; labels are escaped.

enum SVGCharts {
    /// One strip per latency row: baseline samples (grey) above optimized (green), shared ms axis per row.
    static func latencyStrips(_ rows: [LatencyRow]) -> String {
        guard !rows.isEmpty else { return "" }
        let width = 640.0, rowHeight = 46.0, left = 90.0
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(rowHeight * Double(rows.count) + 20))\" role=\"img\" aria-label=\"latency samples\">\n"
        for (i, row) in rows.enumerated() {
            let all = (row.baseline + row.optimized).map { $0 * 1000 }
            let hi = max(all.max() ?? 1, 1e-9) * 1.05
            let y = Double(i) * rowHeight + 10
            svg += "<text x=\"4\" y=\"\(Int(y + 18))\">\(esc(row.label))</text>\n"
            for (k, (samples, color)) in [(row.baseline, "#999"), (row.optimized, "#0a6")].enumerated() {
                let cy = y + 10 + Double(k) * 16
                for s in samples {
                    let x = left + (s * 1000 / hi) * (width - left - 60)
                    svg += "<circle cx=\"\(fmt(x, 1))\" cy=\"\(fmt(cy, 1))\" r=\"2.5\" fill=\"\(color)\" fill-opacity=\"0.6\"/>"
                }
                svg += "\n"
            }
            svg += "<text x=\"\(Int(width - 55))\" y=\"\(Int(y + 18))\">\(fmt(hi, 1)) ms</text>\n"
        }
        return svg + "</svg>\n<p>grey: float32 baseline, green: optimized; each dot is one timed run.</p>\n"
    }

    /// Horizontal bars, largest first as given.
    static func bars(_ items: [(String, Double)], unit: String) -> String {
        let barHeight = 16.0, left = 300.0, width = 760.0
        let hi = max(items.map(\.1).max() ?? 1, 1e-12)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(barHeight * Double(items.count) + 10))\">\n"
        for (i, (label, v)) in items.enumerated() {
            let y = Double(i) * barHeight + 4
            let w = max(0, v / hi) * (width - left - 90)
            svg += "<text x=\"\(Int(left - 6))\" y=\"\(fmt(y + 11, 1))\" text-anchor=\"end\">\(esc(label))</text>"
            svg += "<rect x=\"\(Int(left))\" y=\"\(fmt(y, 1))\" width=\"\(fmt(w, 1))\" height=\"\(Int(barHeight - 3))\" fill=\"#4a7\"/>"
            svg += "<text x=\"\(fmt(left + w + 4, 1))\" y=\"\(fmt(y + 11, 1))\">\(esc(number(v)))\(esc(unit))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// A polyline through (x, y) points with axis labels.
    static func line(_ points: [(Double, Double)], xLabel: String, yLabel: String) -> String {
        let (width, height, pad) = (640.0, 240.0, 40.0)
        let xs = points.map(\.0), ys = points.map(\.1)
        let (x0, x1) = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1e-12))
        let (y0, y1) = (ys.min() ?? 0, max(ys.max() ?? 1, (ys.min() ?? 0) + 1e-12))
        let path = points.map { p in
            "\(fmt(pad + (p.0 - x0) / (x1 - x0) * (width - 2 * pad), 1)),\(fmt(height - pad - (p.1 - y0) / (y1 - y0) * (height - 2 * pad), 1))"
        }.joined(separator: " ")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))">
            <polyline points="\(path)" fill="none" stroke="#36c" stroke-width="1.5"/>
            <text x="\(Int(width / 2))" y="\(Int(height - 8))">\(esc(xLabel))</text><text x="4" y="14">\(esc(yLabel)) \(esc(number(y1)))</text><text x="4" y="\(Int(height - pad))">\(esc(number(y0)))</text>
            </svg>

            """
    }

    /// Reports as points: x = size in bytes, y = accuracy metric, label = title; the latency ratio in the label.
    static func tradeOff(_ points: [(label: String, size: Double, accuracy: Double, latency: Double)], accuracyLabel: String) -> String {
        guard !points.isEmpty else { return "" }
        let (width, height, pad) = (640.0, 300.0, 50.0)
        let sx = points.map(\.size), sy = points.map(\.accuracy)
        let (x0, x1) = (0.0, (sx.max() ?? 1) * 1.1)
        let (y0, y1) = ((sy.min() ?? 0) - 0.01 * abs(sy.min() ?? 1), (sy.max() ?? 1) + 0.01 * abs(sy.max() ?? 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\">\n"
        svg += "<line x1=\"\(Int(pad))\" y1=\"\(Int(height - pad))\" x2=\"\(Int(width - 10))\" y2=\"\(Int(height - pad))\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(Int(pad))\" y1=\"10\" x2=\"\(Int(pad))\" y2=\"\(Int(height - pad))\" stroke=\"#888\"/>\n"
        for p in points {
            let x = pad + (p.size - x0) / max(x1 - x0, 1e-12) * (width - pad - 20)
            let y = height - pad - (p.accuracy - y0) / max(y1 - y0, 1e-12) * (height - pad - 20)
            let r = 4 + 8 * min(max(p.latency, 0), 2) / 2
            svg += "<circle cx=\"\(fmt(x, 1))\" cy=\"\(fmt(y, 1))\" r=\"\(fmt(r, 1))\" fill=\"#36c\" fill-opacity=\"0.5\"/>"
            svg += "<text x=\"\(fmt(x + r + 3, 1))\" y=\"\(fmt(y + 4, 1))\">\(esc(p.label)) (\(fmt(p.latency, 2))× p50)</text>\n"
        }
        svg += "<text x=\"\(Int(width / 2))\" y=\"\(Int(height - 12))\">artifact size (bytes)</text>"
        svg += "<text x=\"4\" y=\"14\">\(esc(accuracyLabel))</text>\n"
        return svg + "</svg>\n<p>x: artifact size, y: \(esc(accuracyLabel)), circle size: p50 latency ratio against float32.</p>\n"
    }
}
