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
pub(crate) fn one_vault(auction: &str, keepers: &str, ret: f64) -> String {
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

pub(crate) const DUTCH: &str = r#"auction = "dutch"
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
pub(crate) fn run(text: &str) -> (PathRecord, Vec<(f64, f64)>, Vec<String>) {
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
    assert!(near(o.raised, 900.0, 1e-9) && near(o.shortfall, 100.0, 1e-9));
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
    // The vault holds 10 ETH at 150, nothing while its lot is on auction,
    // and what came back, at the oracle's 140.
    let c = &rec.cdp;
    assert_eq!(c.collateral_value[at(&rec, 0)], 1500.0);
    assert_eq!(c.collateral_value[at(&rec, 1)], 0.0);
    let back = (10.0 - 1130.0 / 126.0) * 140.0;
    assert!(near(c.collateral_value[at(&rec, 2)], back, 1e-9));
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
pub(crate) fn crash(auction: &str) -> String {
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

pub(crate) const CRASH_DUTCH: &str = r#"auction = "dutch"
dutch = { buf = 1.2, curve = "stairstep", step_hours = 0.5, cut = 0.9, tail_hours = 4.0, cusp = 0.3 }"#;

/// Every step of every path, under both designs: the stablecoin in
/// circulation (a running sum of fees, cancellations and debt auctions)
/// equals the vaults' debt plus the confiscated debt not yet cancelled;
/// and from the recorded rows alone, the system's net position (surplus −
/// unbacked − vault debt) moves each step
/// by exactly what the auctions raised plus what debt auctions brought in
/// (tokens minted × their price): fees, barks and cancellations move it
/// by nothing. The third case adds a peg stability module without tolls,
/// which answers the keepers' purchases of DAI: its gem is in the supply,
/// and it moves the net position by nothing either.
#[test]
fn supply_surplus_and_debt_reconcile_every_step() {
    let with_psm = format!("{ENGLISH}\npsm = {{ gem = \"USDC\", reserve = 1000000.0 }}");
    let with_owners = format!(
        "{CRASH_DUTCH}\nowners = {{ share = 0.5, repay_below = 1.2, repay_to = 1.5, inclusion = 0.5 }}"
    );
    let mut repaid_total = 0.0;
    for auction in [
        ENGLISH,
        CRASH_DUTCH,
        with_psm.as_str(),
        with_owners.as_str(),
    ] {
        let mut psm_traded = 0.0;
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
                // Owners' repayments lower the debt: the net rises by them.
                let repaid = c.repaid[r];
                repaid_total += repaid;
                assert!(
                    (moved - c.raised[r] - brought - repaid).abs() < 1e-6 * c.debt[0],
                    "path {p} step {}: net moved {moved}, raised {}, debt auctions {brought}",
                    c.step[r],
                    c.raised[r]
                );
            }
            // At the end the accessor agrees with the recorded stocks
            // (kept as running sums per type, not by the vault scan).
            let check = w.cdps.supply_check();
            let last = c.step.len() - 1;
            assert_eq!(check.len(), 1);
            assert!(near(check[0].0, c.supply[last], 1e-12));
            let stocks = c.debt[last] + c.unbacked[last] + c.psm_gem[last];
            assert!(near(check[0].1, stocks, 1e-9));
            psm_traded += c.psm_flow.iter().map(|f| f.abs()).sum::<f64>();
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
        assert_eq!(psm_traded > 0.0, auction.contains("psm"), "{auction}");
    }
    assert!(repaid_total > 0.0, "the owners repaid");
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
            "curve = \"linear\", tau_hours = 1.0,",
            "curve = \"stairstep\", cut = 0.0,",
            &["cdps.maker.dutch.cut", "(0, 1)"],
        ),
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
            "auction = \"english\"\nenglish = { ttl_hours = 0.0 }",
            &["cdps.maker.english.ttl_hours"],
        ),
        (
            // The design not in use is validated too.
            DUTCH,
            "auction = \"english\"\ndutch = { cusp = 1.0 }",
            &["cdps.maker.dutch.cusp", "[0, 1)"],
        ),
    ];
    for (from, to, needles) in cases {
        assert_eq!(base.matches(from).count(), 1, "{from}");
        assert_rejected(&base.replacen(from, to, 1), needles);
    }
}

