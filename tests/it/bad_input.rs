//! Bad input: each class of error gets exit code 2, one line on stderr that
//! names the field, and no output folder.

use crate::common::*;

/// Write `text` as a scenario, run it, and check the failure.
pub(crate) fn expect_rejected(text: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    for args in [vec!["run", "s.toml", "--quiet"], vec!["validate", "s.toml"]] {
        let out = cli(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: stderr: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("contagion: error: s.toml"), "{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "`{n}` not in: {stderr}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["s.toml"], "nothing may be written");
    }
}

/// SMALL with a textual edit, for what a dotted path cannot express (TOML
/// that does not parse) or where the test reads the line of the error.
fn replaced(from: &str, to: &str) -> String {
    assert!(SMALL.contains(from), "test set-up: `{from}` not in SMALL");
    SMALL.replacen(from, to, 1)
}

/// SMALL with one field set.
fn set(path: &str, to: &str) -> String {
    edit(SMALL, &[Edit::Set(path, val(to))])
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let text = replaced("seed = 5", "seed = 5\nsede = 6");
    let line = text.lines().position(|l| l.starts_with("sede")).unwrap() + 1;
    expect_rejected(&text, &["unknown field `sede`", &format!("s.toml:{line}:")]);
    expect_rejected(
        &edit(
            SMALL,
            &[
                Edit::Remove("pools.ETH.impact_persistence"),
                Edit::Add("pools.ETH.impact_persistance", val("0.5")),
            ],
        ),
        &["impact_persistance"],
    );
}

#[test]
fn malformed_toml_and_wrong_types_give_the_line() {
    expect_rejected(&replaced("steps = 30", "steps = 30 30"), &["s.toml:"]);
    expect_rejected(&replaced("steps = 30", "steps = -3"), &["s.toml:", "u32"]);
    expect_rejected(&replaced("steps = 30", "steps = \"many\""), &["s.toml:"]);
}

#[test]
fn unknown_asset_and_protocol_names() {
    expect_rejected(
        &set("pools.ETH.base", "\"ETX\""),
        &["pools.ETX.base", "unknown asset `ETX`"],
    );
    expect_rejected(
        &set("protocols.lend.debt_asset", "\"USDT\""),
        &["protocols.lend.debt_asset", "USDT"],
    );
    expect_rejected(
        &set("positions.0.protocol", "\"lent\""),
        &["positions[0].protocol", "unknown protocol `lent`"],
    );
    expect_rejected(&set("shocks.0.asset", "\"SOL\""), &["shocks[0].asset"]);
}

#[test]
fn thresholds_outside_the_unit_interval() {
    expect_rejected(
        &set("protocols.lend.collateral.ETH.liquidation_threshold", "1.2"),
        &[
            "protocols.lend.collateral.ETH.liquidation_threshold",
            "outside (0, 1]",
        ],
    );
    expect_rejected(
        &set("protocols.lend.collateral.ETH.liquidation_threshold", "0.0"),
        &["protocols.lend.collateral.ETH.liquidation_threshold"],
    );
    expect_rejected(
        &edit(
            SMALL,
            &[Edit::Add("protocols.lend.close_factor", val("1.5"))],
        ),
        &["protocols.lend.close_factor"],
    );
}

#[test]
fn max_ltv_above_the_liquidation_threshold() {
    expect_rejected(
        &set("protocols.lend.collateral.BTC.max_ltv", "0.8"),
        &[
            "protocols.lend.collateral.BTC.max_ltv",
            "above the liquidation threshold 0.75",
        ],
    );
}

#[test]
fn non_positive_prices_and_reserves() {
    expect_rejected(
        &set("assets.ETH.price", "0.0"),
        &["assets.ETH.price", "must be positive"],
    );
    expect_rejected(&set("assets.ETH.price", "-5.0"), &["assets.ETH.price"]);
    expect_rejected(
        &set("pools.ETH.base_reserve", "0.0"),
        &["pools.ETH.base_reserve", "must be positive"],
    );
}

