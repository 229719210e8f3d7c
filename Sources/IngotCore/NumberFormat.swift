// NumberFormat: fixed-decimal text for numbers without Foundation (the runtime and the
// lean runner do not link it). Printers of bench results and reports share it.

/// `value` with exactly `digits` decimals, rounded half away from zero; non-finite values as Swift prints them.
public func formatFixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.description }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    var frac = String(Int(scaled.truncatingRemainder(dividingBy: scale)))
    while frac.count < digits { frac = "0" + frac }
    return (value < 0 && scaled != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + frac : "")
}
