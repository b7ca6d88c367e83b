//! DebtRank and Eisenberg–Noe clearing on a run's protocols (docs/model.md
//! §13), against closed forms worked here and the engine's own accounts.

use contagion::Overrides;

use crate::common::*;
use crate::contagion::TWO_MARKETS;

fn summary(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// The hand-worked case of contagion.rs: A's direct bad debt is 847.619048
/// (the reserve of 100 and suppliers bear it), A's capital is 10,100 and
/// B's 20,000, and B's book holds 5,000 aUSDC: W_AB = 5000/20000 = 0.25.
/// DebtRank: h_A = 847.619048/10,100, h_B = 0.25·h_A, and
/// R = v_B·h_B with v_B = 20,000/30,100. A's default alone: R = 0.25·v_B.
/// Clearing at the end: 747.619048 was socialised over 10,000 shares,
/// 0.0747619 per share, and 2,212.943901 shares were then seized and
/// redeemed, so A owes the 7,787.056099 shares still held 0.9252381 +
/// 0.0747619 = 1 each and has 7,204.88 of cash. B's borrower owes 1,950
/// against 2,787.06 aUSDC, which A pays at 92.5%: still more than 1,950,
/// so B is paid in full and only A falls short, by 7,787.056099 ×
/// 0.0747619 = 582.175146 (the redeemed shares bore their part and left).
#[test]
fn debtrank_and_clearing_of_the_two_market_case() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(TWO_MARKETS, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let out = dir.path().join("run");
    let v_b = 20_000.0 / 30_100.0;
    let h_a = 847.619_047_619_047_6 / 10_100.0;
    let paths = read(&out.join("paths.parquet"));
    let dr = f64s(&paths, "debtrank")[0];
    assert!(close(dr, v_b * 0.25 * h_a), "{dr}");
    let shortfall = f64s(&paths, "clearing_shortfall")[0];
    assert!(
        close(
            shortfall,
            (10_000.0 - 2_212.943_901_183_736_7) * 0.074_761_904_761_904_76
        ),
        "{shortfall}"
    );
    assert_eq!(u32s(&paths, "clearing_defaults"), [1]);

    let s = summary(&out);
    let protocols = s["systemic"]["protocols"].as_array().unwrap();
    assert!(close(
        protocols[0]["debtrank_of_default"].as_f64().unwrap(),
        0.25 * v_b
    ));
    assert_eq!(protocols[1]["debtrank_of_default"].as_f64(), Some(0.0));
    assert!(close(
        protocols[0]["capital_usd"].as_f64().unwrap(),
        10_100.0
    ));
    assert_eq!(s["systemic"]["exposure"][1][0].as_f64(), Some(5000.0));
}

/// Without receipt tokens, clearing is each protocol paying what it has:
/// the shortfall is `max(0, socialised − reserve + insolvent)` per protocol
/// (claims = supplier assets + socialised, assets = cash + loans −
/// insolvent = supplier assets + reserve − insolvent), read from the
/// engine's own protocols.parquet at the last step, on every path.
#[test]
fn clearing_without_pledges_matches_the_engines_loss_accounts() {
    let text = edit(
        SMALL,
        &[Edit::Add(
            "protocols.lend.supply",
            val(
                "{ utilisation = 0.9, reserve_fund = 20000.0, rate = { slope1 = 0.05, kink = 0.8, slope2 = 3.0, reserve_factor = 0.2 } }",
            ),
        )],
    );
    let sc = scenario(&text, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(2));
    let out = dir.path().join("run");
    let p = read(&out.join("protocols.parquet"));
    let (step, path) = (u32s(&p, "step"), u32s(&p, "path"));
    let mut rows: Vec<usize> = (0..p.height()).filter(|&r| step[r] == 30).collect();
    rows.sort_by_key(|&r| path[r]);
    let pick = |name: &str| -> Vec<f64> {
        let v = f64s(&p, name);
        rows.iter().map(|&r| v[r]).collect()
    };
    let (soc, reserve, insolvent) = (
        pick("socialised_cum"),
        pick("reserve_value"),
        pick("insolvent_debt"),
    );
    let paths = read(&out.join("paths.parquet"));
    let shortfall = f64s(&paths, "clearing_shortfall");
    assert_eq!(rows.len(), 8, "recorded paths");
    let mut some_loss = false;
    for r in 0..8 {
        let want = (soc[r] - reserve[r] + insolvent[r]).max(0.0);
        some_loss |= want > 0.0;
        assert!(
            (shortfall[r] - want).abs() <= 1e-6 * want.max(1.0),
            "path {r}: {} vs {want}",
            shortfall[r]
        );
    }
    assert!(some_loss, "the test needs a path with a loss");
    // DebtRank with one protocol: nothing beyond the initial shock.
    assert!(f64s(&paths, "debtrank").iter().all(|&d| d == 0.0));
}

/// Without any supply side there is no capital: the columns are null and
/// summary.json has no `systemic` section.
#[test]
fn no_supply_side_means_no_systemic_metrics() {
    let sc = scenario(SMALL, &Overrides::default());
    let dir = tempfile::tempdir().unwrap();
    run_into(&sc, dir.path(), "run", Some(1));
    let out = dir.path().join("run");
    let paths = read(&out.join("paths.parquet"));
    assert_eq!(
        paths.column("debtrank").unwrap().null_count(),
        paths.height()
    );
    assert!(summary(&out).get("systemic").is_none());
}

/// Market A (deposits 10,000, no reserve) lends USDC against ETH; market B
/// (deposits 4,000) lends against A's receipt token. Worked by hand:
///
/// ETH falls 70% to 600. Round 0: A's position (5 ETH, 9,000) has HF 0.3;
/// half its debt would seize 7.875 ETH > 5, so the seizure is capped:
/// R = 5·600/1.05 = 2,857.142857 and 6,142.857143 is bad debt, all of it
/// direct (ETH collateral). No reserve: suppliers bear it, A's share value
/// falls to 3,857.142857/10,000 = 0.385714. B's position (5,000 aUSDC,
/// 3,900) read aUSDC at 1 in round 0 (HF 1.0256).
/// Round 1: B's HF = 5000·0.385714·0.8/3900 = 0.395604; half would seize
/// more than 5,000 aUSDC: capped, R = 5000·0.385714/1.05 = 1,836.734694,
/// bad debt 2,063.265306, all of it contagion (receipt collateral).
///
/// DebtRank (§13): capital E_A = 10,000, E_B = 4,000; B holds 5,000 of A's
/// receipts, W_AB = min(1, 5000/4000) = 1. The shock is direct loss only:
/// h_A = 0.6142857, h_B = 0 (B's loss is contagion). Propagation: h_B =
/// min(1, 0 + 1·h_A) = 0.6142857, so R = v_B·h_A = (4000/14000)·0.6142857
/// = 0.175510. (Taking B's total loss as its shock would start B at
/// 0.515816 and cap it at 1: R = v_B·(1 − 0.515816) = 0.138338.)
///
/// Clearing at the end: B's receipts were all seized (none pledged), so
/// each protocol falls short by what the suppliers still holding its
/// shares lost. A socialised 0.6142857 per share, and 5,000 of its 10,000
/// shares were redeemed (paid 1,928.571): the 5,000 left are owed
/// 0.3857143 + 0.6142857 = 1 each against cash 1,928.571, short
/// 3,071.428571. B's 4,000 shares are all held: short 2,063.265306. Total
/// 5,134.693878; both default.
#[test]
fn debtrank_starts_from_direct_losses_only() {
    let text = r#"
[simulation]
name = "direct"
steps = 1
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
supply = { deposits = 10000.0 }

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
supply = { deposits = 4000.0 }

[[protocols.collateral]]
asset = "aUSDC@lend-a"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[positions]]
protocol = "lend-a"
debt = 9000.0
collateral = { ETH = 5.0 }

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
return = -0.7
"#;
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let out = dir.path().join("run");
    let liq = read(&out.join("liquidations.parquet"));
    assert_eq!(strs(&liq, "protocol"), ["lend-a", "lend-b"]);
    let (bad, contagion) = (f64s(&liq, "bad_debt"), f64s(&liq, "bad_debt_contagion"));
    assert!(close(bad[0], 6142.857142857143) && contagion[0] == 0.0);
    assert!(close(bad[1], 2063.265306122449), "{}", bad[1]);
    assert!(close(contagion[1], 2063.265306122449));
    assert!(close(f64s(&liq, "health_factor")[1], 0.3956043956043956));

    let paths = read(&out.join("paths.parquet"));
    let dr = f64s(&paths, "debtrank")[0];
    assert!(close(dr, 0.17551020408163265), "DebtRank {dr}");
    let shortfall = f64s(&paths, "clearing_shortfall")[0];
    assert!(
        (shortfall - (5000.0 * 0.614_285_714_285_714_3 + 2063.265306122449)).abs() < 1e-6,
        "shortfall {shortfall}"
    );
    assert_eq!(i64s(&paths, "clearing_defaults"), [2]);
}

