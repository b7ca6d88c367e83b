//! Black–Scholes–Merton prices and Greeks of European options (Black &
//! Scholes 1973; Merton 1973), with a continuous dividend yield q (a staking
//! yield, or 0). Time is in years of 365 days of 24 hours: crypto trades
//! every day, so a calendar day is a trading day.
//!
//! With `d₁ = (ln(S/K) + (r − q + σ²/2)τ)/(σ√τ)` and `d₂ = d₁ − σ√τ`:
//! call `S e^{−qτ} N(d₁) − K e^{−rτ} N(d₂)`, put
//! `K e^{−rτ} N(−d₂) − S e^{−qτ} N(−d₁)`. Greeks are per unit of the
//! underlying: vega, vanna and volga per unit of σ (not per point), theta
//! per year (divide by 365 for a day), rho per unit of r.

/// Call or put.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The right to buy.
    Call,
    /// The right to sell.
    Put,
}

/// Price and sensitivities of one option.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Greeks {
    /// Premium.
    pub price: f64,
    /// ∂V/∂S.
    pub delta: f64,
    /// ∂²V/∂S².
    pub gamma: f64,
    /// ∂V/∂σ.
    pub vega: f64,
    /// ∂V/∂t (calendar time passing, per year): −∂V/∂τ.
    pub theta: f64,
    /// ∂V/∂r.
    pub rho: f64,
    /// ∂²V/∂S∂σ.
    pub vanna: f64,
    /// ∂²V/∂σ².
    pub volga: f64,
}

/// Payoff at expiry of one option: `max(S − K, 0)` or `max(K − S, 0)`.
pub fn payoff(kind: Kind, s: f64, k: f64) -> f64 {
    match kind {
        Kind::Call => (s - k).max(0.0),
        Kind::Put => (k - s).max(0.0),
    }
}

