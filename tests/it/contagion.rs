//! Contagion through receipt tokens (docs/model.md §11): a loss in one
//! lending market reaching another that accepts its receipt token.

use contagion::Overrides;
use contagion::engine::World;
use proptest::prelude::*;

use crate::common::*;

/// Market A lends USDC against ETH and has a supply side; its receipt token
/// aUSDC@lend-a is the collateral of market B.
pub const TWO_MARKETS: &str = r#"
[simulation]
name = "two-markets"
steps = 2
paths = 1

[[assets]]
symbol = "ETH"
price = 2000.0

[[assets]]
symbol = "USDC"
price = 1.0

[[assets]]
symbol = "aUSDC@lend-a"
receipt_of = "lend-a"

[[protocols]]
name = "lend-a"
kind = "lending"
debt_asset = "USDC"
close_factor = 0.5
supply = { deposits = 10000.0, reserve_fund = 100.0 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.9
liquidation_bonus = 0.05
max_ltv = 0.85

[[protocols]]
name = "lend-b"
kind = "lending"
debt_asset = "USDC"
close_factor = 0.5
supply = { deposits = 20000.0 }

[[protocols.collateral]]
asset = "aUSDC@lend-a"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend-a"
debt = 1800.0
collateral = { ETH = 1.0 }

[[positions]]
protocol = "lend-b"
debt = 3900.0
collateral = { "aUSDC@lend-a" = 5000.0 }

[[liquidators]]
name = "bot"
capital = "unlimited"

[[shocks]]
step = 1
asset = "ETH"
return = -0.5
"#;

/// Worked by hand (no pools: seized ETH is kept; aUSDC is redeemed at A).
///
/// Step 1, ETH at 1,000. Round 0: position 0 (A) has HF = 1000·0.9/1800 =
/// 0.5: repay 900, seize 0.945 ETH. B's position reads aUSDC at 1.0:
/// HF = 5000·0.8/3900 = 1.0256, safe. A's cash: 10,000 + 100 − 1,800 + 900.
/// Round 1: position 0 has 0.055 ETH and 900 debt, HF 0.055; half the debt
/// would seize 0.4725 ETH, so the seizure is capped: 0.055 ETH for
/// 0.055·1000/1.05 = 52.380952 repaid, and 847.619048 is bad debt. The
/// reserve fund absorbs 100; suppliers bear 747.619048: A's supplier assets
/// fall to 9,252.380952, share value 0.9252381 (shares 10,000).
/// Round 2: aUSDC now reads 0.9252381, B's HF = 5000·0.92524·0.8/3900 =
/// 0.948962: repay 1,950, seize 1950·1.05/0.9252381 = 2,212.943901 aUSDC,
/// redeemed at A for 2,047.5 USDC (A's cash 9,252.380952 covers it). B's
/// HF after: 1.057924. Round 3: nothing. Three rounds.
#[test]
fn bad_debt_in_a_reaches_b_through_the_receipt_token() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(TWO_MARKETS, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let out = dir.path().join("run");

    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(u32s(&liq, "round"), [0, 1, 2]);
    assert_eq!(strs(&liq, "protocol"), ["lend-a", "lend-a", "lend-b"]);
    assert_eq!(strs(&liq, "asset"), ["ETH", "ETH", "aUSDC@lend-a"]);
    let hf = f64s(&liq, "health_factor");
    assert!(close(hf[0], 0.5) && close(hf[1], 0.055) && close(hf[2], 0.948962148962149));
    let repaid = f64s(&liq, "repaid");
    assert!(close(repaid[1], 52.38095238095243) && close(repaid[2], 1950.0));
    let bad = f64s(&liq, "bad_debt");
    assert!(close(bad[1], 847.6190476190476) && bad[0] == 0.0 && bad[2] == 0.0);
    let seized = f64s(&liq, "seized");
    assert!(close(seized[2], 2212.9439011837367));
    let oracle = f64s(&liq, "oracle_price");
    assert!(
        close(oracle[2], 0.9252380952380952),
        "B read the post-loss share value"
    );
    let proceeds = f64s(&liq, "proceeds_value");
    assert_eq!(proceeds[0], 0.0, "ETH without a pool is kept");
    assert!(close(proceeds[2], 2047.5), "aUSDC redeemed at A");

    let p = read(&out.join("protocols.parquet"));
    let names = strs(&p, "protocol");
    let steps = u32s(&p, "step");
    let share = p.column("share_value").unwrap().f64().unwrap().clone();
    let cash = p.column("cash_value").unwrap().f64().unwrap().clone();
    let reserve = p.column("reserve_value").unwrap().f64().unwrap().clone();
    let social = p.column("socialised_cum").unwrap().f64().unwrap().clone();
    let row = |name: &str, step: u32| {
        (0..p.height())
            .find(|&i| names[i] == name && steps[i] == step)
            .unwrap()
    };
    let (a1, b1) = (row("lend-a", 1), row("lend-b", 1));
    assert_eq!(share.get(row("lend-a", 0)), Some(1.0));
    assert!(close(share.get(a1).unwrap(), 0.9252380952380952));
    assert_eq!(share.get(b1), Some(1.0), "B took no bad debt");
    assert!(close(cash.get(a1).unwrap(), 7204.880952380952));
    assert_eq!(cash.get(b1), Some(18050.0));
    assert_eq!(reserve.get(a1), Some(0.0));
    assert!(close(social.get(a1).unwrap(), 747.6190476190476));
    // cascade_rounds counts the step's rounds, shared by every protocol
    // (§8): B liquidated only in round 2 and A only in rounds 0 and 1.
    assert_eq!(u32s(&p, "cascade_rounds")[a1], 3);
    assert_eq!(u32s(&p, "cascade_rounds")[b1], 3);

    // The receipt token's price is the share value times USDC's price.
    let m = read(&out.join("market.parquet"));
    let assets = strs(&m, "asset");
    let f = f64s(&m, "fundamental");
    let ms = u32s(&m, "step");
    let a_usdc: Vec<f64> = (0..m.height())
        .filter(|&i| assets[i] == "aUSDC@lend-a")
        .map(|i| f[i])
        .collect();
    assert_eq!(a_usdc[0], 1.0);
    assert!(close(a_usdc[1], 0.9252380952380952) && close(a_usdc[2], 0.9252380952380952));
    assert!(ms.len() == 9);
}

#[test]
fn receipt_tokens_are_validated() {
    let bad = |e: Edit, needle: &str| {
        let text = edit(TWO_MARKETS, &[e]);
        let e = contagion::Scenario::from_toml(
            &text,
            "t.toml",
            std::path::Path::new("."),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(needle), "`{needle}` not in: {e}");
    };
    bad(
        Edit::Set("assets.aUSDC@lend-a.receipt_of", val("\"lend-c\"")),
        "assets.aUSDC@lend-a.receipt_of: unknown protocol `lend-c`",
    );
    bad(
        Edit::Add("assets.aUSDC@lend-a.price", val("1.0")),
        "assets.aUSDC@lend-a.price",
    );
    bad(
        Edit::Remove("protocols.lend-a.supply"),
        "protocol `lend-a` has no supply side",
    );
    bad(
        Edit::Set("protocols.lend-b.supply.deposits", val("3000.0")),
        "protocols.lend-b.supply.deposits: 3000 is below the book's debt 3900",
    );
    bad(
        Edit::Set("protocols.lend-a.supply.deposits", val("4000.0")),
        "positions hold 5000 units of `aUSDC@lend-a`",
    );
    bad(
        Edit::Add("protocols.lend-b.supply.utilisation", val("0.5")),
        "give exactly one of",
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The supply side's balance sheet holds on random paths: cash + borrowed
    /// = supplier assets + reserve, cash never negative, share values never
    /// rise (no interest yet) and every unit of bad debt is absorbed by the
    /// reserve or the suppliers while they have something left.
    #[test]
    fn balance_sheets_hold(seed in any::<u64>(), shock in -0.8..-0.1f64, reserve in 0.0..500.0f64) {
        let text = edit(TWO_MARKETS, &[
            Edit::Set("simulation.steps", val("12")),
            Edit::Add("assets.ETH.process", val("{ kind = \"gbm\", vol = 2.0 }")),
            Edit::Set("protocols.lend-a.supply.reserve_fund", reserve.into()),
            Edit::Set("shocks.ETH.return", shock.into()),
        ]);
        let sc = scenario(&text, &Overrides { paths: Some(3), seed: Some(seed) });
        let mut world = World::new(&sc);
        for path in 0..3 {
            let rec = world.run_path(path).unwrap();
            for p in 0..2 {
                let s = world.supply_state(p);
                let borrowed: f64 = (0..sc.book.len())
                    .filter(|&i| sc.book.protocol[i] as usize == p)
                    .map(|i| world.owed(i))
                    .sum();
                prop_assert!(s.cash >= 0.0);
                prop_assert!((s.cash + borrowed - s.supplier_assets - s.reserve).abs() < 1e-6);
                let sv = &rec.protocols.share_value;
                let mine: Vec<f64> = (0..sv.len()).filter(|&i| rec.protocols.protocol[i] as usize == p).map(|i| sv[i].unwrap()).collect();
                prop_assert!(mine.windows(2).all(|w| w[1] <= w[0] + 1e-15), "share value rose: {:?}", mine);
                // Bad debt written off in p, in units (USDC is fixed at 1).
                let written: f64 = (0..rec.liquidations.step.len())
                    .filter(|&i| rec.liquidations.protocol[i] as usize == p)
                    .map(|i| rec.liquidations.bad_debt[i])
                    .sum();
                let reserve0 = sc.protocols[p].supply.unwrap().reserve_fund;
                let absorbed = (reserve0 - s.reserve) + s.socialised;
                if s.supplier_assets > 0.0 {
                    prop_assert!((written - absorbed).abs() < 1e-6 * written.max(1.0));
                } else {
                    prop_assert!(absorbed <= written + 1e-6);
                }
            }
        }
    }
}

#[test]
fn the_collateral_graph_lists_who_accepts_lends_and_issues_what() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(TWO_MARKETS, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let out = dir.path().join("run");
    assert!(out.join("charts/collateral_graph.png").is_file());
    let nodes = read(&out.join("graph_nodes.parquet"));
    assert_eq!(
        strs(&nodes, "node"),
        ["ETH", "USDC", "aUSDC@lend-a", "lend-a", "lend-b"]
    );
    assert_eq!(
        strs(&nodes, "kind"),
        ["asset", "asset", "asset", "protocol", "protocol"]
    );
    // lend-a: 1 ETH at 2,000 of collateral + cash 10,000 + 100 − 1,800.
    // lend-b: 5,000 aUSDC at 1.0 + cash 20,000 − 3,900.
    assert_eq!(
        f64s(&nodes, "value_usd"),
        [2000.0, 0.0, 5000.0, 10300.0, 21100.0]
    );
    let edges = read(&out.join("graph_edges.parquet"));
    let rows: Vec<(String, String, String, f64)> = (0..edges.height())
        .map(|i| {
            (
                strs(&edges, "source")[i].clone(),
                strs(&edges, "target")[i].clone(),
                strs(&edges, "kind")[i].clone(),
                f64s(&edges, "weight_usd")[i],
            )
        })
        .collect();
    let e = |s: &str, t: &str, k: &str, w: f64| (s.to_string(), t.to_string(), k.to_string(), w);
    assert_eq!(
        rows,
        [
            e("ETH", "lend-a", "collateral", 2000.0),
            e("lend-a", "USDC", "lends", 1800.0),
            e("lend-a", "aUSDC@lend-a", "issues", 10000.0),
            e("aUSDC@lend-a", "lend-b", "collateral", 5000.0),
            e("lend-b", "USDC", "lends", 3900.0),
        ]
    );
}

#[test]
fn cutting_the_receipt_link_attributes_b_liquidations_to_a() {
    let (out, _dir) = run_with_cuts(TWO_MARKETS, &[("lend-b", "aUSDC@lend-a")]);
    let a = read(&out.join("attribution.parquet"));
    assert_eq!(strs(&a, "protocol"), ["lend-a", "lend-b"]);
    // A's loss does not depend on B (it came first); B's liquidation (2,047.5
    // USD of aUSDC seized) exists only through the link.
    assert!(close(f64s(&a, "bad_debt")[0], 847.6190476190476));
    assert_eq!(f64s(&a, "bad_debt_via_links")[0], 0.0);
    assert_eq!(f64s(&a, "liquidated_value_cut")[1], 0.0);
    assert!(close(f64s(&a, "liquidated_value_via_links")[1], 2047.5));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["attribution"]["cuts"][0], "lend-b:aUSDC@lend-a");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["cuts"][0], "lend-b:aUSDC@lend-a");
}

