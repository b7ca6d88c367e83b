//! A peg stability module (docs/model.md §17), after makerdao/dss-psm
//! `src/psm.sol`. `sellGem` locks gem and mints as many stablecoins (its
//! vault type has a ratio of 1 and no fee), of which the toll `tin` goes to
//! the surplus and the rest to the seller; `buyGem` burns the stablecoin
//! for gem and takes the toll `tout` on top. Minting is bounded by the
//! vault type's `line` (vat.sol `frob`); redeeming by the gem held.
//!
//! Arbitrageurs trade the module against the stablecoin's main venue, a
//! `STABLECOIN/GEM` pool, once a step after the pools' arbitrage: in gem,
//! so the gem's own USD price does not enter. That is how an impaired gem
//! reaches the stablecoin: its pool is held at about one gem per coin
//! while the module has room to mint.

use crate::error::ScenarioError;
use crate::market::pool::Pool;
use crate::market::spec::PoolSpec;
use crate::mechanism::cdp::raw::RawPsm;
use crate::scenario::check::{at_most, non_negative, positive};
use crate::scenario::raw::RawScenario;

/// A PSM as validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PsmSpec {
    /// Gem asset index.
    pub gem: usize,
    /// The stablecoin's main venue (base the stablecoin, quote the gem).
    pub pool: usize,
    /// Toll on selling gem, in [0, 1).
    pub tin: f64,
    /// Toll on buying gem, in [0, 1].
    pub tout: f64,
    /// Most gem held (= stablecoin minted against it); ∞ without one.
    pub line: f64,
    /// Gem held at step 0.
    pub reserve: f64,
}

/// `[cdps.psm]` of CDP `name` with stablecoin `stablecoin`, whose main
/// venue is `venue`.
pub fn psm_from_raw(
    raw: &RawScenario,
    name: &str,
    r: &RawPsm,
    stablecoin: usize,
    venue: Option<usize>,
    pools: &[PoolSpec],
) -> Result<PsmSpec, ScenarioError> {
    let f = |x: &str| format!("cdps.{name}.psm.{x}");
    let gem = crate::market::spec::asset_index(raw, &f("gem"), &r.gem)?;
    if gem == stablecoin {
        return Err(ScenarioError::invalid(
            f("gem"),
            "is the CDP's own stablecoin",
        ));
    }
    let pool = venue
        .filter(|&p| pools[p].base == stablecoin && pools[p].quote == gem && pools[p].impact == 0.0)
        .ok_or_else(|| {
            ScenarioError::invalid(
                f("gem"),
                format!(
                    "the stablecoin's main venue (its first pool) must be a constant-product pool \
                     of the stablecoin quoted in `{}`, for arbitrage through the module",
                    r.gem
                ),
            )
        })?;
    let tin = non_negative(&f("tin"), r.tin)?;
    if tin >= 1.0 {
        return Err(ScenarioError::invalid(
            f("tin"),
            format!("{tin} must be below 1: a toll of the whole amount"),
        ));
    }
    let tout = at_most(&f("tout"), non_negative(&f("tout"), r.tout)?, 1.0, "(100%)")?;
    let line = match r.debt_ceiling {
        Some(l) => positive(&f("debt_ceiling"), l)?,
        None => f64::INFINITY,
    };
    let reserve = non_negative(&f("reserve"), r.reserve)?;
    if reserve > line {
        return Err(ScenarioError::invalid(
            f("reserve"),
            format!("{reserve} is above the debt ceiling {line}"),
        ));
    }
    Ok(PsmSpec {
        gem,
        pool,
        tin,
        tout,
        line,
        reserve,
    })
}

/// One arbitrage through the module.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Swap {
    /// Gem into the module (stablecoin minted), or out of it when
    /// negative (stablecoin burnt).
    pub gem_in: f64,
    /// Tolls paid to the surplus, stablecoin.
    pub toll: f64,
}