/// Standard normal density.
pub fn npdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function, through erfc (accurate in the
/// tails, where `1 − N(−x)` would cancel).
pub fn ncdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Price of an option with spot `s`, strike `k`, time to expiry `tau`
/// (years), volatility `sigma`, rate `r` and yield `q`.
pub fn price(kind: Kind, s: f64, k: f64, tau: f64, sigma: f64, r: f64, q: f64) -> f64 {
    greeks(kind, s, k, tau, sigma, r, q).price
}

/// Price and Greeks. At or after expiry (τ ≤ 0) the option is worth its
/// intrinsic value, with delta 1 (or −1) in the money, 0 out of it, and
/// every other Greek 0; with σ = 0 the same holds for the forward. At the
/// money exactly, delta is half (the limit of N(±d₁) as σ√τ → 0).
pub fn greeks(kind: Kind, s: f64, k: f64, tau: f64, sigma: f64, r: f64, q: f64) -> Greeks {
    let sign = match kind {
        Kind::Call => 1.0,
        Kind::Put => -1.0,
    };
    if tau <= 0.0 || sigma <= 0.0 {
        let t = tau.max(0.0);
        let fwd_s = s * (-q * t).exp();
        let disc_k = k * (-r * t).exp();
        let moneyness = sign * (fwd_s - disc_k);
        let held = if moneyness > 0.0 {
            1.0
        } else if moneyness == 0.0 {
            0.5
        } else {
            0.0
        };
        return Greeks {
            price: moneyness.max(0.0),
            delta: held * sign * (-q * t).exp(),
            ..Greeks::default()
        };
    }
    let sqrt_t = tau.sqrt();
    let vol_t = sigma * sqrt_t;
    let d1 = ((s / k).ln() + (r - q + 0.5 * sigma * sigma) * tau) / vol_t;
    let d2 = d1 - vol_t;
    let (dq, dr) = ((-q * tau).exp(), (-r * tau).exp());
    let (nd1, nd2) = (ncdf(sign * d1), ncdf(sign * d2));
    let pdf = npdf(d1);
    let price = sign * (s * dq * nd1 - k * dr * nd2);
    let delta = sign * dq * nd1;
    let gamma = dq * pdf / (s * vol_t);
    let vega = s * dq * pdf * sqrt_t;
    let theta =
        -s * dq * pdf * sigma / (2.0 * sqrt_t) - sign * r * k * dr * nd2 + sign * q * s * dq * nd1;
    let rho = sign * k * tau * dr * nd2;
    let vanna = -dq * pdf * d2 / sigma;
    let volga = vega * d1 * d2 / sigma;
    Greeks {
        price,
        delta,
        gamma,
        vega,
        theta,
        rho,
        vanna,
        volga,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL: Kind = Kind::Call;
    const PUT: Kind = Kind::Put;

    /// Hull, "Options, Futures, and Other Derivatives" (8th ed.), Example
    /// 15.6: S = 42, K = 40, r = 10%, σ = 20%, six months: c = 4.76, p = 0.81.
    #[test]
    fn hull_example_15_6() {
        let c = price(CALL, 42.0, 40.0, 0.5, 0.2, 0.1, 0.0);
        let p = price(PUT, 42.0, 40.0, 0.5, 0.2, 0.1, 0.0);
        assert!((c - 4.76).abs() < 0.005, "{c}");
        assert!((p - 0.81).abs() < 0.005, "{p}");
    }

    /// Hull (8th ed.), chapter 18 ("The Greek Letters"), the running example
    /// of a bank's call: S = 49, K = 50, r = 5%, σ = 20%, 20 weeks
    /// (τ = 0.3846): price 2.40, delta 0.522, gamma 0.066, vega 12.1 (per
    /// unit σ), theta −4.31 per year, rho 8.91.
    #[test]
    fn hull_greek_letters_example() {
        let g = greeks(CALL, 49.0, 50.0, 0.3846, 0.2, 0.05, 0.0);
        assert!((g.price - 2.40).abs() < 0.005, "{}", g.price);
        assert!((g.delta - 0.522).abs() < 0.0005, "{}", g.delta);
        assert!((g.gamma - 0.066).abs() < 0.0005, "{}", g.gamma);
        assert!((g.vega - 12.1).abs() < 0.05, "{}", g.vega);
        assert!((g.theta + 4.31).abs() < 0.005, "{}", g.theta);
        assert!((g.rho - 8.91).abs() < 0.005, "{}", g.rho);
    }

    #[test]
    fn put_call_parity_holds() {
        for &(s, k, t, v, r, q) in &[
            (3000.0, 3200.0, 7.0 / 365.0, 0.8, 0.04, 0.03),
            (100.0, 60.0, 2.0, 0.3, 0.0, 0.0),
            (1.0, 1.5, 0.01, 1.5, 0.1, 0.0),
        ] {
            let c = price(CALL, s, k, t, v, r, q);
            let p = price(PUT, s, k, t, v, r, q);
            let parity = s * (-q * t).exp() - k * (-r * t).exp();
            assert!((c - p - parity).abs() < 1e-9 * s, "{c} {p} {parity}");
        }
    }

    /// Every Greek against a central difference of the price (or of delta
    /// and vega for the second-order ones).
    #[test]
    fn greeks_match_finite_differences() {
        // A month on a volatile asset, and two years with a large yield and
        // rate (where e^{−qτ} and e^{−rτ} are far from 1, so a Greek that
        // drops or inverts one of them is told apart).
        for (s, k, t, v, r, q) in [
            (2500.0, 2700.0, 30.0 / 365.0, 0.75, 0.05, 0.02),
            (100.0, 90.0, 2.0, 0.3, 0.1, 0.4),
        ] {
            finite_differences_at(s, k, t, v, r, q);
        }
    }

    fn finite_differences_at(s: f64, k: f64, t: f64, v: f64, r: f64, q: f64) {
        for kind in [CALL, PUT] {
            let g = greeks(kind, s, k, t, v, r, q);
            let f = |s: f64, t: f64, v: f64, r: f64| price(kind, s, k, t, v, r, q);
            let hs = s * 1e-4;
            let hv = 1e-5;
            let ht = 1e-6;
            let hr = 1e-6;
            let d_s = (f(s + hs, t, v, r) - f(s - hs, t, v, r)) / (2.0 * hs);
            let g_s = (f(s + hs, t, v, r) - 2.0 * f(s, t, v, r) + f(s - hs, t, v, r)) / (hs * hs);
            let d_v = (f(s, t, v + hv, r) - f(s, t, v - hv, r)) / (2.0 * hv);
            let d_t = -(f(s, t + ht, v, r) - f(s, t - ht, v, r)) / (2.0 * ht);
            let d_r = (f(s, t, v, r + hr) - f(s, t, v, r - hr)) / (2.0 * hr);
            let dd = |s: f64, v: f64| greeks(kind, s, k, t, v, r, q);
            let vanna = (dd(s, v + hv).delta - dd(s, v - hv).delta) / (2.0 * hv);
            let volga = (dd(s, v + hv).vega - dd(s, v - hv).vega) / (2.0 * hv);
            let rel = |a: f64, b: f64| (a - b).abs() <= 1e-4 * b.abs().max(1e-3);
            assert!(rel(g.delta, d_s), "{kind:?} delta {} vs {d_s}", g.delta);
            assert!(rel(g.gamma, g_s), "{kind:?} gamma {} vs {g_s}", g.gamma);
            assert!(rel(g.vega, d_v), "{kind:?} vega {} vs {d_v}", g.vega);
            assert!(rel(g.theta, d_t), "{kind:?} theta {} vs {d_t}", g.theta);
            assert!(rel(g.rho, d_r), "{kind:?} rho {} vs {d_r}", g.rho);
            assert!(rel(g.vanna, vanna), "{kind:?} vanna {} vs {vanna}", g.vanna);
            assert!(rel(g.volga, volga), "{kind:?} volga {} vs {volga}", g.volga);
        }
    }

    /// σ = 0 before expiry: the discounted forward's payoff, checked
    /// against the Black–Scholes formula itself at σ = 1e-7 (a limit the
    /// degenerate branch must meet), with r and q apart so that spot,
    /// forward and discounting can be told apart.
    #[test]
    fn zero_volatility_is_the_limit_of_small_volatility() {
        let (t, r, q) = (1.0, 0.05, 0.02);
        for kind in [CALL, PUT] {
            for (s, k) in [(100.0, 90.0), (100.0, 110.0), (100.0, 97.0), (100.0, 103.5)] {
                let g = greeks(kind, s, k, t, 0.0, r, q);
                let near = greeks(kind, s, k, t, 1e-7, r, q);
                assert!(
                    (g.price - near.price).abs() < 1e-6,
                    "{kind:?} {k}: {g:?} {near:?}"
                );
                assert!(
                    (g.delta - near.delta).abs() < 1e-9,
                    "{kind:?} {k}: {g:?} {near:?}"
                );
            }
            // At the money forward exactly (r = q, S = K, so the two sides
            // are the same float): delta is half e^{−qτ}, as the formula
            // gives for any small σ there.
            let g = greeks(kind, 100.0, 100.0, t, 0.0, q, q);
            let near = greeks(kind, 100.0, 100.0, t, 1e-9, q, q);
            assert!(
                (g.delta - near.delta).abs() < 1e-6,
                "{kind:?}: {g:?} {near:?}"
            );
            assert!(g.price.abs() < 1e-9);
        }
        // At expiry, at the strike: half a unit.
        assert_eq!(greeks(CALL, 100.0, 100.0, 0.0, 0.5, r, q).delta, 0.5);
        assert_eq!(greeks(PUT, 100.0, 100.0, 0.0, 0.5, r, q).delta, -0.5);
    }

    #[test]
    fn limits_deep_in_and_out_of_the_money_and_at_expiry() {
        let (t, v, r) = (0.1, 0.6, 0.03);
        let deep_itm = greeks(CALL, 10_000.0, 100.0, t, v, r, 0.0);
        assert!((deep_itm.delta - 1.0).abs() < 1e-12);
        assert!((deep_itm.price - (10_000.0 - 100.0 * (-r * t).exp())).abs() < 1e-6);
        let deep_otm = greeks(CALL, 100.0, 10_000.0, t, v, r, 0.0);
        assert!(deep_otm.price < 1e-12 && deep_otm.delta < 1e-12);
        let put_itm = greeks(PUT, 100.0, 10_000.0, t, v, r, 0.0);
        assert!((put_itm.delta + 1.0).abs() < 1e-12);
        // At expiry: intrinsic value, no time value.
        let at = greeks(CALL, 110.0, 100.0, 0.0, v, r, 0.0);
        assert_eq!(
            (at.price, at.delta, at.gamma, at.vega),
            (10.0, 1.0, 0.0, 0.0)
        );
        let at_put = greeks(PUT, 110.0, 100.0, 0.0, v, r, 0.0);
        assert_eq!((at_put.price, at_put.delta), (0.0, 0.0));
        // Just before expiry the price tends to the intrinsic value.
        let near = price(CALL, 110.0, 100.0, 1e-8, v, r, 0.0);
        assert!((near - 10.0).abs() < 1e-6);
    }

    #[test]
    fn the_normal_distribution_function_is_accurate_in_the_tails() {
        assert!((ncdf(0.0) - 0.5).abs() < 1e-16);
        // N(−8) = 6.22096057427178e−16; 1 − N(8) would round to 0 here.
        assert!((ncdf(-8.0) / 6.220_960_574_271_78e-16 - 1.0).abs() < 1e-10);
        assert!((ncdf(1.959_963_984_540_054) - 0.975).abs() < 1e-15);
    }
}