#[test]
fn without_a_link_there_is_no_contagion_to_attribute() {
    // B lends against ETH instead of A's receipt token: the markets share no
    // collateral path (no pools either), so cutting B's ETH changes nothing
    // in A, path by path.
    let text = edit(
        TWO_MARKETS,
        &[
            Edit::Set(
                "protocols.lend-b.collateral.aUSDC@lend-a.asset",
                val("\"ETH\""),
            ),
            Edit::Set("positions.1.collateral", val("{ ETH = 2.5 }")),
            Edit::Set("simulation.paths", val("5")),
            Edit::Add("assets.ETH.process", val("{ kind = \"gbm\", vol = 1.0 }")),
        ],
    );
    let (out, _dir) = run_with_cuts(&text, &[("lend-b", "ETH")]);
    let a = read(&out.join("attribution.parquet"));
    let protocol = strs(&a, "protocol");
    let via_bad = f64s(&a, "bad_debt_via_links");
    let via_liq = f64s(&a, "liquidated_value_via_links");
    for i in 0..a.height() {
        if protocol[i] == "lend-a" {
            assert_eq!((via_bad[i], via_liq[i]), (0.0, 0.0), "row {i}");
        }
    }
    assert!(f64s(&a, "liquidated_value").iter().any(|&v| v > 0.0));
}

