//! CDP stablecoins (docs/model.md §17): hand-worked Dutch and English
//! auctions, the accounting of supply, surplus and debt step by step, and
//! determinism.

use contagion::Overrides;
use contagion::engine::World;
use contagion::output::recorder::PathRecord;

use crate::common::*;

/// One vault of 10 ETH owing 1,000 DAI; ETH at 150 falls to 100 at step 1
/// (`{ret}`), read by a direct oracle; a pool so deep that its slippage is
/// below a millionth; no fee, no gas, no penalty unless set; steps of
/// 0.25 h. `{auction}` and `{keepers}` complete it.
fn one_vault(auction: &str, keepers: &str, ret: f64) -> String {
    format!(
        r#"
[simulation]
name = "one-vault"
steps = 8
dt_hours = 0.25
paths = 1

[[assets]]
symbol = "ETH"
price = 150.0

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "DAI"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 1000000000.0
fee = 0.0

[[shocks]]
step = 1
asset = "ETH"
return = {ret}

[[cdps]]
name = "maker"
stablecoin = "DAI"
oracle = {{ kind = "direct" }}
{auction}

[cdps.collateral.ETH]
liquidation_ratio = 1.5
penalty = 0.13

[[cdps.vaults]]
collateral = "ETH"
units = 10.0
debt = 1000.0

{keepers}
"#
    )
}

const DUTCH: &str = r#"auction = "dutch"
dutch = { buf = 1.2, curve = "linear", tau_hours = 1.0, tail_hours = 1.0, cusp = 0.1 }"#;

const ENGLISH: &str = r#"auction = "english"
english = { beg = 0.05, ttl_hours = 0.5, tau_hours = 2.0 }"#;

fn keeper(name: &str, strategy: &str) -> String {
    format!(
        "[[cdps.keepers]]\nname = \"{name}\"\ncapital_usd = 1000000.0\nstrategy = \"{strategy}\"\n"
    )
}

/// Path 0 of `text`: its record, each CDP's (surplus, unbacked) at the
/// end, and the keepers' names as `auctions.parquet` writes them.
fn run(text: &str) -> (PathRecord, Vec<(f64, f64)>, Vec<String>) {
    let sc = scenario(text, &Overrides::default());
    let mut w = World::new(&sc);
    let rec = w.run_path(0).unwrap();
    let buffer = w.cdps.buffer();
    (
        rec,
        buffer,
        contagion::mechanism::cdp::table::keeper_names(&sc),
    )
}

fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// clip.sol by hand: at step 1 the vault (10 ETH at 100, spot 66.67 under
/// a 1.5 ratio, against 1,000 of debt) is barked whole: tab 1,130, lot 10,
/// top 120. The linear curve gives 120 at step 1 (nobody buys above the
/// market's 100) and 90 at step 2, where the keeper takes the whole lot
/// for 900. The tab left (230) is not raised: 100 of the debt is short,
/// and the surplus (900, all raised) cancels 900 of the 1,000 confiscated.
#[test]
fn a_dutch_auction_sells_at_the_first_price_below_the_market() {
    let (rec, buffer, names) = run(&one_vault(DUTCH, &keeper("k", "value"), -1.0 / 3.0));
    assert_eq!(winners(&rec, &names), ["k"]);
    let a = &rec.auctions;
    assert_eq!(a.step, vec![2], "one auction, over at step 2");
    assert_eq!((a.start_step[0], a.bids[0], a.finished[0]), (1, 1, true));
    assert!(near(a.tab[0], 1130.0, 1e-12) && near(a.debt[0], 1000.0, 1e-12));
    assert!(near(a.raised[0], 900.0, 1e-9), "raised {}", a.raised[0]);
    assert!(near(a.sold[0], 10.0, 1e-12) && a.returned[0] == 0.0);
    assert!(near(a.shortfall[0], 100.0, 1e-9));
    assert!(near(a.price_to_oracle[0].unwrap(), 0.9, 1e-9));
    let o = rec.summary.cdps[0];
    assert_eq!((o.auctions, o.finished, o.zero_bid_auctions), (1, 1, 0));
    assert!(near(o.deficit, 100.0, 1e-9) && o.gov_minted == 0.0);
    let (surplus, unbacked) = buffer[0];
    assert!(surplus.abs() < 1e-9 && near(unbacked, 100.0, 1e-9));
}