#[test]
fn bad_correlation_matrices() {
    expect_rejected(
        &set("correlation.matrix", "[[1.0, 0.7], [0.6, 1.0]]"),
        &["correlation.matrix", "symmetric"],
    );
    expect_rejected(
        &set("correlation.matrix", "[[1.0, 0.7], [0.7, 0.9]]"),
        &["correlation.matrix", "diagonal"],
    );
    let three = edit(
        SMALL,
        &[
            Edit::Set("correlation.assets", val("[\"ETH\", \"BTC\", \"SOL\"]")),
            Edit::Set(
                "correlation.matrix",
                val("[[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]"),
            ),
            Edit::Push(
                "assets",
                table("symbol = \"SOL\"\nprice = 100.0\nprocess = { kind = \"gbm\", vol = 1.0 }"),
            ),
        ],
    );
    expect_rejected(&three, &["correlation.matrix", "positive semi-definite"]);
    expect_rejected(
        &set("correlation.assets", "[\"ETH\", \"USDC\"]"),
        &["correlation.assets[1]", "fixed price"],
    );
}

#[test]
fn nan_and_infinite_numbers() {
    expect_rejected(
        &set("assets.ETH.price", "nan"),
        &["assets.ETH.price", "not a finite number"],
    );
    expect_rejected(
        &set("assets.BTC.process.vol", "inf"),
        &["assets.BTC.process.vol", "not a finite number"],
    );
    expect_rejected(&set("shocks.ETH.return", "nan"), &["shocks[0].return"]);
}

#[test]
fn zero_steps_paths_rounds_or_record_interval() {
    for field in [
        "simulation.steps",
        "simulation.paths",
        "simulation.max_cascade_rounds",
        "simulation.record_every",
    ] {
        let key = field.trim_start_matches("simulation.");
        let zero = if SMALL.contains(&format!("\n{key} =")) {
            edit(SMALL, &[Edit::Set(field, val("0"))])
        } else {
            edit(SMALL, &[Edit::Add(field, val("0"))])
        };
        expect_rejected(&zero, &[field, "at least 1"]);
    }
}

#[test]
fn populations_that_break_max_ltv() {
    expect_rejected(
        &set("populations.0.health_factor.min", "1.02"),
        &["populations[0].health_factor", "max_ltv"],
    );
}

#[test]
fn a_missing_positions_file() {
    expect_rejected(
        &format!("positions_file = \"nowhere.csv\"\n{SMALL}"),
        &["positions_file", "nowhere.csv", "not found"],
    );
}

#[test]
fn a_missing_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["run", "absent.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("absent.toml: cannot read"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_command_line_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SMALL).unwrap();
    for args in [
        vec!["run", "s.toml", "--threads", "0"],
        vec!["run", "s.toml", "--paths", "0"],
        vec!["run", "s.toml", "--paths", "many"],
    ] {
        let out = cli(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

/// Names are checked by kind and compared ignoring case, since output
/// folders and files take them and disks may ignore case: a second
/// protocol or liquidator whose name differs only in case is refused,
/// naming the kind and the name; the simulation's name is checked too.
#[test]
fn names_listed_twice_ignoring_case_are_refused() {
    let twice = |kind: &str, from: &str, to: &str| {
        let tail = SMALL.split(&format!("[[{kind}]]")).nth(1).unwrap();
        let block = tail.split("\n[[").next().unwrap();
        let copy = block.replacen(from, to, 1);
        assert_ne!(copy, block, "test set-up: `{from}` in the {kind} block");
        format!("{SMALL}\n[[{kind}]]{copy}")
    };
    expect_rejected(
        &twice("liquidators", "name = \"bot\"", "name = \"BOT\""),
        &[
            "liquidators.BOT",
            "listed twice (names are compared ignoring case)",
        ],
    );
    expect_rejected(
        &twice("assets", "symbol = \"ETH\"", "symbol = \"eth\""),
        &["assets.eth", "listed twice"],
    );
    expect_rejected(
        &set("simulation.name", "\"a b\""),
        &["simulation.name", "contains ' '"],
    );
}