#[test]
fn a_bad_cut_is_an_input_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), TWO_MARKETS).unwrap();
    for (cut, needle) in [
        ("lend-b", "is not PROTOCOL:ASSET"),
        ("lend-c:ETH", "unknown protocol `lend-c`"),
        (
            "lend-a:aUSDC@lend-a",
            "`lend-a` does not accept `aUSDC@lend-a`",
        ),
    ] {
        let out = cli(dir.path(), &["run", "s.toml", "--quiet", "--cut", cut]);
        assert_eq!(out.status.code(), Some(2));
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(needle), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

#[test]
fn bad_debt_is_split_into_direct_and_contagion_by_collateral() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/rehypothecation.toml");
    let sc = contagion::Scenario::load(
        &path,
        &Overrides {
            paths: Some(8),
            seed: None,
        },
    )
    .unwrap();
    run_into(&sc, dir.path(), "run", None);
    let p = read(&dir.path().join("run/protocols.parquet"));
    let names = strs(&p, "protocol");
    let bad = f64s(&p, "bad_debt");
    let contagion = f64s(&p, "bad_debt_contagion");
    let (mut a_bad, mut b_bad) = (0.0, 0.0);
    for i in 0..p.height() {
        if names[i] == "lend-a" {
            // ETH and stETH only: every loss is direct.
            assert_eq!(contagion[i], 0.0);
            a_bad += bad[i];
        } else {
            // aUSDC only: every loss came through A's receipt token.
            assert_eq!(contagion[i], bad[i]);
            b_bad += bad[i];
        }
    }
    assert!(
        a_bad > 0.0 && b_bad > 0.0,
        "the crash must hurt both: {a_bad} {b_bad}"
    );
    let paths = read(&dir.path().join("run/paths.parquet"));
    let total: f64 = f64s(&paths, "bad_debt_contagion").iter().sum();
    assert!((total - b_bad).abs() < 1e-6 * b_bad);
}