/// With the collateral worth more than the tab, the keeper takes only the
/// tab's worth and the rest goes back to the vault: ETH falls to 140 (the
/// vault's 1,400 is unsafe under 1.5), the price 168 at step 1 is above
/// the market, 126 at step 2 is not, and the whole lot would cost 1,260:
/// the keeper pays the tab, 1,130, for 1,130/126 units.
#[test]
fn a_dutch_auction_returns_what_is_left_once_the_tab_is_paid() {
    let (rec, _, _) = run(&one_vault(
        DUTCH,
        &keeper("k", "value"),
        140.0 / 150.0 - 1.0,
    ));
    let a = &rec.auctions;
    assert_eq!(a.step, vec![2]);
    assert!(near(a.raised[0], 1130.0, 1e-9) && a.shortfall[0] == 0.0);
    assert!(near(a.sold[0], 1130.0 / 126.0, 1e-9));
    assert!(near(a.returned[0], 10.0 - 1130.0 / 126.0, 1e-9));
    // The penalty (130) is surplus once the debt is cancelled.
    let o = rec.summary.cdps[0];
    assert!(o.deficit == 0.0 && o.shortfall == 0.0);
}

/// flip.sol by hand, a lone opportunist: it opens at one wei at step 1
/// (now 0.25 h); its bid stands until 0.75 h (ttl 0.5); `deal` needs
/// tic < now, so the lot goes at step 4 (1.0 h) for nothing, and the
/// whole 1,000 of debt is short.
#[test]
fn an_english_auction_with_one_opportunist_closes_at_zero() {
    let (rec, buffer, names) = run(&one_vault(ENGLISH, &keeper("z", "opportunist"), -1.0 / 3.0));
    let a = &rec.auctions;
    assert_eq!(a.step, vec![4], "dealt at the first step after tic");
    assert_eq!((a.bids[0], a.zero_bid[0]), (1, true));
    assert!(a.raised[0] < 1e-12 && near(a.sold[0], 10.0, 1e-12));
    assert!(near(a.shortfall[0], 1000.0, 1e-9));
    assert_eq!(winners(&rec, &names), ["z"]);
    assert_eq!(rec.summary.cdps[0].zero_bid_auctions, 1);
    assert!(near(buffer[0].1, 1000.0, 1e-9));
}

/// With a keeper that bids value beside the opportunist, in either order,
/// the lot goes for its value: 10 × 100 = 1,000 (below the tab, so no
/// dent), and the debt is covered.
#[test]
fn an_english_auction_with_a_value_bidder_fetches_the_lot_value() {
    for keepers in [
        keeper("z", "opportunist") + &keeper("v", "value"),
        keeper("v", "value") + &keeper("z", "opportunist"),
    ] {
        let (rec, _, names) = run(&one_vault(ENGLISH, &keepers, -1.0 / 3.0));
        let a = &rec.auctions;
        assert_eq!(a.step, vec![4]);
        assert!(near(a.raised[0], 1000.0, 1e-6), "raised {}", a.raised[0]);
        assert!(!a.zero_bid[0] && a.shortfall[0] < 1e-3);
        assert_eq!(winners(&rec, &names), ["v"]);
    }
}

/// At 120 the lot (1,200) is worth more than the tab (1,130): the value
/// keeper bids the whole tab, then (dent) asks for the fewest units whose
/// sale pays 1,130: 1,130/120; the rest goes back to the vault.
#[test]
fn an_english_auction_dents_the_lot_once_the_tab_is_bid() {
    let keepers = keeper("a", "value") + &keeper("b", "value");
    let (rec, _, _) = run(&one_vault(ENGLISH, &keepers, 120.0 / 150.0 - 1.0));
    let a = &rec.auctions;
    assert!(near(a.raised[0], 1130.0, 1e-12), "raised {}", a.raised[0]);
    assert!(near(a.sold[0], 1130.0 / 120.0, 1e-6), "sold {}", a.sold[0]);
    assert!(near(a.returned[0], 10.0 - 1130.0 / 120.0, 1e-5));
    assert_eq!(a.bids[0], 2, "a tend of the tab, then one dent");
}

/// The names of the keepers of each auction row, in row order.
fn winners(rec: &PathRecord, names: &[String]) -> Vec<String> {
    rec.auctions
        .keeper
        .iter()
        .map(|&k| names[k as usize].clone())
        .collect()
}