/// The arbitrage against `pool` (base the stablecoin, quote the gem) with
/// `held` gem in the module, trading `pool`:
/// - when a coin sold in the pool fetches more than `1/(1 − tin)` gem at
///   the margin: sell gem to the module (`sellGem`) and its coins into the
///   pool, until the last coin fetches exactly that
///   (`Pool::base_sold_to_marginal`), or the module reaches `line`;
/// - when a gem sold in the pool buys more than `1 + tout` coins at the
///   margin: buy coins with gem in the pool and redeem them (`buyGem`),
///   until the last gem buys exactly that, or the module's gem is gone.
pub fn arbitrage(spec: &PsmSpec, held: f64, pool: &mut Pool) -> Swap {
    let coins = pool.base_sold_to_marginal(1.0 / (1.0 - spec.tin));
    if coins > 0.0 {
        let gem = (coins / (1.0 - spec.tin)).min(spec.line - held);
        if gem <= 0.0 {
            return Swap::default();
        }
        let minted = gem * (1.0 - spec.tin);
        pool.sell_base(minted);
        return Swap {
            gem_in: gem,
            toll: gem * spec.tin,
        };
    }
    // The pool seen from the gem's side: selling gem is selling its base.
    let flipped = Pool {
        x: pool.y,
        y: pool.x,
        fee: pool.fee,
        impact: 0.0,
    };
    let gem_sold = flipped.base_sold_to_marginal(1.0 + spec.tout);
    if gem_sold <= 0.0 || held <= 0.0 {
        return Swap::default();
    }
    let mut trial = *pool;
    let coins = trial.sell_quote(gem_sold);
    let out = coins / (1.0 + spec.tout);
    let out = if out <= held {
        *pool = trial;
        out
    } else {
        // Only the coins that redeem what is held.
        pool.buy_base(held * (1.0 + spec.tout));
        held
    };
    Swap {
        gem_in: -out,
        toll: out * spec.tout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tin: f64, tout: f64, line: f64) -> PsmSpec {
        PsmSpec {
            gem: 1,
            pool: 0,
            tin,
            tout,
            line,
            reserve: 0.0,
        }
    }

    /// A coin at 1.2 gem: gem goes in until the last coin of the sale
    /// fetches 1/(1 − tin) gem, `(1 − φ)·x·y/(x + (1 − φ)·sold)²` from the
    /// reserves before it; the module's gem is what the coins sold cost,
    /// the toll its tin share.
    /// The arbitrageur ends with more gem than it put in.
    #[test]
    fn a_coin_above_par_is_minted_and_sold_until_the_margin_meets_the_toll() {
        let (tin, phi) = (0.01, 0.003);
        let mut pool = Pool::new(1e6, 1.2, phi);
        let before = pool;
        let s = arbitrage(&spec(tin, 0.0, f64::INFINITY), 0.0, &mut pool);
        let sold = pool.x - before.x;
        assert!((s.gem_in - sold / (1.0 - tin)).abs() < 1e-6 * sold);
        assert!((s.toll - s.gem_in * tin).abs() < 1e-9 * s.gem_in);
        let e = before.x + (1.0 - phi) * sold;
        let margin = (1.0 - phi) * before.x * before.y / (e * e);
        assert!((margin - 1.0 / (1.0 - tin)).abs() < 1e-12, "{margin}");
        let received = before.y - pool.y;
        assert!(received > s.gem_in, "{received} for {}", s.gem_in);
    }

    /// The ceiling: only `line − held` gem goes in, and the coins sold are
    /// its share after the toll.
    #[test]
    fn minting_stops_at_the_ceiling() {
        let mut pool = Pool::new(1e6, 1.2, 0.0);
        let s = arbitrage(&spec(0.02, 0.0, 1000.0), 400.0, &mut pool);
        assert_eq!(s.gem_in, 600.0);
        assert!((pool.x - 1e6 - 600.0 * 0.98).abs() < 1e-6);
        let full = arbitrage(&spec(0.02, 0.0, 1000.0), 1000.0, &mut pool);
        assert_eq!(full, Swap::default());
    }

    /// A coin at 0.8 gem: coins are bought with gem until the last gem of
    /// the purchase buys 1 + tout coins, `(1 − φ)·x·y/(y + (1 − φ)·paid)²`
    /// from the reserves before it, and redeemed for gem at 1/(1 + tout);
    /// at most the gem held.
    #[test]
    fn a_coin_below_par_is_bought_and_redeemed_up_to_the_gem_held() {
        let (tout, phi) = (0.005, 0.001);
        let mut pool = Pool::new(1e6, 0.8, phi);
        let before = pool;
        let s = arbitrage(&spec(0.0, tout, f64::INFINITY), 1e9, &mut pool);
        let bought = before.x - pool.x;
        assert!((-s.gem_in - bought / (1.0 + tout)).abs() < 1e-6 * bought);
        assert!((s.toll + s.gem_in * tout).abs() < 1e-9 * bought);
        let paid = pool.y - before.y;
        let e = before.y + (1.0 - phi) * paid;
        let margin = (1.0 - phi) * before.x * before.y / (e * e);
        assert!((margin - (1.0 + tout)).abs() < 1e-12, "{margin}");
        assert!(-s.gem_in > paid, "redeemed {} for {paid}", -s.gem_in);

        let mut pool = Pool::new(1e6, 0.8, phi);
        let s = arbitrage(&spec(0.0, tout, f64::INFINITY), 500.0, &mut pool);
        assert_eq!(s.gem_in, -500.0);
        assert!((1e6 - pool.x - 500.0 * (1.0 + tout)).abs() < 1e-6);
        let empty = arbitrage(&spec(0.0, tout, f64::INFINITY), 0.0, &mut pool);
        assert_eq!(empty, Swap::default());
    }

    /// Within the tolls and the fee nothing pays, no trade either way:
    /// minting pays above 1/((1 − φ)(1 − tin)) = 1.004 gem a coin,
    /// redeeming below (1 − φ)/(1 + tout) = 0.996.
    #[test]
    fn within_the_band_nothing_trades() {
        for price in [0.9965, 1.0, 1.0035] {
            let mut pool = Pool::new(1e6, price, 0.003);
            let before = pool;
            let s = arbitrage(&spec(0.001, 0.001, f64::INFINITY), 1e6, &mut pool);
            assert_eq!((s, pool), (Swap::default(), before), "{price}");
        }
        // Just outside the band, each way.
        for (price, up) in [(0.9955, false), (1.0045, true)] {
            let mut pool = Pool::new(1e6, price, 0.003);
            let s = arbitrage(&spec(0.001, 0.001, f64::INFINITY), 1e6, &mut pool);
            assert_eq!(s.gem_in > 0.0, up, "{price}");
            assert!(s.gem_in != 0.0, "{price}");
        }
    }
}