#[test]
fn isolated_markets_keep_bad_debt_where_pooled_ones_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for name in ["pooled", "isolated"] {
        let sc = contagion::Scenario::load(
            &root.join(format!("{name}.toml")),
            &Overrides {
                paths: Some(6),
                seed: None,
            },
        )
        .unwrap();
        run_into(&sc, dir.path(), name, None);
    }
    // Same book, same paths, no interest: identical liquidations and losses.
    let pooled = read(&dir.path().join("pooled/paths.parquet"));
    let isolated = read(&dir.path().join("isolated/paths.parquet"));
    for (a, b) in f64s(&pooled, "bad_debt")
        .iter()
        .zip(f64s(&isolated, "bad_debt"))
    {
        assert!((a - b).abs() <= 1e-9 * a.max(1.0), "{a} vs {b}");
    }
    assert_eq!(
        u32s(&pooled, "liquidations"),
        u32s(&isolated, "liquidations")
    );
    // Who bears it: in the isolated design each market's suppliers bear
    // exactly that market's bad debt (no reserve funds here).
    let p = read(&dir.path().join("isolated/protocols.parquet"));
    let names = strs(&p, "protocol");
    let cum = f64s(&p, "bad_debt_cum");
    let social = p.column("socialised_cum").unwrap().f64().unwrap().clone();
    for i in 0..p.height() {
        assert!(
            (social.get(i).unwrap() - cum[i]).abs() < 1e-6,
            "{} row {i}",
            names[i]
        );
    }
    let link_losses: f64 = (0..p.height())
        .filter(|&i| names[i] == "link-market")
        .map(|i| cum[i])
        .sum();
    assert!(link_losses > 0.0, "the LINK crash must leave bad debt");
}

