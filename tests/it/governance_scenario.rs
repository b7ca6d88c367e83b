//! The claims of scenarios/governance-vs-agent.toml, on the sweep over its
//! delay (scenarios/sweeps/governance-delay.toml) and its agent twin
//! (scenarios/governance-vs-agent-steward.toml), all on the scenario's own
//! seed and paths (common random numbers).

use std::path::{Path, PathBuf};

use crate::common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sweep's per-path table `table` of run `run`.
fn run_table(out: &Path, table: &str, run: u32) -> polars::prelude::DataFrame {
    read(&out.join(format!("{table}/run-{run:05}/part-0000.parquet")))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn governance_delay_costs_bad_debt_and_the_agent_beats_no_action() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = root().join("scenarios/sweeps/governance-delay.toml");
    let out = dir.path().join("sweep");
    let res = cli(
        dir.path(),
        &[
            "sweep",
            sweep.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    // Run 0: no action (the vote fails); runs 1–4: delays 0, 24, 72, 168 h.
    let bad: Vec<Vec<f64>> = (0..5)
        .map(|r| f64s(&run_table(&out, "paths", r), "bad_debt"))
        .collect();
    let means: Vec<f64> = bad.iter().map(|b| mean(b)).collect();
    assert!(
        means[1] < means[2] && means[2] < means[3] && means[3] < means[4],
        "bad debt by delay 0, 24, 72, 168 h: {:?}",
        &means[1..]
    );
    // 168 h: pending or never raised at the end, so no action, path by path.
    assert_eq!(bad[4], bad[0], "168 h against no action");
    let actors = run_table(&out, "path_actors", 4);
    let fates = strs(&actors, "fate");
    assert!(
        fates.iter().all(|f| f == "pending" || f == "not_raised"),
        "{fates:?}"
    );
    assert!(fates.iter().any(|f| f == "pending"));
    assert!(i64s(&actors, "changes").iter().all(|&c| c == 0));
    // Run 0 raises and rejects; run 1 executes at once.
    assert!(
        strs(&run_table(&out, "path_actors", 0), "fate")
            .iter()
            .all(|f| f != "executed")
    );
    let a1 = run_table(&out, "path_actors", 1);
    let raised = i64_opts(&a1, "raised");
    let first = i64_opts(&a1, "first_change");
    for (r, f) in raised.iter().zip(&first) {
        if let Some(r) = r {
            assert_eq!(
                *f,
                Some(r + 1),
                "no delay executes the step after the signal"
            );
        }
    }

    // The cut is a crash of its own: with no delay, GOV at hour 13 is below
    // 60% of its no-action price on most recorded paths, and its mean over
    // them below two thirds of no action's.
    let gov_at = |run: u32, step: u32| -> Vec<(u32, f64)> {
        let m = run_table(&out, "market", run);
        let (paths, steps, assets) = (u32s(&m, "path"), u32s(&m, "step"), strs(&m, "asset"));
        let f = f64s(&m, "fundamental");
        (0..m.height())
            .filter(|&r| steps[r] == step && assets[r] == "GOV")
            .map(|r| (paths[r], f[r]))
            .collect()
    };
    let (calm, cut) = (gov_at(0, 13), gov_at(1, 13));
    assert_eq!(calm.len(), 10, "ten recorded paths");
    let mut below = 0;
    for ((p, a), (q, b)) in calm.iter().zip(&cut) {
        assert_eq!(p, q);
        below += usize::from(*b < 0.6 * a);
    }
    let total = |v: &[(u32, f64)]| v.iter().map(|x| x.1).sum::<f64>();
    assert!(below > 5, "{below} of 10 paths: {calm:?} against {cut:?}");
    assert!(
        total(&cut) < total(&calm) * 2.0 / 3.0,
        "{calm:?} against {cut:?}"
    );
    let caused = i64s(&run_table(&out, "path_actors", 1), "liquidations");
    assert!(caused.iter().sum::<i64>() > 0);

    // The agent twin on the same seed and paths.
    let run = dir.path().join("agent");
    let twin = root().join("scenarios/governance-vs-agent-steward.toml");
    let res = cli(
        dir.path(),
        &[
            "run",
            twin.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let agent = f64s(&read(&run.join("paths.parquet")), "bad_debt");
    assert_eq!(agent.len(), bad[0].len());
    assert!(
        mean(&agent) < means[3] && means[3] < means[0],
        "agent {} against 72 h {} and no action {}",
        mean(&agent),
        means[3],
        means[0]
    );
    // Its cuts liquidate borrowers healthy under the scenario's threshold
    // on most paths.
    let caused = i64s(&read(&run.join("path_actors.parquet")), "liquidations");
    let hit = caused.iter().filter(|&&n| n > 0).count();
    assert!(2 * hit > caused.len(), "{hit} of {} paths", caused.len());
    // It acts from the first hours, before any proposal could.
    let first = i64_opts(&read(&run.join("path_actors.parquet")), "first_change");
    let acted: Vec<i64> = first.iter().flatten().copied().collect();
    assert!(acted.len() * 10 >= first.len() * 9, "{acted:?}");
}

/// The two files are the same crash: identical from `[simulation]` to the
/// actor, but for the name.
#[test]
fn the_agent_twin_is_the_governance_scenario_up_to_the_actor() {
    let body = |name: &str| -> String {
        let text = std::fs::read_to_string(root().join(format!("scenarios/{name}.toml"))).unwrap();
        let from = text.find("[simulation]").unwrap();
        let to = text.find("# --- the actor").unwrap();
        text[from..to]
            .lines()
            .filter(|l| !l.starts_with("name = "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        body("governance-vs-agent"),
        body("governance-vs-agent-steward")
    );
    // And the governance file's notes appear word for word in the twin's.
    let notes = |name: &str| -> String {
        let text = std::fs::read_to_string(root().join(format!("scenarios/{name}.toml"))).unwrap();
        text[..text.find("[simulation]").unwrap()].to_string()
    };
    let gov = notes("governance-vs-agent");
    let from = gov.find("# What it shows").unwrap();
    assert!(notes("governance-vs-agent-steward").contains(&gov[from..]));
}