/// Two markets, no liquidators and no price moves: `lend-a` (deposits
/// 1,000) lends nothing, so its receipt aUSDC keeps share value 1;
/// `lend-b` (deposits 1,000) lends against aUSDC. `{B_POSITIONS}` and
/// `{A_POSITIONS}` are filled in by each test, `{STEPS}` too.
const PLEDGES: &str = r#"
[simulation]
name = "pledges"
steps = {STEPS}
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
supply = { deposits = 1000.0 }

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.9
liquidation_bonus = 0.05
max_ltv = 0.85

[[protocols]]
name = "lend-b"
kind = "lending"
debt_asset = "USDC"
supply = { deposits = 1000.0 }

[[protocols.collateral]]
asset = "aUSDC@lend-a"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75
{A_POSITIONS}
{B_POSITIONS}
"#;

/// PLEDGES with its placeholders filled in (textually: the template is not
/// TOML until they are), then `extra` appended.
fn pledges(steps: u32, a_positions: &str, b_positions: &str, extra: &str) -> String {
    let mut text = PLEDGES.to_string();
    for (placeholder, with) in [
        ("{STEPS}", steps.to_string().as_str()),
        ("{A_POSITIONS}", a_positions),
        ("{B_POSITIONS}", b_positions),
    ] {
        assert!(
            text.contains(placeholder),
            "`{placeholder}` is not in PLEDGES"
        );
        text = text.replace(placeholder, with);
    }
    text + extra
}

