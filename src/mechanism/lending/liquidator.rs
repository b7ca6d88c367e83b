//! Liquidator choice (docs/model.md §5 step 5).

use crate::mechanism::lending::spec::LiquidatorSpec;

/// The first liquidator, in scenario order, whose capital covers the repay
/// (`capital ≥ R·p_d`) and whose profit after gas `s·p_j − R·p_d − gas`
/// reaches its `min_profit`. None: the position waits.
pub fn choose(
    liquidators: &[LiquidatorSpec],
    capital: &[f64],
    repay_usd: f64,
    profit_usd: f64,
) -> Option<usize> {
    liquidators
        .iter()
        .zip(capital)
        .position(|(l, &c)| c >= repay_usd && profit_usd >= l.min_profit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn liq(name: &str, min_profit: f64) -> LiquidatorSpec {
        LiquidatorSpec {
            name: name.into(),
            capital: 0.0,
            min_profit,
        }
    }

    #[test]
    fn first_in_order_with_capital_and_profit_wins() {
        let ls = [liq("small", 0.0), liq("picky", 100.0), liq("big", 10.0)];
        // "small" lacks capital, "picky" wants more profit: "big" acts.
        assert_eq!(choose(&ls, &[50.0, 1e9, 1e9], 1000.0, 20.0), Some(2));
        // With enough profit, "picky" comes before "big".
        assert_eq!(choose(&ls, &[50.0, 1e9, 1e9], 1000.0, 150.0), Some(1));
        // Capital exactly equal to the repay is enough.
        assert_eq!(choose(&ls, &[1000.0, 0.0, 0.0], 1000.0, 0.0), Some(0));
        // Nobody: unprofitable after gas.
        assert_eq!(choose(&ls, &[1e9, 1e9, 1e9], 1000.0, -1.0), None);
        // Unlimited capital is infinity.
        assert_eq!(choose(&ls[..1], &[f64::INFINITY], 1e15, 0.0), Some(0));
    }
}