/// A crash under congestion: ETH −30% at step 4 and a volatile path after,
/// an OSM an hour late, 300 generated vaults, a value keeper landing 30% of
/// steps and an opportunist landing half, buying DAI in a DAI/USDC pool.
fn crash(auction: &str) -> String {
    format!(
        r#"
[simulation]
name = "crash"
steps = 48
dt_hours = 0.5
paths = 3
seed = 3

[network]
gas_usd = 20.0

[[assets]]
symbol = "ETH"
price = 200.0
process = {{ kind = "gbm", drift = 0.0, vol = 0.5 }}

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "DAI"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 200000.0
fee = 0.003

[[pools]]
base = "DAI"
quote = "USDC"
base_reserve = 5000000.0
fee = 0.0005

[[shocks]]
step = 4
asset = "ETH"
return = -0.3

[[cdps]]
name = "maker"
stablecoin = "DAI"
surplus = 100000.0
debt_auction_lot = 50000.0
gov_token_price = 500.0
{auction}

[cdps.collateral.ETH]
liquidation_ratio = 1.5
stability_fee = 0.5
dust = 20.0
hole = 3000000.0

[[cdps.keepers]]
name = "k1"
capital_usd = 2000000.0
inclusion = 0.3

[[cdps.keepers]]
name = "zero"
capital_usd = 100000.0
strategy = "opportunist"
inclusion = 0.5

[[cdps.vault_populations]]
collateral = "ETH"
count = 300
size = {{ dist = "lognormal", median = 20000.0, sigma = 1.0 }}
health = {{ dist = "uniform", min = 1.05, max = 2.0 }}
"#
    )
}

const CRASH_DUTCH: &str = r#"auction = "dutch"
dutch = { buf = 1.2, curve = "stairstep", step_hours = 0.5, cut = 0.9, tail_hours = 4.0, cusp = 0.3 }"#;

/// Every step of every path, under both designs: the stablecoin in
/// circulation (a running sum of fees, cancellations and debt auctions)
/// equals the vaults' debt plus the confiscated debt not yet cancelled;
/// and from the recorded rows alone, the system's net position (surplus −
/// unbacked − vault debt) moves each step
/// by exactly what the auctions raised plus what debt auctions brought in
/// (tokens minted × their price): fees, barks and cancellations move it
/// by nothing.
#[test]
fn supply_surplus_and_debt_reconcile_every_step() {
    for auction in [ENGLISH, CRASH_DUTCH] {
        let sc = scenario(&crash(auction), &Overrides::default());
        let mut w = World::new(&sc);
        let (mut kicked, mut minted) = (0, 0.0);
        for p in 0..sc.paths {
            let rec = w
                .run_path_with(p, |w, t| {
                    for (supply, stocks) in w.cdps.supply_check() {
                        assert!(
                            near(supply, stocks, 1e-9),
                            "path {p} step {t}: {supply} vs {stocks}"
                        );
                    }
                })
                .unwrap();
            let c = &rec.cdp;
            for r in 1..c.step.len() {
                let net = |r: usize| c.surplus[r] - c.unbacked[r] - c.debt[r];
                let brought =
                    (c.gov_minted[r] - c.gov_minted[r - 1]) * 500.0 / c.stablecoin_price[r];
                let moved = net(r) - net(r - 1);
                assert!(
                    (moved - c.raised[r] - brought).abs() < 1e-6 * c.debt[0],
                    "path {p} step {}: net moved {moved}, raised {}, debt auctions {brought}",
                    c.step[r],
                    c.raised[r]
                );
            }
            kicked += rec.summary.cdps[0].auctions;
            minted += rec.summary.cdps[0].gov_minted;
            // Each finished auction raised at most its tab.
            let a = &rec.auctions;
            for i in 0..a.step.len() {
                assert!(a.raised[i] <= a.tab[i] * (1.0 + 1e-12));
                assert!(a.sold[i] + a.returned[i] <= a.lot[i] * (1.0 + 1e-12));
            }
        }
        assert!(kicked > 100, "the crash must liquidate: {kicked} auctions");
        assert!(
            minted > 0.0,
            "and leave debt for debt auctions under {auction}"
        );
    }
}

/// The same bytes whatever the thread count, under both designs.
#[test]
fn cdp_runs_are_the_same_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    for (k, auction) in [ENGLISH, CRASH_DUTCH].iter().enumerate() {
        let sc = scenario(&crash(auction), &Overrides::default());
        run_into(&sc, dir.path(), &format!("one{k}"), Some(1));
        run_into(&sc, dir.path(), &format!("two{k}"), Some(2));
        for table in ["auctions", "cdp", "path_cdps", "market"] {
            let f = format!("{table}.parquet");
            let a = read(&dir.path().join(format!("one{k}")).join(&f));
            let b = read(&dir.path().join(format!("two{k}")).join(&f));
            assert!(a.height() > 0 && same_frame(&a, &b), "{f} differs");
        }
    }
}