/// (clearing_shortfall, clearing_defaults) of the one path of `text`.
fn clearing_of(text: &str) -> (f64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(text, &Overrides::default());
    run_into(&sc, dir.path(), "run", Some(1));
    let paths = read(&dir.path().join("run/paths.parquet"));
    (
        f64s(&paths, "clearing_shortfall")[0],
        i64s(&paths, "clearing_defaults")[0],
    )
}

/// #20 item 6: a receipt-backed shortfall is counted once. A has no loss
/// (claims 1,000, cash 1,000). B lends 120 against 100 aUSDC (no
/// liquidator): B's cash is 880, its loans 120, its claims 1,000, and the
/// position is 20 short at the oracle, so B's own accounts lose 20.
/// Clearing: B's external assets are 880 + 120 − 20 (insolvent) − 120
/// (the receipt-secured loan, collected from the borrower node) + 20 (that
/// loan's part of the insolvent debt, which the node's payment accounts
/// for) = 880; the node holds A's 100 of face, paid in full, and pays
/// min(120, 100) = 100. B has 980 for 1,000 of claims: shortfall 20, one
/// default. (Counting the 20 twice gave 40.)
#[test]
fn a_receipt_backed_shortfall_is_counted_once() {
    let text = pledges(
        1,
        "",
        "[[positions]]\nprotocol = \"lend-b\"\ndebt = 120.0\ncollateral = { \"aUSDC@lend-a\" = 100.0 }\n",
        "",
    );
    // Pledges are valued in USD at the borrowing protocol's oracle: with
    // USDC at 0.5 USD everything halves (100 aUSDC worth 50 against 60).
    for (usdc, want) in [(1.0, 20.0), (0.5, 10.0)] {
        let text = edit(&text, &[Edit::Set("assets.USDC.price", usdc.into())]);
        let (shortfall, defaults) = clearing_of(&text);
        assert!(
            close(shortfall, want),
            "USDC at {usdc}: shortfall {shortfall}"
        );
        assert_eq!(defaults, 1);
    }
}

