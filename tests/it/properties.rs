//! Property tests of invariants: a liquidation conserves value, pool
//! reserves stay positive, health factors are monotone in price, and the
//! whole engine keeps debts and collateral non-negative on random books.

use contagion::Overrides;
use contagion::engine::World;
use contagion::market::Pool;
use contagion::mechanism::lending::{health_factor, seizure};
use proptest::prelude::*;

use crate::common::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_liquidation_conserves_value(
        debt in 1.0..1e7f64,
        cf in 0.01..1.0f64,
        p_debt in 0.5..2.0f64,
        p_coll in 0.01..1e5f64,
        bonus in 0.0..0.25f64,
        units in 0.0..1e4f64,
    ) {
        let s = seizure(cf * debt, p_debt, p_coll, bonus, units);
        // The liquidator receives exactly (1 + LB) times what it repays.
        let lhs = s.seize * p_coll;
        let rhs = s.repay * p_debt * (1.0 + bonus);
        prop_assert!((lhs - rhs).abs() <= 1e-9 * rhs.max(1e-9));
        prop_assert!(s.seize <= units);
        prop_assert!(s.repay <= cf * debt * (1.0 + 1e-12));
        prop_assert!(s.repay >= 0.0 && s.seize >= 0.0);
        // §5 step 3: the full repay CF·d unless its seizure would exceed the
        // units held; then all the units, and the repay they pay for.
        let wanted = cf * debt * p_debt * (1.0 + bonus) / p_coll;
        if wanted <= units * (1.0 - 1e-9) {
            prop_assert!(!s.capped);
            prop_assert!((s.repay - cf * debt).abs() <= 1e-12 * cf * debt);
            prop_assert!((s.seize - wanted).abs() <= 1e-9 * wanted.max(1e-12));
        } else if wanted > units * (1.0 + 1e-9) {
            prop_assert!(s.capped);
            prop_assert_eq!(s.seize, units);
            let repay = units * p_coll / ((1.0 + bonus) * p_debt);
            prop_assert!((s.repay - repay).abs() <= 1e-9 * repay.max(1e-12));
        }
    }

    #[test]
    fn pool_reserves_stay_positive_and_k_never_falls(
        x in 1.0..1e6f64,
        price in 1e-3..1e4f64,
        fee in 0.0..0.05f64,
        trades in proptest::collection::vec((any::<bool>(), 0.0..1e7f64, 1e-3..1e4f64), 1..40),
    ) {
        let mut pool = Pool::new(x, price, fee);
        for (sell_base, amount, target) in trades {
            let k = pool.x * pool.y;
            if sell_base { pool.sell_base(amount); } else { pool.sell_quote(amount); }
            prop_assert!(pool.x > 0.0 && pool.y > 0.0);
            prop_assert!(pool.x * pool.y >= k * (1.0 - 1e-12));
            pool.arbitrage_to(target);
            prop_assert!(pool.x > 0.0 && pool.y > 0.0);
            prop_assert!((pool.spot() / target - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn health_factor_is_monotone_in_the_collateral_price(
        units in 0.0..1e4f64,
        lt in 0.01..1.0f64,
        debt in 1.0..1e7f64,
        p1 in 0.01..1e5f64,
        bump in 0.0..10.0f64,
    ) {
        let p2 = p1 * (1.0 + bump);
        prop_assert!(health_factor(units * p1 * lt, debt) <= health_factor(units * p2 * lt, debt));
        // §5: HF = Σ c·p·LT / (d·p_d), and ∞ without debt.
        let hf = health_factor(units * p1 * lt, debt);
        prop_assert!((hf - units * p1 * lt / debt).abs() <= 1e-12 * hf.max(1e-300));
        prop_assert_eq!(health_factor(units * p1 * lt, 0.0), f64::INFINITY);
    }

    #[test]
    fn the_engine_keeps_books_and_prices_sound(
        seed in any::<u64>(),
        reserve in 50.0..5000.0f64,
        persistence in 0.0..1.0f64,
        shock in -0.6..0.0f64,
    ) {
        let text = edit(SMALL, &[
            Edit::Set("pools.ETH.base_reserve", reserve.into()),
            Edit::Set("pools.ETH.impact_persistence", persistence.into()),
            Edit::Set("shocks.ETH.return", shock.into()),
        ]);
        let sc = scenario(&text, &Overrides { paths: Some(2), seed: Some(seed) });
        let mut world = World::new(&sc);
        for p in 0..2 {
            let rec = world.run_path(p).expect("no NaN");
            // Every position and collateral entry is there, none negative.
            prop_assert_eq!(world.lending.debts().len(), sc.book.len());
            prop_assert_eq!(world.lending.collateral_units().len(), sc.book.coll_units.len());
            prop_assert!(world.lending.debts().iter().all(|&d| d >= 0.0));
            prop_assert!(world.lending.collateral_units().iter().all(|&c| c >= 0.0));
            prop_assert!(world.market.pools.iter().all(|p| p.x > 0.0 && p.y > 0.0));
            prop_assert!(rec.summary.bad_debt >= 0.0);
            prop_assert!((0.0..=1.0).contains(&rec.summary.max_drawdown));
            // Every liquidation row repays at most what the position owed
            // and seizes value at exactly the bonus.
            let l = &rec.liquidations;
            for i in 0..l.step.len() {
                prop_assert!(l.health_factor[i] < 1.0);
                let ratio = l.seized_value[i] / l.repaid_value[i];
                prop_assert!((ratio - 1.05).abs() < 1e-9 || (ratio - 1.08).abs() < 1e-9);
            }
        }
    }
}
