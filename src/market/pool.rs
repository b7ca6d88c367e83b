//! Constant-product pools (docs/model.md §3), Uniswap v2 style: the fee stays in
//! the pool, so k = x·y grows with every fee-paying trade. A pool with
//! `impact > 0` is an exponential venue instead (`exponential.rs`).

use super::exponential as exp;

/// Reserves of one base/quote pool. `x` is the base reserve, `y` the quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pool {
    /// Base reserve (units of the base asset).
    pub x: f64,
    /// Quote reserve (units of the quote asset).
    pub y: f64,
    /// Swap fee φ in [0, 1).
    pub fee: f64,
    /// α of an exponential venue (x is then its depth, fixed); 0 for a
    /// constant-product pool.
    pub impact: f64,
}

impl Pool {
    /// A pool holding `base_reserve` at spot price `price` (quote per base).
    pub fn new(base_reserve: f64, price: f64, fee: f64) -> Self {
        Pool {
            x: base_reserve,
            y: base_reserve * price,
            fee,
            impact: 0.0,
        }
    }

    /// An exponential venue of depth `depth` at price `price` with impact
    /// `alpha`: selling s units lowers the price by `exp(−α·s/depth)`.
    pub fn exponential(depth: f64, price: f64, alpha: f64) -> Self {
        Pool {
            x: depth,
            y: depth * price,
            fee: 0.0,
            impact: alpha,
        }
    }

    /// Spot price `y / x`, in quote units per base unit.
    pub fn spot(&self) -> f64 {
        self.y / self.x
    }

    /// Sell `dx` base into the pool; returns the quote paid out:
    /// `out = y·dx(1−φ) / (x + dx(1−φ))`, then `x += dx`, `y −= out`.
    pub fn sell_base(&mut self, dx: f64) -> f64 {
        if self.impact > 0.0 {
            return exp::sell_base(self.x, &mut self.y, self.impact, dx);
        }
        let effective = dx * (1.0 - self.fee);
        let out = self.y * effective / (self.x + effective);
        self.x += dx;
        self.y -= out;
        out
    }

    /// Sell `dy` quote into the pool (buy base); returns the base paid out.
    pub fn sell_quote(&mut self, dy: f64) -> f64 {
        if self.impact > 0.0 {
            return exp::sell_quote(self.x, &mut self.y, self.impact, dy);
        }
        let effective = dy * (1.0 - self.fee);
        let out = self.x * effective / (self.y + effective);
        self.y += dy;
        self.x -= out;
        out
    }

    /// Buy `dx` base out of the pool (dx < x); returns the quote paid in:
    /// the `dy` for which `sell_quote(dy)` pays exactly dx,
    /// `dy = y·dx / ((x − dx)(1 − φ))`.
    pub fn buy_base(&mut self, dx: f64) -> f64 {
        if self.impact > 0.0 {
            return exp::buy_base(self.x, &mut self.y, self.impact, dx);
        }
        let dy = self.y * dx / ((self.x - dx) * (1.0 - self.fee));
        self.y += dy;
        self.x -= dx;
        dy
    }

    /// An agent's own trade of `units` of base: buys when positive, sells
    /// when negative, at most half the base reserve either way (hedgers and
    /// the perps' vaults, docs/model.md §14–15). Returns the signed units
    /// traded and the quote received (negative when paid).
    pub fn trade_base(&mut self, units: f64) -> (f64, f64) {
        let cap = 0.5 * self.x;
        if units > 0.0 {
            let u = units.min(cap);
            (u, -self.buy_base(u))
        } else if units < 0.0 {
            let u = (-units).min(cap);
            (-u, self.sell_base(u))
        } else {
            (0.0, 0.0)
        }
    }

    /// Buy base until the spot reaches `target` (quote per base), paying
    /// the fee; nothing when the spot is already there or above. Returns
    /// (base bought, quote paid). After buying dx the reserves are
    /// `u = x − dx` and `y + y·dx / (u(1 − φ))`, whose ratio is the target
    /// when `P*(1−φ)·u² + φ·y·u − y·x = 0`: u is that quadratic's positive
    /// root.
    pub fn buy_to(&mut self, target: f64) -> (f64, f64) {
        if target.is_nan() || target <= self.spot() {
            return (0.0, 0.0);
        }
        if self.impact > 0.0 {
            return exp::buy_to(self.x, &mut self.y, self.impact, target);
        }
        let (x, y, phi) = (self.x, self.y, self.fee);
        let a = target * (1.0 - phi);
        let u = (-phi * y + (phi * phi * y * y + 4.0 * a * y * x).sqrt()) / (2.0 * a);
        let dx = x - u;
        (dx, self.buy_base(dx))
    }