/// #20 item 12a: a position that owes nothing is not in the borrower node.
/// A lends 900 against 1 ETH, which falls 75% to 500 (no liquidator): A
/// has cash 100 and loans 900, 400 of them insolvent, so it has 600 for
/// claims of 1,000 and pays 60%. In B, one position owes 70 against 100
/// aUSDC and another owes nothing and pledges 100 aUSDC. The node holds
/// only the first's 100 of face: it gets 60 and pays B 60 of the 70. B
/// (claims 1,000, cash 930) has 930 + 60 = 990: short by 10; A by 400.
/// (Pooling the idle 100 of face would have paid B its 70: shortfall 400,
/// one default.)
#[test]
fn a_position_owing_nothing_is_not_in_the_borrower_node() {
    let text = pledges(
        1,
        "[[positions]]\nprotocol = \"lend-a\"\ndebt = 900.0\ncollateral = { ETH = 1.0 }\n",
        "[[positions]]\nprotocol = \"lend-b\"\ndebt = 70.0\ncollateral = { \"aUSDC@lend-a\" = 100.0 }\n\n\
         [[positions]]\nprotocol = \"lend-b\"\ndebt = 0.0\ncollateral = { \"aUSDC@lend-a\" = 100.0 }\n",
        "\n[[shocks]]\nstep = 1\nasset = \"ETH\"\nreturn = -0.75\n",
    );
    let (shortfall, defaults) = clearing_of(&text);
    assert!(close(shortfall, 410.0), "shortfall {shortfall}");
    assert_eq!(defaults, 2);
}