/// Both designs' tables may be given; `auction` picks the one in use, and
/// the other changes nothing (a sweep over `auction` compares the two on
/// one market).
#[test]
fn auction_picks_the_design_when_both_tables_are_given() {
    let tables = "english = { beg = 0.05, ttl_hours = 0.5, tau_hours = 2.0 }\n\
                  dutch = { buf = 1.2, curve = \"linear\", tau_hours = 1.0, tail_hours = 1.0, cusp = 0.1 }";
    let keepers = keeper("k", "value");
    for (design, alone) in [("dutch", DUTCH), ("english", ENGLISH)] {
        let both = format!("auction = \"{design}\"\n{tables}");
        let (a, _, _) = run(&one_vault(&both, &keepers, -1.0 / 3.0));
        let (b, _, _) = run(&one_vault(alone, &keepers, -1.0 / 3.0));
        assert_eq!(a.auctions.raised, b.auctions.raised, "{design}");
        assert_eq!(a.auctions.step, b.auctions.step, "{design}");
        assert_eq!(a.auctions.bids, b.auctions.bids, "{design}");
    }
    // The designs differ on this book, so the check above can fail.
    let (d, _, _) = run(&one_vault(DUTCH, &keepers, -1.0 / 3.0));
    let (e, _, _) = run(&one_vault(ENGLISH, &keepers, -1.0 / 3.0));
    assert_ne!(d.auctions.raised, e.auctions.raised);
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

/// Path 0 of `text` run by a world kept for inspection: `check` gets the
/// record and the world after the last step.
fn inspect(text: &str, check: impl FnOnce(&PathRecord, &World)) {
    let sc = scenario(text, &Overrides::default());
    let mut w = World::new(&sc);
    let rec = w.run_path(0).unwrap();
    check(&rec, &w);
}

/// Row of `rec.cdp` at step `t`.
fn at(rec: &PathRecord, t: u32) -> usize {
    rec.cdp.step.iter().position(|&s| s == t).unwrap()
}

/// jug.sol by hand: a 50% annual fee over eight steps of 1,095 hours (one
/// year) takes a debt of 500 to 750 and the 250 to the surplus; half-way
/// the debt is 500·√1.5.
#[test]
fn the_stability_fee_compounds_the_debt_into_the_surplus() {
    let text = one_vault(DUTCH, &keeper("k", "value"), 0.0)
        .replace("dt_hours = 0.25", "dt_hours = 1095.0")
        .replace("penalty = 0.13", "penalty = 0.13\nstability_fee = 0.5")
        .replace("debt = 1000.0", "debt = 500.0");
    let (rec, buffer, _) = run(&text);
    let c = &rec.cdp;
    assert!(
        near(c.debt[at(&rec, 8)], 750.0, 1e-12),
        "{}",
        c.debt[at(&rec, 8)]
    );
    assert!(near(c.debt[at(&rec, 4)], 500.0 * 1.5f64.sqrt(), 1e-12));
    assert!(near(c.surplus[at(&rec, 8)], 250.0, 1e-9));
    assert!(near(c.supply[at(&rec, 8)], 750.0, 1e-12));
    assert_eq!(buffer[0].1, 0.0);
    assert!(rec.auctions.step.is_empty());
}

/// vow.sol by hand, on the Dutch case above (1,000 confiscated at step 1,
/// 900 raised at step 2): with a wait of 0.5 h the debt queued at 0.25 h
/// leaves the queue at 0.75 h (step 3), not before; then the 900 of
/// surplus cancels 900, and debt auctions of 30 cancel three lots of the
/// 100 left, minting 3 × 30 × 1/1,000 tokens; 10 stays short.
#[test]
fn confiscated_debt_waits_then_surplus_and_debt_auctions_cancel_it() {
    let auction = format!("{DUTCH}\nwait_hours = 0.5\ndebt_auction_lot = 30.0");
    let (rec, _, _) = run(&one_vault(&auction, &keeper("k", "value"), -1.0 / 3.0));
    let c = &rec.cdp;
    let s2 = at(&rec, 2);
    assert!(near(c.surplus[s2], 900.0, 1e-9) && near(c.unbacked[s2], 1000.0, 1e-12));
    assert!(near(c.deficit[s2], 100.0, 1e-9));
    assert_eq!(c.gov_minted[s2], 0.0);
    let s3 = at(&rec, 3);
    assert!(c.surplus[s3].abs() < 1e-9, "{}", c.surplus[s3]);
    assert!(near(c.unbacked[s3], 10.0, 1e-9) && near(c.deficit[s3], 10.0, 1e-9));
    assert!(near(c.gov_minted[s3], 0.09, 1e-12));
    assert!(near(c.supply[s3], 10.0, 1e-9));
    let o = rec.summary.cdps[0];
    assert_eq!(o.debt_auctions, 3);
    assert!(near(o.deficit, 10.0, 1e-9));
}

/// The keeper buys the 900 DAI of its take in a DAI/USDC pool of 10,000
/// DAI (fee 0): it pays 10,000·900/9,100 USD, the pool's DAI ends the
/// step at 10,989/9,100 USD, and gas of 5 comes out of its USD. The same
/// in USD when USDC is worth 2 (both pools then quote half as many
/// USDC). A pool of 1,000 DAI cannot supply more than half its reserve:
/// with DAI at 0.1 USD every take would pay, but not 1,130 at 120 (step
/// 1), 900 at 90 or 600 at 60, only 300 at 30 (step 4).
#[test]
fn keepers_buy_the_stablecoin_in_its_venue_and_pay_gas() {
    let with_pool = |dai: &str, usdc: &str| {
        one_vault(DUTCH, &keeper("k", "value"), -1.0 / 3.0)
            .replace(
                "[[shocks]]",
                &format!("[[pools]]\nbase = \"DAI\"\nquote = \"USDC\"\nbase_reserve = {dai}\nfee = 0.0\n\n[[shocks]]"),
            )
            .replace(
                "[[assets]]\nsymbol = \"ETH\"",
                "[network]\ngas_usd = 5.0\n\n[[assets]]\nsymbol = \"ETH\"",
            )
            .replace("symbol = \"USDC\"\nprice = 1.0", &format!("symbol = \"USDC\"\nprice = {usdc}"))
    };
    for usdc in ["1.0", "2.0"] {
        inspect(&with_pool("10000.0", usdc), |rec, w| {
            let cost = 10_000.0 * 900.0 / 9_100.0;
            let (usd, stable) = w.cdps.keeper_balances(0)[0];
            assert!(
                (usd - (1e6 - cost + 1000.0 - 5.0)).abs() < 1e-3,
                "USDC at {usdc}: {usd}"
            );
            assert_eq!(stable, 0.0);
            let p = rec.cdp.stablecoin_price[at(rec, 2)];
            assert!(near(p, (10_000.0 + cost) / 9_100.0, 1e-9), "{p}");
            assert!(near(rec.auctions.raised[0], 900.0, 1e-9));
        });
    }
    let cheap_dai = with_pool("1000.0", "1.0").replace(
        "symbol = \"DAI\"\nprice = 1.0",
        "symbol = \"DAI\"\nprice = 0.1",
    );
    let (rec, _, _) = run(&cheap_dai);
    assert_eq!((rec.auctions.step[0], rec.auctions.bids[0]), (4, 1));
    assert!(near(rec.auctions.raised[0], 300.0, 1e-9));
}

/// A keeper pays from its stablecoin balance before it buys: "a" (wanting
/// 100 of profit) bids 900 on each of two identical lots and "b" outbids
/// it each time. "a" buys 900 DAI for the first bid, gets them back, bids
/// them again on the second lot, and gets them back again: it ends with
/// 900 DAI for 900 USD spent.
#[test]
fn a_keeper_bids_its_refunded_stablecoin_before_buying_more() {
    let keepers = "[[cdps.keepers]]\nname = \"a\"\ncapital_usd = 1000000.0\nmin_profit_usd = 100.0\n\n\
                   [[cdps.keepers]]\nname = \"b\"\ncapital_usd = 1000000.0\n";
    let text = one_vault(ENGLISH, keepers, -1.0 / 3.0).replace(
        "units = 10.0\ndebt = 1000.0",
        "units = 10.0\ndebt = 1000.0\n\n[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 10.0\ndebt = 1000.0",
    );
    inspect(&text, |rec, w| {
        assert_eq!(rec.auctions.bids, vec![2, 2]);
        let a = w.cdps.keeper_balances(0)[0];
        assert!(
            near(a.0, 1e6 - 900.0, 1e-10) && near(a.1, 900.0, 1e-7),
            "{a:?}"
        );
    });
}

/// A keeper with 450 USD and a dust of 700 (chost 791): at 90 it can pay
/// for 5 of the 10 units (450), but that would leave a tab of 680 < 791,
/// so it pays 1,130 − 791 = 339 for 339/90 units; at 60 (step 3) it takes
/// the 10 − 339/90 left (a whole lot may leave any tab): raised
/// 339 + 60·(10 − 339/90) = 713.
#[test]
fn a_keeper_takes_what_it_can_pay_and_leaves_no_tab_below_chost() {
    let poor = "[[cdps.keepers]]\nname = \"poor\"\ncapital_usd = 450.0\n";
    let text = one_vault(DUTCH, poor, -1.0 / 3.0)
        .replace("penalty = 0.13", "penalty = 0.13\ndust = 700.0");
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    assert_eq!((a.step[0], a.bids[0]), (3, 2));
    assert!(near(a.raised[0], 713.0, 1e-9), "{}", a.raised[0]);
    assert!(near(a.sold[0], 10.0, 1e-12) && near(a.shortfall[0], 287.0, 1e-9));
}

/// Limits on stablecoin in auctions (dog.sol `Hole` and `hole`) of one
/// tab: of two identical vaults only the first is barked at step 1; the
/// second waits until the first auction is over (a Dutch take at step 2;
/// an English deal at step 4), and is barked in that step.
#[test]
fn a_limit_on_stablecoin_in_auctions_holds_the_second_vault_back() {
    let two = |auction: &str, limit: (&str, &str)| {
        one_vault(auction, &keeper("k", "value"), -1.0 / 3.0)
            .replace(limit.0, limit.1)
            .replace(
                "units = 10.0\ndebt = 1000.0",
                "units = 10.0\ndebt = 1000.0\n\n[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 10.0\ndebt = 1000.0",
            )
    };
    let global = (
        "stablecoin = \"DAI\"",
        "stablecoin = \"DAI\"\nhole = 1130.0",
    );
    let per_type = ("penalty = 0.13", "penalty = 0.13\nhole = 1130.0");
    for (auction, second_start) in [(DUTCH, 2), (ENGLISH, 4)] {
        for limit in [global, per_type] {
            let (rec, _, _) = run(&two(auction, limit));
            let a = &rec.auctions;
            let start = |v: u32| a.start_step[a.vault.iter().position(|&x| x == v).unwrap()];
            assert_eq!((start(0), start(1)), (1, second_start), "{limit:?}");
            // Once the first is over the whole room is free again: the
            // second vault goes whole.
            assert!(a.tab.iter().all(|&t| near(t, 1130.0, 1e-12)), "{:?}", a.tab);
        }
        // Without a limit both go at once.
        let (rec, _, _) = run(&two(auction, ("", "")));
        assert_eq!(rec.auctions.start_step, vec![1, 1]);
    }
}

/// An outbid keeper gets its bid back as stablecoin: "a" wants 100 of
/// profit and bids 900 for the lot worth 1,000; "b" bids 1,000 (≥ 1.05 ×
/// 900) and wins. "a" bought 900 DAI at par and holds them at the end.
#[test]
fn an_outbid_keeper_gets_its_bid_back_as_stablecoin() {
    let keepers = "[[cdps.keepers]]\nname = \"a\"\ncapital_usd = 1000000.0\nmin_profit_usd = 100.0\n\n\
                   [[cdps.keepers]]\nname = \"b\"\ncapital_usd = 1000000.0\n";
    inspect(&one_vault(ENGLISH, keepers, -1.0 / 3.0), |rec, w| {
        let k = w.cdps.keeper_balances(0);
        // (900 less the pool's slippage on 10 ETH, about 1e-8 of it.)
        assert!(
            near(k[0].0, 1e6 - 900.0, 1e-10) && near(k[0].1, 900.0, 1e-7),
            "{k:?}"
        );
        assert!((k[1].0 - 1e6).abs() < 1e-3 && k[1].1 == 0.0, "{k:?}");
        assert!(near(rec.auctions.raised[0], 1000.0, 1e-6));
        assert_eq!(rec.auctions.bids[0], 2);
    });
}

/// What a CDP left to its defaults runs with (docs/model.md §17 and the
/// scenario reference): an OSM of one hour on the fundamental, no
/// surplus, no limits, no wait, debt auctions of 50,000 at 1,000 USD, a
/// 13% penalty, Dutch auctions from 1.2 × the oracle on a stairstep of
/// 0.99 per 90 s, reset after 2 h or below 40%; English ones with a 5%
/// raise, bids standing 3 h, auctions of 48 h; keepers that always land,
/// want no profit and bid value.
#[test]
fn cdp_defaults_are_the_documented_ones() {
    use contagion::mechanism::cdp::abaci::Curve;
    use contagion::mechanism::cdp::raw::KeeperStrategy;
    use contagion::mechanism::cdp::spec::Design;
    let bare = |auction: &str| {
        let text = one_vault(
            auction,
            "[[cdps.keepers]]\nname = \"k\"\ncapital_usd = 1.0\n",
            0.0,
        )
        .replace("oracle = { kind = \"direct\" }\n", "")
        .replace("penalty = 0.13\n", "");
        scenario(&text, &Overrides::default()).cdps[0].clone()
    };
    let c = bare("auction = \"dutch\"");
    assert_eq!((c.oracle.hop_hours, c.oracle.lag_steps), (Some(1.0), 0));
    assert_eq!((c.surplus, c.hole, c.wait_hours), (0.0, f64::INFINITY, 0.0));
    assert_eq!((c.sump, c.gov_price), (50_000.0, 1_000.0));
    let ilk = &c.ilks[0];
    assert_eq!(
        (ilk.chop, ilk.dust, ilk.line, ilk.hole),
        (1.13, 0.0, f64::INFINITY, f64::INFINITY)
    );
    assert_eq!(ilk.fee_per_hour, 1.0);
    let curve = Curve::Stairstep {
        step: 0.025,
        cut: 0.99,
    };
    assert_eq!(
        c.design,
        Design::Dutch {
            buf: 1.2,
            curve,
            tail: 2.0,
            cusp: 0.4
        }
    );
    let k = &c.keepers[0];
    assert_eq!(
        (k.inclusion, k.min_profit, k.strategy),
        (1.0, 0.0, KeeperStrategy::Value)
    );
    let e = bare("auction = \"english\"");
    assert_eq!(
        e.design,
        Design::English {
            beg: 0.05,
            ttl: 3.0,
            tau: 48.0
        }
    );
}

/// More refusals, and the edges that are allowed.
#[test]
fn cdp_settings_are_validated_at_their_edges() {
    let base = one_vault(DUTCH, &keeper("k", "value"), -0.3);
    let ok = |from: &str, to: &str| {
        assert_eq!(base.matches(from).count(), 1, "{from}");
        scenario(&base.replacen(from, to, 1), &Overrides::default());
    };
    ok("liquidation_ratio = 1.5", "liquidation_ratio = 1.0");
    ok("penalty = 0.13", "penalty = 1.0\nstability_fee = 10.0");
    ok("cusp = 0.1", "cusp = 0.0");
    ok("debt = 1000.0", "debt = 100.0");
    let no = |from: &str, to: &str, needles: &[&str]| {
        assert_eq!(base.matches(from).count(), 1, "{from}");
        assert_rejected(&base.replacen(from, to, 1), needles);
    };
    no(
        "penalty = 0.13",
        "penalty = 1.01",
        &["cdps.maker.collateral.ETH.penalty"],
    );
    no(
        "penalty = 0.13",
        "penalty = 0.13\nstability_fee = 10.5",
        &["collateral.ETH.stability_fee"],
    );
    no(
        "penalty = 0.13",
        "penalty = 0.13\nhole = 0.0",
        &["collateral.ETH.hole"],
    );
    no(
        "[cdps.collateral.ETH]",
        "[cdps.collateral.DAI]\nliquidation_ratio = 2.0\n\n[cdps.collateral.ETH]",
        &["cdps.maker.collateral.DAI", "own stablecoin"],
    );
    no(
        "oracle = { kind = \"direct\" }",
        "oracle = { kind = \"direct\", hop_hours = 1.0 }",
        &["cdps.maker.oracle.hop_hours", "delayed"],
    );
    no(
        "oracle = { kind = \"direct\" }",
        "oracle = { kind = \"delayed\", hop_hours = 0.0 }",
        &["cdps.maker.oracle.hop_hours"],
    );
    no(
        "tau_hours = 1.0,",
        "",
        &["cdps.maker.dutch.tau_hours", "required"],
    );
    no(
        "curve = \"linear\", tau_hours = 1.0,",
        "curve = \"stairstep\", tau_hours = 1.0,",
        &["cdps.maker.dutch.tau_hours", "linear"],
    );
    no(
        "curve = \"linear\", tau_hours = 1.0,",
        "curve = \"stairstep\", cut = 1.0,",
        &["cdps.maker.dutch.cut"],
    );
    no("buf = 1.2", "buf = 101.0", &["cdps.maker.dutch.buf"]);
    no(
        "name = \"k\"",
        "name = \"k\"\nmin_profit_usd = nan",
        &["cdps.maker.keepers.k.min_profit_usd"],
    );
    no(
        "[[cdps.keepers]]",
        "[[cdps.keepers]]\nname = \"K\"\ncapital_usd = 1.0\n\n[[cdps.keepers]]",
        &["cdps.maker.keepers.k", "twice"],
    );
    no(
        "[[cdps.vaults]]",
        "[[cdps.vault_populations]]\ncollateral = \"ETH\"\ncount = 0\nsize = { dist = \"fixed\", value = 1.0 }\nhealth = { dist = \"fixed\", value = 2.0 }\n\n[[cdps.vaults]]",
        &["cdps.maker.vault_populations[0].count"],
    );
    let twice = format!(
        "{base}\n[[cdps]]\nname = \"MAKER\"\nstablecoin = \"DAI\"\nauction = \"dutch\"\n\n\
         [cdps.collateral.ETH]\nliquidation_ratio = 2.0\n"
    );
    assert_rejected(&twice, &["cdps.MAKER", "twice"]);
}

/// The same cascade through the pool when an English auction is settled:
/// vault 0 is bid for its whole tab at step 1 and dealt at step 4, when
/// the winner sells its 10 ETH into the thin pool (back at 100 after the
/// step's arbitrage) and drops it to about 85.5. Vault 1 (safe above 90)
/// is barked in the next round of step 4; a step later arbitrage would
/// have lifted the pool back and it would never be.
#[test]
fn an_english_settlement_cascades_within_its_step() {
    let text = one_vault(ENGLISH, &keeper("k", "value"), -1.0 / 3.0)
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
    let row = |v: u32| a.vault.iter().position(|&x| x == v).unwrap();
    assert_eq!((a.start_step[row(0)], a.step[row(0)]), (1, 4));
    assert_eq!(a.start_step[row(1)], 4);
}

/// With no keeper landing, the auction is still running at the end: its
/// row says so, with nothing raised or sold (no price), no zero bid (it
/// did not finish) and the whole debt short so far.
#[test]
fn an_auction_nobody_bids_on_is_written_unfinished() {
    let idle = "[[cdps.keepers]]\nname = \"idle\"\ncapital_usd = 1000.0\ninclusion = 0.0\n";
    for auction in [DUTCH, ENGLISH] {
        let (rec, _, names) = run(&one_vault(auction, idle, -1.0 / 3.0));
        let a = &rec.auctions;
        assert_eq!((a.step.clone(), a.finished.clone()), (vec![8], vec![false]));
        assert_eq!((a.price_to_oracle[0], a.zero_bid[0]), (None, false));
        assert_eq!((a.raised[0], a.sold[0]), (0.0, 0.0));
        assert!(near(a.shortfall[0], 1000.0, 1e-12));
        assert_eq!(winners(&rec, &names), [""]);
        assert_eq!(rec.summary.cdps[0].finished, 0);
    }
}

/// A stablecoin worth 1.1 USD (at its fundamental, without a venue): the
/// lot's 1,000 USD are worth 1,000/1.1 of it, which is what the value
/// keeper bids, paying 1,000 USD for them.
#[test]
fn keepers_value_lots_in_the_stablecoin_at_its_price() {
    let text = one_vault(ENGLISH, &keeper("v", "value"), -1.0 / 3.0).replace(
        "symbol = \"DAI\"\nprice = 1.0",
        "symbol = \"DAI\"\nprice = 1.1",
    );
    inspect(&text, |rec, w| {
        assert!(
            near(rec.auctions.raised[0], 1000.0 / 1.1, 1e-6),
            "{}",
            rec.auctions.raised[0]
        );
        let (usd, _) = w.cdps.keeper_balances(0)[0];
        assert!(
            (usd - 1e6).abs() < 1e-3,
            "paid 1,000 for the DAI, sold the lot for 1,000: {usd}"
        );
        assert!(near(rec.cdp.stablecoin_price[0], 1.1, 1e-12));
    });
}

/// What a keeper wins is worth its sale in USD: in a pool quoted in a
/// token worth 2 USD (ETH at 50 of it), or at its fundamental without a
/// pool. Either way the Dutch lot goes at 90 for 900 and the keeper ends
/// 100 USD up (the pool's slippage on 10 ETH is below a millionth).
#[test]
fn a_keeper_sells_what_it_wins_for_usd_whatever_the_venue() {
    let base = one_vault(DUTCH, &keeper("k", "value"), -1.0 / 3.0);
    let quoted_at_2 = base.replace(
        "symbol = \"USDC\"\nprice = 1.0",
        "symbol = \"USDC\"\nprice = 2.0",
    );
    let no_pool = base.replace(
        "[[pools]]\nbase = \"ETH\"\nquote = \"USDC\"\nbase_reserve = 1000000000.0\nfee = 0.0\n",
        "",
    );
    for text in [quoted_at_2, no_pool] {
        assert_ne!(text, base);
        inspect(&text, |rec, w| {
            assert!(near(rec.auctions.raised[0], 900.0, 1e-9));
            let (usd, _) = w.cdps.keeper_balances(0)[0];
            assert!((usd - (1e6 + 100.0)).abs() < 1e-3, "{usd}");
        });
    }
}

/// English auctions nobody bids on restart and hold up no other: gas of
/// 200 makes vault 0's lot (1 ETH, 100) worth nothing to the keeper, so its
/// auction, started at 0.25 h with an end at 2.25 h, is restarted at step
/// 10 (2.5 h, end 4.5 h) and step 19 (4.75 h), and is still running at the
/// end; vault 1's (10 ETH) gets a bid of 1,000 − 200 at step 1 and is
/// settled at step 4, behind it in the list.
#[test]
fn unbid_english_auctions_restart_and_hold_up_no_other() {
    let text = one_vault(ENGLISH, &keeper("k", "value"), -1.0 / 3.0)
        .replace("steps = 8", "steps = 20")
        .replace(
            "[[assets]]\nsymbol = \"ETH\"",
            "[network]\ngas_usd = 200.0\n\n[[assets]]\nsymbol = \"ETH\"",
        )
        .replace(
            "units = 10.0\ndebt = 1000.0",
            "units = 1.0\ndebt = 100.0\n\n[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 10.0\ndebt = 1000.0",
        );
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    let row = |v: u32| a.vault.iter().position(|&x| x == v).unwrap();
    let (r0, r1) = (row(0), row(1));
    assert_eq!(
        (a.auction[r0], a.auction[r1]),
        (0, 1),
        "vault 0's auction is first"
    );
    assert_eq!((a.finished[r0], a.resets[r0], a.bids[r0]), (false, 2, 0));
    assert_eq!((a.finished[r1], a.step[r1]), (true, 4));
    assert!(near(a.raised[r1], 800.0, 1e-6), "{}", a.raised[r1]);
    let c = &rec.cdp;
    assert_eq!((c.settled[at(&rec, 4)], c.settled[at(&rec, 5)]), (1, 0));
}

/// An English bid needs the USD to buy it and pay gas: with gas 5 the
/// value keeper bids 995 for the 1,000 lot and needs 1,000 USD; with 999 it
/// cannot bid, with 1,001 it can.
#[test]
fn an_english_bid_needs_the_usd_for_the_bid_and_its_gas() {
    for (capital, bids) in [("999.0", 0), ("1001.0", 1)] {
        let keeper = format!("[[cdps.keepers]]\nname = \"v\"\ncapital_usd = {capital}\n");
        let text = one_vault(ENGLISH, &keeper, -1.0 / 3.0).replace(
            "[[assets]]\nsymbol = \"ETH\"",
            "[network]\ngas_usd = 5.0\n\n[[assets]]\nsymbol = \"ETH\"",
        );
        let (rec, _, _) = run(&text);
        assert_eq!(rec.auctions.bids[0], bids, "capital {capital}");
        if bids == 1 {
            assert!(near(rec.auctions.raised[0], 995.0, 1e-6));
        }
    }
}

/// Unsafe vaults are barked lowest collateral ratio first, ties by vault:
/// at 100, vault 2 (10 ETH owing 1,000: ratio 1.0) then vault 0 (20 owing
/// 1,999: 1.0005) then vault 1 (2 owing 199: 1.005); a fourth, vault 3,
/// ties with vault 2 and comes after it. Auctions are numbered in that
/// order.
#[test]
fn unsafe_vaults_are_barked_lowest_collateral_ratio_first() {
    let vault = |units: f64, debt: f64| {
        format!("[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = {units:?}\ndebt = {debt:?}\n")
    };
    let vaults = [
        vault(20.0, 1999.0),
        vault(2.0, 199.0),
        vault(10.0, 1000.0),
        vault(10.0, 1000.0),
    ]
    .join("\n");
    let text = one_vault(DUTCH, "", -1.0 / 3.0).replace(
        "[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 10.0\ndebt = 1000.0\n",
        &vaults,
    );
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    let id_of = |v: u32| a.auction[a.vault.iter().position(|&x| x == v).unwrap()];
    assert_eq!([id_of(2), id_of(3), id_of(0), id_of(1)], [0, 1, 2, 3]);
}

/// USDC loses 13% at step 1. DAI's pool against USDC (1,000,000 each, no
/// fee) is arbitraged towards DAI's fundamental of 1 USD, 1.149 USDC, but
/// only 1,000 USD (1,149.4 USDC) a step; the PSM (no tolls) then mints DAI
/// for USDC and sells it into the pool until a DAI fetches one USDC at
/// the margin: with no fee that is back at 1,000,000 each. So every step
/// from 1 on the module takes in `g = 10⁶ − 10¹²/(10⁶ + c)` USDC, DAI is
/// worth exactly 0.87 USD, and what the coins minted against the USDC lack
/// of par is 13% of it.
const PSM: &str = r#"
[simulation]
name = "psm"
steps = 6
dt_hours = 1.0
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
base = "DAI"
quote = "USDC"
base_reserve = 1000000.0
fee = 0.0
arbitrage_usd = 1000.0

[[shocks]]
step = 1
asset = "USDC"
return = -0.13

[[cdps]]
name = "maker"
stablecoin = "DAI"
auction = "dutch"
oracle = { kind = "direct" }
psm = { gem = "USDC", reserve = 100000.0 }

[cdps.collateral.ETH]
liquidation_ratio = 1.5

[[cdps.vaults]]
collateral = "ETH"
units = 10.0
debt = 500.0
"#;

#[test]
fn an_impaired_gem_takes_the_coin_with_it_through_the_psm() {
    let sc = scenario(PSM, &Overrides::default());
    let mut w = World::new(&sc);
    let rec = w.run_path(0).unwrap();
    let c = 1000.0 / 0.87;
    let g = 1e6 - 1e12 / (1e6 + c);
    let r = &rec.cdp;
    for (k, &t) in r.step.iter().enumerate() {
        let want = 100_000.0 + f64::from(t) * g;
        assert!(
            near(r.psm_gem[k], want, 1e-9),
            "step {t}: {} vs {want}",
            r.psm_gem[k]
        );
        let flow = if t == 0 { 0.0 } else { g };
        assert!(
            near(r.psm_flow[k], flow, 1e-6),
            "step {t}: flow {}",
            r.psm_flow[k]
        );
        let dai = if t == 0 { 1.0 } else { 0.87 };
        assert!(
            near(r.stablecoin_price[k], dai, 1e-9),
            "step {t}: DAI {}",
            r.stablecoin_price[k]
        );
        // The supply is the vault's debt and the module's gem.
        assert!(near(r.supply[k], 500.0 + want, 1e-9));
    }
    let (supply, stocks) = w.cdps.supply_check()[0];
    assert!(near(supply, stocks, 1e-12));
    let o = rec.summary.cdps[0];
    assert!(near(o.psm_gem, 100_000.0 + 6.0 * g, 1e-9));
    assert!(near(o.psm_impairment, 0.13 * o.psm_gem, 1e-9));

    // Without the module, DAI keeps its pool's price, which arbitrage
    // pulls up towards 1 USD.
    let bare = PSM.replace("psm = { gem = \"USDC\", reserve = 100000.0 }\n", "");
    let sc = scenario(&bare, &Overrides::default());
    let rec = World::new(&sc).run_path(0).unwrap();
    let last = *rec.cdp.stablecoin_price.last().unwrap();
    assert!(last > 0.875, "DAI at {last} without the module");
    assert_eq!(rec.summary.cdps[0].psm_gem, 0.0);
}

/// Tolls: with tin = 1% the module's gem is what the coins sold cost, and
/// the tolls go to the surplus; the supply counts them once.
#[test]
fn psm_tolls_go_to_the_surplus() {
    let text = PSM.replace(
        "psm = { gem = \"USDC\", reserve = 100000.0 }",
        "psm = { gem = \"USDC\", reserve = 100000.0, tin = 0.01 }",
    );
    let sc = scenario(&text, &Overrides::default());
    let mut w = World::new(&sc);
    let rec = w.run_path(0).unwrap();
    let r = &rec.cdp;
    let minted = r.psm_gem.last().unwrap() - 100_000.0;
    assert!(minted > 0.0);
    assert!(near(*r.surplus.last().unwrap(), 0.01 * minted, 1e-9));
    // DAI now sits where a coin sold fetches 1/0.99 USDC: above 0.87 USD.
    assert!(near(*r.stablecoin_price.last().unwrap(), 0.87 / 0.99, 1e-9));
    let (supply, stocks) = w.cdps.supply_check()[0];
    assert!(near(supply, stocks, 1e-12));
    assert!(near(supply, 500.0 + r.psm_gem.last().unwrap(), 1e-12));
}

/// A module's settings are checked and named.
#[test]
fn psm_settings_are_validated() {
    let line = "psm = { gem = \"USDC\", reserve = 100000.0 }";
    let cases: &[(&str, &[&str])] = &[
        (
            "psm = { gem = \"DAI\" }",
            &["cdps.maker.psm.gem", "own stablecoin"],
        ),
        (
            "psm = { gem = \"ETH\" }",
            &["cdps.maker.psm.gem", "main venue"],
        ),
        (
            "psm = { gem = \"USDC\", tin = 1.0 }",
            &["cdps.maker.psm.tin", "below 1"],
        ),
        (
            "psm = { gem = \"USDC\", tout = -0.1 }",
            &["cdps.maker.psm.tout"],
        ),
        (
            "psm = { gem = \"USDC\", reserve = 10.0, debt_ceiling = 5.0 }",
            &["cdps.maker.psm.reserve", "above the debt ceiling"],
        ),
        (
            "psm = { gem = \"USDX\" }",
            &["cdps.maker.psm.gem", "unknown asset"],
        ),
    ];
    for (to, needles) in cases {
        assert_rejected(&PSM.replace(line, to), needles);
    }
    // The stablecoin's pool the other way round is refused too.
    let flipped = PSM.replace(
        "base = \"DAI\"\nquote = \"USDC\"",
        "base = \"USDC\"\nquote = \"DAI\"",
    );
    assert_rejected(&flipped, &["cdps.maker.psm.gem", "main venue"]);
    // The gem as a vault type's collateral as well.
    let both = PSM.replace(
        "[cdps.collateral.ETH]",
        "[cdps.collateral.USDC]\nliquidation_ratio = 1.0\n\n[cdps.collateral.ETH]",
    );
    assert_rejected(&both, &["cdps.maker.psm.gem", "vault type"]);
}

/// Owners who repay, by hand: ETH falls to 135 at step 1, so the vault (10
/// ETH owing 1,000 under a 1.5 ratio) is at 1,350 < 1.1 × 1.5 × 1,000. Its
/// owner repays down to 1,350 / (1.5 × 1.4) = 642.86 at stage 3, before
/// the cascade, whose oracle then finds it safe (900 of room > 642.86):
/// no auction. Without a landing (inclusion 0), or with no owner who acts
/// (share 0), the vault is barked as before; with dust above 642.86 the
/// whole debt is repaid.
#[test]
fn owners_repay_before_the_cascade_reads_their_vaults() {
    let with = |owners: &str| {
        one_vault(
            &format!("{DUTCH}\nowners = {owners}"),
            &keeper("k", "value"),
            -0.1,
        )
    };
    let (rec, _, _) = run(&with("{ repay_below = 1.1, repay_to = 1.4 }"));
    let keep = 1350.0 / (1.5 * 1.4);
    assert!(rec.auctions.step.is_empty(), "no auction");
    let c = &rec.cdp;
    let at1 = c.step.iter().position(|&t| t == 1).unwrap();
    assert!(
        near(c.repaid[at1], 1000.0 - keep, 1e-12),
        "{}",
        c.repaid[at1]
    );
    assert!(near(c.debt[at1], keep, 1e-12));
    assert!(near(c.supply[at1], keep, 1e-12));
    assert_eq!(c.repaid.iter().filter(|&&r| r > 0.0).count(), 1, "once");
    assert!(near(rec.summary.cdps[0].repaid, 1000.0 - keep, 1e-12));

    for off in [
        "{ repay_below = 1.1, repay_to = 1.4, inclusion = 0.0 }",
        "{ repay_below = 1.1, repay_to = 1.4, share = 0.0 }",
    ] {
        let (rec, _, _) = run(&with(off));
        assert_eq!(rec.auctions.step.len(), 1, "{off}");
        assert_eq!(rec.summary.cdps[0].repaid, 0.0, "{off}");
    }
    // The trigger: with ETH up 10% the vault is at 1,650, above 1.05 ×
    // 1.5 × 1,000 = 1,575 (nothing) and below 1.15 × ... = 1,725 (repays
    // to 1,650 / (1.5 × 1.4) = 785.71).
    for (below, repaid) in [(1.05, 0.0), (1.15, 1000.0 - 1650.0 / 2.1)] {
        let (rec, _, _) = run(&one_vault(
            &format!("{DUTCH}\nowners = {{ repay_below = {below}, repay_to = 1.4 }}"),
            &keeper("k", "value"),
            0.1,
        ));
        assert!(near(rec.summary.cdps[0].repaid, repaid, 1e-12), "{below}");
    }

    // Under a stability fee the debt owed is art × the rate index: with
    // 1,000% a year, 11^(0.25/8760) by step 1.
    let (rec, _, _) = run(&with("{ repay_below = 1.1, repay_to = 1.4 }")
        .replace("penalty = 0.13", "penalty = 0.13\nstability_fee = 10.0"));
    let owed = 1000.0 * 11f64.powf(0.25 / 8760.0);
    assert!(near(rec.summary.cdps[0].repaid, owed - keep, 1e-12));

    // Owners buy in the stablecoin's pool, at most half its reserve: with
    // 700 DAI in it, 357.14 is too much (the vault is barked); with 800
    // the purchase leaves 442.86 DAI and DAI at 800² / 442.86² USD.
    for (reserve, repays) in [(700.0, false), (800.0, true)] {
        let pool = format!(
            "[[pools]]\nbase = \"DAI\"\nquote = \"USDC\"\nbase_reserve = {reserve}\nfee = 0.0\n\n[[shocks]]"
        );
        let text = with("{ repay_below = 1.1, repay_to = 1.4 }").replacen("[[shocks]]", &pool, 1);
        let (rec, _, _) = run(&text);
        assert_eq!(rec.auctions.step.is_empty(), repays, "{reserve}");
        if repays {
            let left = reserve - (1000.0 - keep);
            let want = reserve * reserve / (left * left);
            let dai = rec.cdp.stablecoin_price[at1];
            assert!(near(dai, want, 1e-9), "DAI at {dai}, want {want}");
        } else {
            assert_eq!(rec.summary.cdps[0].repaid, 0.0);
        }
    }

    // Dust above what would be left: the whole debt goes.
    let (rec, _, _) = run(&with("{ repay_below = 1.1, repay_to = 1.4 }")
        .replace("penalty = 0.13", "penalty = 0.13\ndust = 700.0"));
    assert!(near(rec.summary.cdps[0].repaid, 1000.0, 1e-12));
    assert_eq!(rec.cdp.debt[at1], 0.0);
}

/// Owners' settings are checked and named.
#[test]
fn owners_settings_are_validated() {
    let text = |owners: &str| one_vault(&format!("{DUTCH}\nowners = {owners}"), "", -0.1);
    let cases: &[(&str, &[&str])] = &[
        (
            "{ repay_below = 1.0, repay_to = 1.4 }",
            &["cdps.maker.owners.repay_below", "above 1"],
        ),
        (
            "{ repay_below = 1.2, repay_to = 1.2 }",
            &["cdps.maker.owners.repay_to", "above repay_below"],
        ),
        (
            "{ repay_below = 1.2, repay_to = 101.0 }",
            &["cdps.maker.owners.repay_to", "at most 100"],
        ),
        (
            "{ repay_below = 1.2, repay_to = 1.5, share = 1.5 }",
            &["cdps.maker.owners.share"],
        ),
        (
            "{ repay_below = 1.2, repay_to = 1.5, inclusion = -0.1 }",
            &["cdps.maker.owners.inclusion"],
        ),
        ("{ repay_below = 1.2 }", &["repay_to"]),
    ];
    for (owners, needles) in cases {
        assert_rejected(&text(owners), needles);
    }
}

/// Owners buy the stablecoin in its pool: in the crash, with owners who
/// act the DAI pool's price ends above where it ends without them, and
/// the price paths (ETH's fundamental) are the same: the owners draw from
/// a stream of their own.
#[test]
fn owners_buying_lifts_the_stablecoin_and_leaves_the_paths_alone() {
    let owners = "\nowners = { repay_below = 1.3, repay_to = 1.6 }";
    let with = scenario(
        &crash(&format!("{CRASH_DUTCH}{owners}")),
        &Overrides::default(),
    );
    let without = scenario(&crash(CRASH_DUTCH), &Overrides::default());
    let (a, b) = (
        World::new(&with).run_path(0).unwrap(),
        World::new(&without).run_path(0).unwrap(),
    );
    let peak = |r: &PathRecord| r.cdp.stablecoin_price.iter().cloned().fold(0.0, f64::max);
    assert!(a.summary.cdps[0].repaid > 0.0);
    assert!(peak(&a) > peak(&b), "{} vs {}", peak(&a), peak(&b));
    assert_eq!(a.market.fundamental, b.market.fundamental);
    // Fewer vaults reach auction when their owners repay.
    assert!(a.summary.cdps[0].auctions < b.summary.cdps[0].auctions);
}

/// The bytes a run reports writing are its Parquet files' sizes, the
/// per-path tables (here `path_cdps`) included.
#[test]
fn a_run_reports_the_bytes_of_its_parquet_files() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&crash(CRASH_DUTCH), &Overrides::default());
    let report = run_into(&sc, dir.path(), "r", None);
    let mut total = 0;
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir.path().join("r")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "parquet") {
            total += std::fs::metadata(&p).unwrap().len();
            files.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(
        files.contains(&"path_cdps.parquet".to_string()),
        "{files:?}"
    );
    assert_eq!(report.parquet_bytes, total);
}