    /// `buy_to(target)` if it costs at most `budget` quote; otherwise
    /// spend the whole budget (`sell_quote`) and stop short. Returns (base
    /// bought, quote paid, whether the spot reached the target).
    pub fn buy_to_within(&mut self, target: f64, budget: f64) -> (f64, f64, bool) {
        let mut trial = *self;
        let (dx, dy) = trial.buy_to(target);
        if dy <= budget {
            *self = trial;
            (dx, dy, true)
        } else {
            (self.sell_quote(budget), budget, false)
        }
    }

    /// Sell base until the spot falls to `target` (quote per base), the fee
    /// paid; nothing when the spot is already there or below. Returns (base
    /// sold, quote received). Selling dx, with e = dx(1 − φ), leaves the
    /// reserves x + dx and y·x/(x + e), whose ratio is the target when
    /// `(1−φ)·dx² + (2−φ)·x·dx + x² − y·x/P* = 0`: dx is that quadratic's
    /// positive root, computed as `2c' / (b + sqrt(b² + 4ac'))` with
    /// c' = y·x/P* − x² > 0 (no cancellation).
    pub fn sell_to(&mut self, target: f64) -> (f64, f64) {
        if target.is_nan() || target <= 0.0 || target >= self.spot() {
            return (0.0, 0.0);
        }
        if self.impact > 0.0 {
            return exp::sell_to(self.x, &mut self.y, self.impact, target);
        }
        let (x, y, phi) = (self.x, self.y, self.fee);
        let a = 1.0 - phi;
        let b = (2.0 - phi) * x;
        let c = y * x / target - x * x;
        let dx = 2.0 * c / (b + (b * b + 4.0 * a * c).sqrt());
        (dx, self.sell_base(dx))
    }

    /// `sell_to(target)` if it takes at most `units` base; otherwise sell
    /// all `units` and stop short. Returns (base sold, quote received,
    /// whether the spot reached the target).
    pub fn sell_to_within(&mut self, target: f64, units: f64) -> (f64, f64, bool) {
        let mut trial = *self;
        let (dx, dy) = trial.sell_to(target);
        if dx <= units {
            *self = trial;
            (dx, dy, true)
        } else {
            (units, self.sell_base(units), false)
        }
    }

    /// Base units to sell so that the last one sold fetches `q` quote
    /// (net of the fee): selling dx, with e = dx(1 − φ), pays
    /// `y·e/(x + e)`, whose derivative in dx is `(1 − φ)·x·y/(x + e)²`; it
    /// equals q at `e = sqrt((1 − φ)·x·y/q) − x`. 0 when even the first unit
    /// fetches less than q.
    pub fn base_sold_to_marginal(&self, q: f64) -> f64 {
        if self.impact > 0.0 {
            return exp::base_sold_to_marginal(self.x, self.y, self.impact, q);
        }
        let keep = 1.0 - self.fee;
        let e = (keep * self.x * self.y / q).sqrt() - self.x;
        if e > 0.0 { e / keep } else { 0.0 }
    }

    /// Base units whose sale pays `out` quote: `e = out·x/(y − out)`,
    /// `dx = e/(1 − φ)`; infinite when the pool holds no more than `out`.
    pub fn base_to_sell_for(&self, out: f64) -> f64 {
        if self.impact > 0.0 {
            return exp::base_to_sell_for(self.x, self.y, self.impact, out);
        }
        if out >= self.y {
            return f64::INFINITY;
        }
        out * self.x / (self.y - out) / (1.0 - self.fee)
    }

    /// Withdraw `fraction` of both reserves (burning that share of the LP
    /// tokens); returns (base, quote) paid out. The spot price is unchanged.
    pub fn remove_liquidity(&mut self, fraction: f64) -> (f64, f64) {
        let f = fraction.clamp(0.0, 1.0);
        let (dx, dy) = (self.x * f, self.y * f);
        self.x -= dx;
        self.y -= dy;
        (dx, dy)
    }