/// #20 item 12b: claims are what the suppliers still holding shares are
/// owed. A lends 900 against 1 ETH, which falls 75% to 500 at step 1.
/// Round 0: HF 0.5, repay 450, seize 0.945 ETH. Round 1: 0.055 ETH left,
/// the seizure is capped: repay 0.055·500/1.05 = 26.190476, bad debt
/// 423.809524, all socialised (no reserve): 0.423809524 per share of the
/// 1,000, share value 0.576190476, cash 576.190476, nothing owed to A.
/// At step 2 a lender holding `share` of the shares redeems them all.
/// With half: 500 shares remain, owed 500·(0.576190476 + 0.423809524) =
/// 500 against cash 288.095238: short 211.904762, one default. With all:
/// no one holds a share, claims are 0: no shortfall, no default. (Counting
/// the whole socialised 423.809524 in the claims gave that shortfall and a
/// default in both.)
#[test]
fn claims_are_owed_only_to_suppliers_still_holding_shares() {
    let run = |share: f64, scale: f64| {
        let text = pledges(
            2,
            "[[positions]]\nprotocol = \"lend-a\"\ndebt = 900.0\ncollateral = { ETH = 1.0 }\n",
            "",
            &format!(
                "\n[[liquidators]]\nname = \"bot\"\ncapital = \"unlimited\"\n\n\
                 [[lenders]]\nname = \"all\"\nprotocol = \"lend-a\"\nshare = {share}\n\
                 trigger = {{ at_step = 2 }}\n\n\
                 [[shocks]]\nstep = 1\nasset = \"ETH\"\nreturn = -0.75\n"
            ),
        );
        // Every price scaled: the same units move, every USD figure scales.
        let text = edit(
            &text,
            &[
                Edit::Set("assets.ETH.price", (2000.0 * scale).into()),
                Edit::Set("assets.USDC.price", scale.into()),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        let sc = scenario(&text, &Overrides::default());
        run_into(&sc, dir.path(), "run", Some(1));
        let out = dir.path().join("run");
        let liq = read(&out.join("liquidations.parquet"));
        assert!(close(
            f64s(&liq, "bad_debt").iter().sum(),
            423.809_523_809_523_8 * scale
        ));
        let paths = read(&out.join("paths.parquet"));
        (
            f64s(&paths, "clearing_shortfall")[0],
            i64s(&paths, "clearing_defaults")[0],
        )
    };
    let (half, defaults) = run(0.5, 1.0);
    assert!(close(half, 211.904_761_904_761_9), "half: {half}");
    assert_eq!(defaults, 1);
    // Claims and cash are in USD at the debt asset's oracle price (§13):
    // with USDC at 0.5 USD (and ETH at 1,000) the shortfall halves.
    let (half, defaults) = run(0.5, 0.5);
    assert!(
        close(half, 211.904_761_904_761_9 / 2.0),
        "half at 0.5: {half}"
    );
    assert_eq!(defaults, 1);
    let (all, defaults) = run(1.0, 1.0);
    assert!(all.abs() < 1e-9, "all: {all}");
    assert_eq!(defaults, 0);
}

/// #20 item 12d: a default is a shortfall beyond rounding, 1e-9 of the
/// larger of the claims and the capital. The case of
/// `claims_are_owed_only_to_suppliers_still_holding_shares` with every
/// share redeemed, scaled up to 10⁷× (a crash of 75.12345%): the claims
/// are 0 or a rounding remnant of the redeemed value (6.35e-9 USD at
/// 10⁵×, which a tolerance of 1e-12 of the claims counted as a default),
/// so no scale has a default or a shortfall.
#[test]
fn rounding_remnants_are_not_defaults() {
    for scale in [1.0, 1e3, 1e5, 1e7] {
        let text = pledges(
            2,
            &format!(
                "[[positions]]\nprotocol = \"lend-a\"\ndebt = {}\ncollateral = {{ ETH = {scale} }}\n",
                900.0 * scale
            ),
            "",
            "\n[[liquidators]]\nname = \"bot\"\ncapital = \"unlimited\"\n\n\
             [[lenders]]\nname = \"all\"\nprotocol = \"lend-a\"\nshare = 1.0\n\
             trigger = { at_step = 2 }\n\n\
             [[shocks]]\nstep = 1\nasset = \"ETH\"\nreturn = -0.7512345\n",
        );
        // Both markets' deposits scale.
        let text = edit(
            &text,
            &[
                Edit::Set("protocols.lend-a.supply.deposits", (1000.0 * scale).into()),
                Edit::Set("protocols.lend-b.supply.deposits", (1000.0 * scale).into()),
            ],
        );
        assert_eq!(clearing_of(&text), (0.0, 0), "scale {scale}");
    }
}

/// Each borrowing protocol's pledges are valued at its own oracle (§13).
/// B reads prices one step late. A lends 900 against 1 ETH, which falls
/// 75% at step 2, the last: as in
/// `claims_are_owed_only_to_suppliers_still_holding_shares` A ends with
/// 576.190476 of cash for claims of 1,000 and pays 57.62%. B lends 70
/// against 100 aUSDC, which its stale oracle still values at 100: no
/// insolvent debt, so B has 930 plus what the node gets, 57.619048 of
/// A's payment: short 12.380952. Total 423.809524 + 12.380952, two
/// defaults. (Valued at A's current oracle, the pledge would be 57.62
/// against 70, a shortfall the node already pays for: B would be whole.)
#[test]
fn pledges_are_valued_at_the_borrowing_protocols_own_oracle() {
    let text = pledges(
        2,
        "[[positions]]\nprotocol = \"lend-a\"\ndebt = 900.0\ncollateral = { ETH = 1.0 }\n",
        "[[positions]]\nprotocol = \"lend-b\"\ndebt = 70.0\ncollateral = { \"aUSDC@lend-a\" = 100.0 }\n",
        "\n[[liquidators]]\nname = \"bot\"\ncapital = \"unlimited\"\n\n\
         [[shocks]]\nstep = 2\nasset = \"ETH\"\nreturn = -0.75\n",
    );
    let text = edit(
        &text,
        &[Edit::Add(
            "protocols.lend-b.oracle",
            val("{ source = \"fundamental\", lag_steps = 1 }"),
        )],
    );
    let (shortfall, defaults) = clearing_of(&text);
    assert!(
        close(shortfall, 423.809_523_809_523_8 + 12.380_952_380_952_4),
        "shortfall {shortfall}"
    );
    assert_eq!(defaults, 2);
}