/// Bad CDP settings are refused with the field named.
#[test]
fn cdp_settings_are_validated() {
    let base = one_vault(DUTCH, &keeper("k", "value"), -0.3);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "liquidation_ratio = 1.5",
            "liquidation_ratio = 0.9",
            &["cdps.maker.collateral.ETH.liquidation_ratio", "below 1"],
        ),
        (
            "stablecoin = \"DAI\"",
            "stablecoin = \"DAX\"",
            &["cdps.maker.stablecoin", "unknown asset"],
        ),
        ("cusp = 0.1", "cusp = 1.0", &["cdps.maker.dutch.cusp"]),
        (
            "tau_hours = 1.0,",
            "step_hours = 1.0, tau_hours = 1.0,",
            &["cdps.maker.dutch.step_hours", "linear"],
        ),
        (
            "oracle = { kind = \"direct\" }",
            "oracle = { kind = \"twap\", window_hours = 1.0 }",
            &["cdps.maker.oracle.window_hours"],
        ),
        (
            "oracle = { kind = \"direct\" }",
            "oracle = { kind = \"push\" }",
            &["cdps.maker.oracle.kind", "delayed"],
        ),
        (
            "units = 10.0",
            "units = -1.0",
            &["cdps.maker.vaults[0].units"],
        ),
        (
            "debt = 1000.0",
            "debt = 1000.0\n\n[[cdps.vaults]]\ncollateral = \"USDC\"\nunits = 1.0\ndebt = 0.0",
            &["cdps.maker.vaults[1].collateral", "not a vault type"],
        ),
        (
            "penalty = 0.13",
            "penalty = 0.13\ndust = 2000.0",
            &["cdps.maker.vaults[0].debt", "dust"],
        ),
        (
            "penalty = 0.13",
            "penalty = 0.13\ndebt_ceiling = 999.0",
            &[
                "cdps.maker.collateral.ETH.debt_ceiling",
                "above the ceiling",
            ],
        ),
        (
            "capital_usd = 1000000.0",
            "capital_usd = 1000000.0\ninclusion = 1.5",
            &["cdps.maker.keepers.k.inclusion"],
        ),
        (
            "auction = \"dutch\"",
            "auction = \"english\"",
            &["cdps.maker.dutch", "english"],
        ),
    ];
    for (from, to, needles) in cases {
        assert_eq!(base.matches(from).count(), 1, "{from}");
        assert_rejected(&base.replacen(from, to, 1), needles);
    }
}

/// A cascade inside one step through the shared pool: the CDP's oracle
/// reads ETH's pool, which is thin (122 ETH once arbitraged to 100). At
/// step 1 ETH falls to 100: vault 0 (10 ETH owing 700; 1,000/1.5 < 700) is
/// barked, vault 1 (10 ETH owing 600) is safe above 90. The auction starts
/// at 80 (buf 0.8), so the keeper takes at once: 791 (the tab) buys 9.9
/// ETH, whose sale drops the pool to about 85.6. At the next round of the
/// same step the oracle shows vault 1 unsafe: it is barked in step 1 too.
/// Rounds must go on while the CDP alone executes something.
#[test]
fn a_cdp_cascades_within_a_step_through_the_pool_its_oracle_reads() {
    let text = one_vault(
        r#"auction = "dutch"
dutch = { buf = 0.8, curve = "linear", tau_hours = 100.0, tail_hours = 100.0, cusp = 0.1 }"#,
        &keeper("k", "value"),
        -1.0 / 3.0,
    )
    .replace(
        r#"oracle = { kind = "direct" }"#,
        r#"oracle = { kind = "direct", source = "pool" }"#,
    )
    .replace("base_reserve = 1000000000.0", "base_reserve = 100.0")
    .replace(
        "units = 10.0\ndebt = 1000.0",
        "units = 10.0\ndebt = 700.0\n\n[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 10.0\ndebt = 600.0",
    );
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    let start_of = |v: u32| a.start_step[a.vault.iter().position(|&x| x == v).unwrap()];
    assert_eq!(a.vault.len(), 2, "{:?}", a.vault);
    assert_eq!((start_of(0), start_of(1)), (1, 1));
}
