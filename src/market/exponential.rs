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
//! methods for this curve; each returns what the constant-product method
//! of the same name returns.

use super::pool::Pool;

/// Quote paid out for selling `dx`.
pub(super) fn sell_base(p: &mut Pool, dx: f64) -> f64 {
    let r = (-p.impact * dx / p.x).exp();
    let out = p.y * (1.0 - r) / p.impact;
    p.y *= r;
    out
}

/// Base paid out for `dy` quote.
pub(super) fn sell_quote(p: &mut Pool, dy: f64) -> f64 {
    let out = p.x / p.impact * (1.0 + p.impact * dy / p.y).ln();
    p.y += p.impact * dy;
    out
}

/// Quote paid in for buying `dx`.
pub(super) fn buy_base(p: &mut Pool, dx: f64) -> f64 {
    let g = (p.impact * dx / p.x).exp();
    let dy = p.y * (g - 1.0) / p.impact;
    p.y *= g;
    dy
}

/// (base bought, quote paid) to raise the spot to `target` (above it).
pub(super) fn buy_to(p: &mut Pool, target: f64) -> (f64, f64) {
    let dx = p.x / p.impact * (target * p.x / p.y).ln();
    let dy = (target * p.x - p.y) / p.impact;
    p.y = target * p.x;
    (dx, dy)
}

/// (base sold, quote received) to lower the spot to `target` (below it).
pub(super) fn sell_to(p: &mut Pool, target: f64) -> (f64, f64) {
    let dx = p.x / p.impact * (p.y / (target * p.x)).ln();
    let out = (p.y - target * p.x) / p.impact;
    p.y = target * p.x;
    (dx, out)
}

/// Units whose sale leaves the marginal price at `q`: `(D/α)·ln(p/q)`.
pub(super) fn base_sold_to_marginal(p: &Pool, q: f64) -> f64 {
    let e = p.x / p.impact * (p.y / (q * p.x)).ln();
    if e > 0.0 { e } else { 0.0 }
}

/// Units whose sale pays `out`: `−(D/α)·ln(1 − α·out/y)`, infinite when
/// even selling everything pays less (the sale pays at most y/α).
pub(super) fn base_to_sell_for(p: &Pool, out: f64) -> f64 {
    let r = 1.0 - p.impact * out / p.y;
    if r <= 0.0 {
        return f64::INFINITY;
    }
    -p.x / p.impact * r.ln()
}

/// Arbitrage towards `target` trading at most `cap` quote: moving the
/// price from y/D to P takes `|P·D − y|/α` quote (the cost of buying up,
/// or the proceeds of selling down, along the curve). Returns the quote
/// traded.
pub(super) fn arbitrage_capped(p: &mut Pool, target: f64, cap: f64) -> f64 {
    let dy = (target * p.x - p.y) / p.impact;
    if dy.abs() <= cap {
        p.y = target * p.x;
        dy.abs()
    } else {
        p.y += p.impact * cap.copysign(dy);
        cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// α = 1.0536 with the depth sold 10% lowers the price by 10%
    /// (e^{−0.10536} = 0.9), and the proceeds of a sale are the integral
    /// of the price along it (checked by a fine Riemann sum).
    #[test]
    fn the_curve_against_its_formula() {
        let alpha = -(0.9f64).ln() / 0.1;
        assert!((alpha - 1.0536).abs() < 1e-4);
        let mut p = Pool::exponential(1000.0, 2.0, alpha);
        let out = p.sell_base(100.0);
        assert!((p.spot() - 1.8).abs() < 1e-12, "{}", p.spot());
        let n = 100_000;
        let h = 100.0 / n as f64;
        let riemann: f64 = (0..n)
            .map(|i| 2.0 * (-alpha * (i as f64 + 0.5) * h / 1000.0).exp() * h)
            .sum();
        assert!((out - riemann).abs() < 1e-6, "{out} vs {riemann}");
        // Buying the same units back costs what the sale paid and restores
        // the price (no fee).
        let cost = p.buy_base(100.0);
        assert!((cost - out).abs() < 1e-9 && (p.spot() - 2.0).abs() < 1e-12);
        // Paying that quote buys the same units.
        let mut q = Pool::exponential(1000.0, 1.8, alpha);
        assert!((q.sell_quote(out) - 100.0).abs() < 1e-9);
        // To a target and back.
        let mut r = Pool::exponential(1000.0, 2.0, alpha);
        let (dx, got) = r.sell_to(1.8);
        assert!((dx - 100.0).abs() < 1e-9 && (got - out).abs() < 1e-9);
        let (bx, paid) = r.buy_to(2.0);
        assert!((bx - 100.0).abs() < 1e-9 && (paid - out).abs() < 1e-9);
        let s = Pool::exponential(1000.0, 2.0, alpha);
        assert!((s.base_sold_to_marginal(1.8) - 100.0).abs() < 1e-9);
        assert!((s.base_to_sell_for(out) - 100.0).abs() < 1e-9);
        assert_eq!(s.base_to_sell_for(2.0 * 1000.0 / alpha), f64::INFINITY);
        // Capped arbitrage moves the price by what the cap buys.
        let mut c = Pool::exponential(1000.0, 1.8, alpha);
        assert!((c.arbitrage_capped(2.0, out / 2.0) - out / 2.0).abs() < 1e-12);
        let mut d = Pool::exponential(1000.0, 1.8, alpha);
        d.sell_quote(out / 2.0);
        assert!((c.spot() - d.spot()).abs() < 1e-12);
        assert!((c.arbitrage_capped(2.0, 1e9) - out / 2.0).abs() < 1e-9);
        assert!((c.spot() - 2.0).abs() < 1e-12);
    }
}