/// clip.sol's `redo` by hand: ETH falls to 100 at step 1 and to 50 at step
/// 2 (direct oracle, linear curve over an hour, tail 0.3 h). Kicked at
/// step 1 with top 120: 120 at step 1 and 90 at step 2 are above the
/// market; at step 3 (0.5 h > tail) it is reset to 1.2 × 50 = 60, still
/// above; at step 4 the price is 60 × 0.75 = 45 and the keeper takes the
/// whole lot for 450.
#[test]
fn a_dutch_auction_reset_restarts_from_the_oracle_times_buf() {
    let text = one_vault(
        r#"auction = "dutch"
dutch = { buf = 1.2, curve = "linear", tau_hours = 1.0, tail_hours = 0.3, cusp = 0.1 }"#,
        &keeper("k", "value"),
        -1.0 / 3.0,
    )
    .replace(
        "[[cdps]]",
        "[[shocks]]\nstep = 2\nasset = \"ETH\"\nreturn = -0.5\n\n[[cdps]]",
    );
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    assert_eq!(a.step, vec![4], "over at step 4");
    assert_eq!((a.start_step[0], a.resets[0], a.bids[0]), (1, 1, 1));
    assert!(near(a.raised[0], 450.0, 1e-9), "raised {}", a.raised[0]);
    assert!(near(a.sold[0], 10.0, 1e-12));
}

