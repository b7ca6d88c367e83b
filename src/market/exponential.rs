//! Venues with exponential impact (docs/model.md §3, "Exponential
//! venues"): the price after a net `s` base units sold is
//! `p = p₀·exp(−α·s/D)`, D the venue's depth (`base_reserve`). A `Pool`
//! with `impact = α > 0` keeps `x = D` fixed and `y = p·D`, so its spot
//! `y/x` is p and every trade moves only y:
//!
//! - selling dx pays `∫₀^dx p·e^{−αu/D} du = (y/α)(1 − e^{−α·dx/D})` and
//!   multiplies p by `e^{−α·dx/D}`;
//! - buying dx costs `(y/α)(e^{α·dx/D} − 1)` and multiplies p by
//!   `e^{α·dx/D}`; paying dy quote buys `(D/α)·ln(1 + α·dy/y)`, so y grows
//!   by α·dy.
//!
//! No fee: the impact is the cost. The functions below are `Pool`'s
//! methods for this curve, on its depth `x`, its `y` and its α; each
//! returns what the constant-product method of the same name returns.

/// Quote paid out for selling `dx`.
pub(super) fn sell_base(x: f64, y: &mut f64, a: f64, dx: f64) -> f64 {
    let r = (-a * dx / x).exp();
    let out = *y * (1.0 - r) / a;
    *y *= r;
    out
}

/// Base paid out for `dy` quote.
pub(super) fn sell_quote(x: f64, y: &mut f64, a: f64, dy: f64) -> f64 {
    let out = x / a * (1.0 + a * dy / *y).ln();
    *y += a * dy;
    out
}

/// Quote paid in for buying `dx`.
pub(super) fn buy_base(x: f64, y: &mut f64, a: f64, dx: f64) -> f64 {
    let g = (a * dx / x).exp();
    let dy = *y * (g - 1.0) / a;
    *y *= g;
    dy
}

/// (base bought, quote paid) to raise the spot to `target` (above it).
pub(super) fn buy_to(x: f64, y: &mut f64, a: f64, target: f64) -> (f64, f64) {
    let dx = x / a * (target * x / *y).ln();
    let dy = (target * x - *y) / a;
    *y = target * x;
    (dx, dy)
}

/// (base sold, quote received) to lower the spot to `target` (below it).
pub(super) fn sell_to(x: f64, y: &mut f64, a: f64, target: f64) -> (f64, f64) {
    let dx = x / a * (*y / (target * x)).ln();
    let out = (*y - target * x) / a;
    *y = target * x;
    (dx, out)
}

/// Units whose sale leaves the marginal price at `q`: `(D/α)·ln(p/q)`.
pub(super) fn base_sold_to_marginal(x: f64, y: f64, a: f64, q: f64) -> f64 {
    let e = x / a * (y / (q * x)).ln();
    if e > 0.0 { e } else { 0.0 }
}

/// Units whose sale pays `out`: `−(D/α)·ln(1 − α·out/y)`, infinite when
/// even selling everything pays less (the sale pays at most y/α).
pub(super) fn base_to_sell_for(x: f64, y: f64, a: f64, out: f64) -> f64 {
    let r = 1.0 - a * out / y;
    if r <= 0.0 {
        return f64::INFINITY;
    }
    -x / a * r.ln()
}

/// Arbitrage towards `target` trading at most `cap` quote: moving the
/// price from y/D to P takes `|P·D − y|/α` quote (the cost of buying up,
/// or the proceeds of selling down, along the curve). Returns the quote
/// traded.
pub(super) fn arbitrage_capped(x: f64, y: &mut f64, a: f64, target: f64, cap: f64) -> f64 {
    let dy = (target * x - *y) / a;
    if dy.abs() <= cap {
        *y = target * x;
        dy.abs()
    } else {
        *y += a * cap.copysign(dy);
        cap
    }
}