    /// Value of the whole pool at fundamental prices as if arbitraged to
    /// them, in USD: `2·sqrt(x·y·F_base·F_quote)` ("fair LP pricing":
    /// the reserves a no-fee arbitrage to `F_base/F_quote` would leave, so
    /// the value cannot be inflated by trading the pool off its price).
    pub fn fair_value(&self, f_base: f64, f_quote: f64) -> f64 {
        2.0 * (self.x * self.y * f_base * f_quote).sqrt()
    }

    /// Arbitrage along the curve to the target price `p* = F_base / F_quote`:
    /// with k = x·y, `x = sqrt(k / p*)`, `y = sqrt(k · p*)` (docs/model.md §1.2).
    pub fn arbitrage_to(&mut self, target: f64) {
        if self.impact > 0.0 {
            self.y = target * self.x;
            return;
        }
        let k = self.x * self.y;
        self.x = (k / target).sqrt();
        self.y = (k * target).sqrt();
    }

    /// Arbitrage towards `target` that moves at most `cap` quote units
    /// through the pool (docs/model.md §3): along the curve to the target
    /// when that takes at most `cap`, else `y ± cap` and `x = k / y` (k
    /// kept, the price short of the target). Returns the quote traded.
    pub fn arbitrage_capped(&mut self, target: f64, cap: f64) -> f64 {
        if self.impact > 0.0 {
            return exp::arbitrage_capped(self.x, &mut self.y, self.impact, target, cap);
        }
        let k = self.x * self.y;
        let y_target = (k * target).sqrt();
        let dy = y_target - self.y;
        if dy.abs() <= cap {
            self.x = (k / target).sqrt();
            self.y = y_target;
            dy.abs()
        } else {
            self.y += cap.copysign(dy);
            self.x = k / self.y;
            cap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One sale of `base_sold_to_marginal(q)` units is the one whose last
    /// unit fetches q: a sale of h more units in the same trade pays q·h
    /// more (checked by two sales, not by the formula).
    #[test]
    fn the_sale_to_a_marginal_price_and_the_sale_for_an_amount() {
        let pool = Pool::new(1000.0, 100.0, 0.003);
        let dx = pool.base_sold_to_marginal(90.0);
        assert!(dx > 0.0);
        let h = 1e-4;
        let (mut a, mut b) = (pool, pool);
        let next = (b.sell_base(dx + h) - a.sell_base(dx)) / h;
        assert!((next - 90.0).abs() < 1e-4, "next unit fetches {next}");
        // Above the spot net of the fee nothing is sold.
        assert_eq!(pool.base_sold_to_marginal(99.8), 0.0);
        // Selling base_to_sell_for(out) pays exactly out.
        let units = pool.base_to_sell_for(25_000.0);
        let mut p = pool;
        assert!((p.sell_base(units) - 25_000.0).abs() < 1e-6);
        assert_eq!(pool.base_to_sell_for(100_000.0), f64::INFINITY);
    }

    /// Selling to a target leaves the spot at it, fee or not, and the
    /// capped form stops short with all its units sold.
    #[test]
    fn the_sale_down_to_a_price() {
        for fee in [0.0, 0.003, 0.3] {
            let mut p = Pool::new(1000.0, 100.0, fee);
            let before = p;
            let (dx, out) = p.sell_to(64.0);
            assert!(
                (p.spot() - 64.0).abs() < 1e-9,
                "fee {fee}: spot {}",
                p.spot()
            );
            // The same sale made plainly pays the same.
            let mut q = before;
            assert!((q.sell_base(dx) - out).abs() < 1e-9);
            // Without a fee, x·y is kept: x' = sqrt(k/64) = 1250.
            if fee == 0.0 {
                assert!((dx - 250.0).abs() < 1e-9, "{dx}");
            }
            let mut r = before;
            assert_eq!(r.sell_to(100.0), (0.0, 0.0));
            assert_eq!(r.sell_to(150.0), (0.0, 0.0));
            // No price at or below 0 (nor NaN) is a target.
            for bad in [0.0, -1.0, f64::NAN] {
                assert_eq!(r.sell_to(bad), (0.0, 0.0), "{bad}");
            }
            assert_eq!(r, before);
            let (sold, _, reached) = r.sell_to_within(64.0, dx / 2.0);
            assert!(!reached && sold == dx / 2.0 && r.spot() > 64.0);
            let mut s = before;
            let (sold, got, reached) = s.sell_to_within(64.0, dx * 1.01);
            assert!(reached && sold == dx && got == out);
        }
    }

    /// An agent's trade is capped at half the base reserve both ways, and
    /// below the cap it is the plain sale or purchase.
    #[test]
    fn an_agents_trade_is_capped_at_half_the_base_reserve_either_way() {
        let mut a = Pool::new(100.0, 10.0, 0.0);
        assert_eq!(a.trade_base(-500.0).0, -50.0);
        assert_eq!(a.x, 150.0);
        let mut b = Pool::new(100.0, 10.0, 0.0);
        let (units, quote) = b.trade_base(500.0);
        assert_eq!((units, b.x), (50.0, 50.0));
        // y·dx/(x − dx) = 1,000·50/50 paid in.
        assert!((quote + 1000.0).abs() < 1e-9);
        let mut c = Pool::new(100.0, 10.0, 0.003);
        let mut d = c;
        let (units, quote) = c.trade_base(-20.0);
        assert_eq!((units, quote), (-20.0, d.sell_base(20.0)));
        assert_eq!(c.trade_base(0.0), (0.0, 0.0));
    }

    #[test]
    fn sale_follows_the_constant_product_formula() {
        // 100 ETH against 300,000 USDC, 0.3% fee; sell 10 ETH.
        let mut pool = Pool::new(100.0, 3000.0, 0.003);
        let out = pool.sell_base(10.0);
        let dx = 10.0 * 0.997;
        let expected = 300_000.0 * dx / (100.0 + dx);
        assert!((out - expected).abs() < 1e-9);
        assert_eq!(pool.x, 110.0);
        assert!((pool.y - (300_000.0 - expected)).abs() < 1e-9);
        // The fee stays in the pool: k grows.
        assert!(pool.x * pool.y > 100.0 * 300_000.0);
    }

    #[test]
    fn without_fee_k_is_conserved_and_price_impact_is_quadratic() {
        let mut pool = Pool::new(1000.0, 2.0, 0.0);
        let k = pool.x * pool.y;
        pool.sell_base(250.0);
        assert!((pool.x * pool.y - k).abs() / k < 1e-12);
        // Spot after selling dx with no fee: P0·x0²/(x0+dx)².
        let expected = 2.0 * 1000.0_f64.powi(2) / 1250.0_f64.powi(2);
        assert!((pool.spot() - expected).abs() < 1e-12);
    }

    #[test]
    fn buying_base_inverts_selling_quote() {
        let mut a = Pool::new(500.0, 4.0, 0.003);
        let mut b = a;
        let dy = a.buy_base(37.0);
        let out = b.sell_quote(dy);
        assert!((out - 37.0).abs() < 1e-9);
        assert!((a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9);
    }

    #[test]
    fn buying_is_the_mirror_of_selling() {
        let mut pool = Pool::new(500.0, 4.0, 0.003);
        let mut mirror = Pool {
            x: pool.y,
            y: pool.x,
            fee: pool.fee,
            impact: 0.0,
        };
        let a = pool.sell_quote(123.0);
        let b = mirror.sell_base(123.0);
        assert!((a - b).abs() < 1e-12);
    }

    #[test]
    fn removing_liquidity_keeps_the_price_and_fair_value_ignores_manipulation() {
        let mut pool = Pool::new(100.0, 3000.0, 0.0);
        // At the fundamental ratio the fair value is the reserves' value.
        let fair = pool.fair_value(3000.0, 1.0);
        assert!((fair - (100.0 * 3000.0 + 300_000.0)).abs() < 1e-6);
        // A sale moves the spot, not k: the fair value stays put, while the
        // reserves valued at the fundamental price rise (the seller lost).
        pool.sell_base(30.0);
        assert!((pool.fair_value(3000.0, 1.0) - fair).abs() < 1e-6);
        assert!(pool.x * 3000.0 + pool.y > fair);
        let spot = pool.spot();
        let (dx, dy) = pool.remove_liquidity(0.25);
        assert!((dx - 130.0 * 0.25).abs() < 1e-12);
        assert!((dy / dx - spot).abs() < 1e-9);
        assert!((pool.spot() - spot).abs() < 1e-9);
        assert!((pool.fair_value(3000.0, 1.0) - 0.75 * fair).abs() < 1e-6);
    }

    /// A capped arbitrage stops `cap` of quote short, on the curve; with
    /// room to spare it is the full arbitrage, bit for bit.
    #[test]
    fn a_capped_arbitrage_moves_at_most_its_capacity_along_the_curve() {
        // 100 base at 10 (k = 100,000); to 12.1: y = sqrt(k·12.1) = 1,100,
        // a purchase of 100 quote.
        let mut full = Pool::new(100.0, 10.0, 0.003);
        let mut capped = full;
        let mut wide = full;
        full.arbitrage_to(12.1);
        assert!((full.y - 1100.0).abs() < 1e-9);
        assert_eq!(capped.arbitrage_capped(12.1, 40.0), 40.0);
        assert_eq!(capped.y, 1040.0);
        assert!((capped.x - 100_000.0 / 1040.0).abs() < 1e-12);
        assert!(capped.spot() < 12.1 && capped.spot() > 10.0);
        let traded = wide.arbitrage_capped(12.1, 100.0 + 1e-9);
        assert!((traded - 100.0).abs() < 1e-9);
        assert_eq!((wide.x, wide.y), (full.x, full.y));
        // Downwards: from 10 to 8.1 sells base for 100 quote
        // (y = sqrt(100,000·8.1) = 900).
        let mut down = Pool::new(100.0, 10.0, 0.0);
        assert_eq!(down.arbitrage_capped(8.1, 30.0), 30.0);
        assert_eq!(down.y, 970.0);
        let mut inf = Pool::new(100.0, 10.0, 0.0);
        let mut reference = inf;
        inf.arbitrage_capped(8.1, f64::INFINITY);
        reference.arbitrage_to(8.1);
        assert_eq!(inf, reference);
    }

    /// Buying to a target price lands on it, with and without a fee, and
    /// costs what `buy_base` of the same amount costs; the fee-free cost
    /// is the curve's `sqrt(k·P*) − y`.
    #[test]
    fn buying_to_a_price_lands_on_it() {
        for fee in [0.0, 0.003, 0.3] {
            let mut pool = Pool::new(1000.0, 2.0, fee);
            let mut twin = pool;
            let (dx, dy) = pool.buy_to(5.0);
            assert!(
                (pool.spot() - 5.0).abs() < 1e-9,
                "fee {fee}: {}",
                pool.spot()
            );
            assert!((twin.buy_base(dx) - dy).abs() < 1e-9);
            if fee == 0.0 {
                let k = 1000.0 * 2000.0f64;
                assert!((dy - ((k * 5.0).sqrt() - 2000.0)).abs() < 1e-9);
            }
            assert_eq!(pool.buy_to(4.0), (0.0, 0.0));
        }
    }

    /// Within budget a purchase to a price is `buy_to`; past it, the
    /// budget is spent, to the unit, and the spot stops short.
    #[test]
    fn buying_to_a_price_within_a_budget_spends_at_most_the_budget() {
        let mut full = Pool::new(1000.0, 2.0, 0.003);
        let mut reference = full;
        let (dx, dy) = reference.buy_to(5.0);
        assert_eq!(full.buy_to_within(5.0, dy), (dx, dy, true));
        assert_eq!(full, reference);
        let mut short = Pool::new(1000.0, 2.0, 0.003);
        let mut twin = short;
        let (bought, paid, reached) = short.buy_to_within(5.0, 0.5 * dy);
        assert!(!reached);
        assert_eq!(paid, 0.5 * dy);
        assert_eq!(bought, twin.sell_quote(0.5 * dy));
        assert!(short.spot() > 2.0 && short.spot() < 5.0);
    }

    #[test]
    fn arbitrage_reaches_the_target_and_keeps_k() {
        let mut pool = Pool::new(100.0, 3000.0, 0.003);
        pool.sell_base(40.0);
        let k = pool.x * pool.y;
        pool.arbitrage_to(2500.0);
        assert!((pool.spot() - 2500.0).abs() < 1e-9);
        assert!((pool.x * pool.y - k).abs() / k < 1e-12);
    }

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
        assert!((r.spot() - 2.0).abs() < 1e-12, "{}", r.spot());
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
        // Unlimited arbitrage puts the price back and keeps the depth.
        let mut e = Pool::exponential(1000.0, 2.0, alpha);
        e.sell_base(100.0);
        e.arbitrage_to(2.5);
        assert!((e.spot() - 2.5).abs() < 1e-12 && e.x == 1000.0, "{e:?}");
    }
}