/// Gas counts the settlements already executed in the step. Gas 10 USD ×
/// (1 + n), n the CDP's actions so far in the step. Vault A (10 ETH owing
/// 1,000) is barked at step 1 (ETH at 100) and the keeper bids 1,000 − 20;
/// its bid stands until step 4, when it is settled in the first round.
/// ETH falls to 60 at step 4, so vault B (15.1 ETH owing 1,000, safe at
/// 100) is barked in the same round: the keeper's bid on it pays gas of
/// 10 × (1 + 2) (the settlement and the bark), so it bids 15.1 × 60 − 30.
#[test]
fn gas_counts_the_settlements_of_the_step() {
    let text = one_vault(ENGLISH, &keeper("k", "value"), -1.0 / 3.0)
        .replacen(
            "[[assets]]",
            "[network]\ngas_usd = 10.0\ncongestion = 1.0\n\n[[assets]]",
            1,
        )
        .replacen(
            "[[cdps]]",
            "[[shocks]]\nstep = 4\nasset = \"ETH\"\nreturn = -0.4\n\n[[cdps]]",
            1,
        )
        .replace(
            "units = 10.0\ndebt = 1000.0",
            "units = 10.0\ndebt = 1000.0\n\n[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 15.1\ndebt = 1000.0",
        );
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    let of = |v: u32| a.vault.iter().position(|&x| x == v).unwrap();
    let (ia, ib) = (of(0), of(1));
    assert_eq!(
        (a.start_step[ia], a.step[ia]),
        (1, 4),
        "A settled at step 4"
    );
    assert!(near(a.raised[ia], 980.0, 1e-6), "A raised {}", a.raised[ia]);
    assert_eq!(a.start_step[ib], 4);
    assert!(
        near(a.raised[ib], 15.1 * 60.0 - 30.0, 1e-6),
        "B raised {}",
        a.raised[ib]
    );
}