/// §11, direct and contagion bad debt: the split is the receipt tokens'
/// share of the position's collateral value when it is first liquidated on
/// the path. B also lends against ETH; its borrower holds 1 ETH and 1,000
/// aUSDC (A has no loss: 1 USDC each) against 2,000. ETH falls 75% to 500:
/// HF = (500 + 1,000)·0.8/2,000 = 0.6, and the first liquidation sees 500
/// of ETH and 1,000 of receipts: two thirds of the bad debt the position
/// ends with is contagion. (Taken at the last seizure, when only one asset
/// is left, the share could only be 0 or 1.)
#[test]
fn a_mixed_positions_bad_debt_splits_by_its_collateral_when_it_first_failed() {
    // Only B's position is left (A's is dropped).
    let text = edit(
        TWO_MARKETS,
        &[
            Edit::Set(
                "positions",
                val(
                    "[{ protocol = \"lend-b\", debt = 2000.0, collateral = { \"aUSDC@lend-a\" = 1000.0, ETH = 1.0 } }]",
                ),
            ),
            Edit::Push(
                "protocols.lend-b.collateral",
                table(
                    "asset = \"ETH\"\nliquidation_threshold = 0.8\nliquidation_bonus = 0.05\nmax_ltv = 0.75",
                ),
            ),
            Edit::Set("shocks.ETH.return", val("-0.75")),
        ],
    );
    // The share is read at B's own oracle: with A's oracle a step late (A
    // still sees ETH at 2,000) nothing changes.
    let stale_a = edit(
        &text,
        &[Edit::Add(
            "protocols.lend-a.oracle",
            val("{ source = \"fundamental\", lag_steps = 1 }"),
        )],
    );
    for text in [text, stale_a] {
        mixed_split_is_two_thirds(&text);
    }
}

fn mixed_split_is_two_thirds(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let out = dir.path().join("run");
    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(u32s(&liq, "step")[0], 1);
    assert!(close(f64s(&liq, "health_factor")[0], 0.6));
    let paths = read(&out.join("paths.parquet"));
    let bad = f64s(&paths, "bad_debt")[0];
    let contagion = f64s(&paths, "bad_debt_contagion")[0];
    assert!(bad > 100.0, "{bad}");
    assert!(
        (contagion - bad * 2.0 / 3.0).abs() < 1e-9 * bad,
        "{contagion} of {bad}"
    );
    // The liquidation that writes the bad debt off carries the same split.
    let rows_bad = f64s(&liq, "bad_debt");
    let rows_con = f64s(&liq, "bad_debt_contagion");
    for (b, c) in rows_bad.iter().zip(&rows_con) {
        assert!((c - b * 2.0 / 3.0).abs() < 1e-9 * b.max(1.0), "{c} of {b}");
    }
}

/// A receipt token is worth its share value times the issuer's debt
/// asset's price (§11), whatever that price: with A lending EUR at
/// 1.10 USD, its receipt starts at 1 × 1.10 (the market table's step 0).
#[test]
fn a_receipt_is_priced_in_its_issuers_debt_asset() {
    let text = edit(
        TWO_MARKETS,
        &[
            Edit::Push("assets", table("symbol = \"EUR\"\nprice = 1.1")),
            Edit::Set("protocols.lend-a.debt_asset", val("\"EUR\"")),
            Edit::Set("positions.0.debt", val("1500.0")),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&text, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let m = read(&dir.path().join("run/market.parquet"));
    let price = rows_of(&m, 0, "asset", "aUSDC@lend-a", "fundamental");
    assert!((price[0] - 1.1).abs() < 1e-12, "{price:?}");
}
