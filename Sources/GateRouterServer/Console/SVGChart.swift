import Foundation

/// Small, labelled SVG charts drawn on the server: no script, no library, readable in a screenshot and by a screen
/// reader (each chart has a title and a description, each bar a tooltip).
enum SVGChart {
    struct Series {
        var name: String
        /// A CSS class from console.css that colours the series (`s1`, `s2`, `s3`).
        var style: String
        var values: [Double]
    }

    /// Stacked columns over `categories` (time buckets), with a y axis, gridlines and a legend.
    static func columns(title: String, categories: [String], series: [Series], wholeNumbers: Bool = false, format: (Double) -> String) -> String {
        let width = 640.0, height = 240.0, left = 72.0, right = 12.0, top = 36.0, bottom = 36.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let totals = categories.indices.map { index in series.reduce(0) { $0 + ($1.values.indices.contains(index) ? $1.values[index] : 0) } }
        // Gridlines on round numbers: a step of 1, 2, 2.5 or 5 times a power of ten, at most four of them.
        let step = max(wholeNumbers ? 1 : 0, niceCeiling((totals.max() ?? 0) / 4))
        let steps = max(1, Int(((totals.max() ?? 0) / step).rounded(.up)))
        let maximum = step * Double(steps)
        let slot = plotWidth / Double(max(1, categories.count))
        let barWidth = max(2, slot * 0.7)
        var svg = open(title: title, width: width, height: height, summary: summary(categories: categories, totals: totals, format: format))
        for index in 0...steps {
            let value = step * Double(index)
            let y = top + plotHeight - plotHeight * Double(index) / Double(steps)
            svg += #"<line class="grid" x1="\#(f(left))" x2="\#(f(width - right))" y1="\#(f(y))" y2="\#(f(y))"/>"#
            svg += #"<text class="axis" x="\#(f(left - 6))" y="\#(f(y + 4))" text-anchor="end">\#(escape(format(value)))</text>"#
        }
        let labelEvery = max(1, Int((Double(categories.count) / 12).rounded(.up)))
        for (index, category) in categories.enumerated() {
            let x = left + slot * Double(index) + (slot - barWidth) / 2
            var base = top + plotHeight
            for item in series {
                let value = item.values.indices.contains(index) ? item.values[index] : 0
                guard value > 0, maximum > 0 else { continue }
                let barHeight = plotHeight * value / maximum
                base -= barHeight
                svg += #"<rect class="\#(item.style)" x="\#(f(x))" y="\#(f(base))" width="\#(f(barWidth))" height="\#(f(barHeight))"><title>\#(escape("\(category): \(item.name) \(format(value))"))</title></rect>"#
            }
            if index % labelEvery == 0 {
                svg += #"<text class="axis" x="\#(f(x + barWidth / 2))" y="\#(f(height - bottom + 16))" text-anchor="middle">\#(escape(category))</text>"#
            }
        }
        svg += legend(series.map { ($0.name, $0.style) }, x: left, y: height - 6)
        return svg + "</svg>"
    }

    /// Horizontal bars, one per labelled item, with its value written at the end of the bar.
    static func bars(title: String, items: [(label: String, value: Double, text: String)], style: String = "s1") -> String {
        let rowHeight = 26.0, labelWidth = 230.0, width = 640.0, valueWidth = 160.0, top = 30.0
        let height = max(64, top + rowHeight * Double(items.count) + 8)
        let maximum = items.map(\.value).max() ?? 0
        var svg = open(title: title, width: width, height: height, summary: items.map { "\($0.label): \($0.text)" }.joined(separator: "; "))
        if items.isEmpty {
            svg += #"<text class="axis" x="8" y="\#(f(top + 18))">No data in this period.</text>"#
        }
        for (index, item) in items.enumerated() {
            let y = top + rowHeight * Double(index)
            let barWidth = maximum > 0 ? (width - labelWidth - valueWidth) * item.value / maximum : 0
            svg += #"<text class="label" x="\#(f(labelWidth - 8))" y="\#(f(y + 17))" text-anchor="end">\#(escape(truncate(item.label, 30)))</text>"#
            svg += #"<rect class="\#(style)" x="\#(f(labelWidth))" y="\#(f(y + 4))" width="\#(f(max(barWidth, item.value > 0 ? 2 : 0)))" height="\#(f(rowHeight - 8))"><title>\#(escape("\(item.label): \(item.text)"))</title></rect>"#
            svg += #"<text class="value" x="\#(f(labelWidth + barWidth + 6))" y="\#(f(y + 17))">\#(escape(item.text))</text>"#
        }
        return svg + "</svg>"
    }

    // MARK: Pieces

    private static func open(title: String, width: Double, height: Double, summary: String) -> String {
        let id = "c" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return #"<svg class="chart" viewBox="0 0 \#(f(width)) \#(f(height))" role="img" aria-labelledby="\#(id)t \#(id)d" xmlns="http://www.w3.org/2000/svg">"#
            + #"<title id="\#(id)t">\#(escape(title))</title><desc id="\#(id)d">\#(escape(summary))</desc>"#
            + #"<text class="chart-title" x="8" y="18" aria-hidden="true">\#(escape(title))</text>"#
    }

    private static func legend(_ entries: [(String, String)], x: Double, y: Double) -> String {
        guard entries.count > 1 else { return "" }
        var svg = "", offset = x
        for (name, style) in entries {
            svg += #"<rect class="\#(style)" x="\#(f(offset))" y="\#(f(y - 9))" width="10" height="10"/>"#
            svg += #"<text class="axis" x="\#(f(offset + 14))" y="\#(f(y))">\#(escape(name))</text>"#
            offset += 24 + Double(name.count) * 7
        }
        return svg
    }

    private static func summary(categories: [String], totals: [Double], format: (Double) -> String) -> String {
        let nonzero = zip(categories, totals).filter { $0.1 > 0 }
        guard !nonzero.isEmpty else { return "No data in this period." }
        return nonzero.map { "\($0.0): \(format($0.1))" }.joined(separator: "; ")
    }

    /// 1, 2, 2.5 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= value * 0.999_999 { return step * magnitude }
        return 10 * magnitude
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func truncate(_ text: String, _ length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