/// `one_vault`'s text with a second vault type: BTC at 1,500, falling by a
/// third at step 1 as ETH does, with `terms` (its table's lines), and its
/// one vault replaced by `vaults` (the lines after `[[cdps.vaults]]`).
pub(crate) fn with_btc_type(one_vault: &str, terms: &str, vaults: &str) -> String {
    one_vault
        .replacen(
            "[[assets]]",
            "[[assets]]\nsymbol = \"BTC\"\nprice = 1500.0\n\n[[assets]]",
            1,
        )
        .replacen(
            "[[cdps]]",
            "[[shocks]]\nstep = 1\nasset = \"BTC\"\nreturn = -0.3333333333333333\n\n[[cdps]]",
            1,
        )
        .replace(
            "[cdps.collateral.ETH]",
            &format!("[cdps.collateral.BTC]\n{terms}\n\n[cdps.collateral.ETH]"),
        )
        .replace("collateral = \"ETH\"\nunits = 10.0\ndebt = 1000.0", vaults)
}

/// The bark order compares collateral ratios across vault types, in USD:
/// at step 1 vault 0 (1.2 BTC at 1,000 owing 1,000) is at 1.2 and vault 1
/// (11 ETH at 100 owing 1,000) at 1.1, so vault 1 is barked first
/// (auction 0), although it has more units per unit of debt.
#[test]
fn bark_order_compares_ratios_across_vault_types() {
    let text = with_btc_type(
        &one_vault(DUTCH, "", -1.0 / 3.0),
        "liquidation_ratio = 1.5",
        "collateral = \"BTC\"\nunits = 1.2\ndebt = 1000.0\n\n[[cdps.vaults]]\ncollateral = \"ETH\"\nunits = 11.0\ndebt = 1000.0",
    );
    let (rec, _, _) = run(&text);
    let a = &rec.auctions;
    assert_eq!(a.start_step, vec![1, 1], "both barked at step 1");
    let id_of = |v: u32| a.auction[a.vault.iter().position(|&x| x == v).unwrap()];
    assert_eq!((id_of(1), id_of(0)), (0, 1));
}
