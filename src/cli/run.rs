//! `contagion run`: one scenario into its run folder, and the headline
//! figures on stdout.

use std::io::IsTerminal;
use std::path::Path;

use contagion::engine::CandidateSearch;
use contagion::run::{RunReport, Summary};
use contagion::{Overrides, RunError, RunOptions, Scenario, ScenarioError};

use super::validate::unhealthy_line;
use crate::{RunArgs, load};

pub(crate) fn run(args: RunArgs) -> Result<(), RunError> {
    if args.threads == Some(0) {
        return Err(ScenarioError::invalid("--threads", "must be at least 1").into());
    }
    if args.paths == Some(0) {
        return Err(ScenarioError::invalid("--paths", "must be at least 1").into());
    }
    let overrides = Overrides {
        paths: args.paths,
        seed: args.seed,
    };
    let mut cuts = Vec::new();
    for c in &args.cut {
        match c.split_once(':') {
            Some((p, a)) if !p.is_empty() && !a.is_empty() => {
                cuts.push((p.to_string(), a.to_string()))
            }
            _ => {
                return Err(ScenarioError::invalid(
                    "--cut",
                    format!("`{c}` is not PROTOCOL:ASSET"),
                )
                .into());
            }
        }
    }
    let sc = load(args.scenario.as_deref(), &overrides)?;
    let out = args
        .out
        .unwrap_or_else(|| Path::new("output").join(&sc.name));
    let opts = RunOptions {
        out,
        force: args.force,
        threads: args.threads,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        search: if args.full_scan {
            CandidateSearch::FullScan
        } else {
            CandidateSearch::Indexed
        },
        cuts,
    };
    if let Some(line) = unhealthy_line(&sc)
        && !args.quiet
    {
        eprintln!("{line}");
    }
    let report = contagion::run(&sc, &opts)?;
    if !args.quiet {
        print_report(&sc, &report);
    }
    Ok(())
}

/// The run's headline on stdout: where it went, then the lending, perp and
/// attribution figures.
fn print_report(sc: &Scenario, report: &RunReport) {
    let s = &report.summary;
    println!(
        "{}: {} paths × {} steps, {} positions in {:.1} s → {}",
        sc.name,
        s.paths,
        s.steps,
        s.positions,
        report.wall_seconds,
        report.out.display()
    );
    print_lending(s);
    print_perps(s);
    print_attribution(s);
}

/// Bad debt, its tail interval and each protocol's, if there is lending.
fn print_lending(s: &Summary) {
    if !s.protocols.is_empty() {
        println!(
            "bad debt: mean {:.0} USD, VaR95 {:.0}, VaR99 {:.0}, P(>0) {:.1}%; insolvent debt VaR95 {:.0}; liquidated value LaR95 {:.0}",
            s.bad_debt.mean,
            s.bad_debt.var95,
            s.bad_debt.var99,
            100.0 * s.bad_debt.prob_positive,
            s.headline.var95_insolvent_debt,
            s.headline.lar95_liquidated_value
        );
    }
    if !s.protocols.is_empty() {
        let c = &s.tail_ci.bad_debt;
        println!(
            "  bad debt VaR99 95% interval {:.0}–{:.0}, ES99 {:.0}–{:.0} (bootstrap; the 1% tail is {} paths)",
            c.var.lo, c.var.hi, c.es.lo, c.es.hi, c.tail_paths
        );
        if s.tail_ci.thin() {
            eprintln!(
                "contagion: warning: VaR99 and ES99 rest on {} paths; run at least {} paths for a tail of {}",
                c.tail_paths,
                100 * contagion::montecarlo::bootstrap::MIN_TAIL_PATHS,
                contagion::montecarlo::bootstrap::MIN_TAIL_PATHS
            );
        }
    }
    if s.protocols.len() > 1 {
        for p in &s.protocols {
            println!(
                "  {}: bad debt mean {:.0} USD, VaR99 {:.0} ({:.3}% of its {:.0} USD of debt); liquidated value mean {:.0}; insolvent debt VaR95 {:.0}",
                p.protocol,
                p.bad_debt.mean,
                p.bad_debt.var99,
                100.0 * p.bad_debt.var99 / p.initial_debt_usd.max(f64::MIN_POSITIVE),
                p.initial_debt_usd,
                p.liquidated_value.mean,
                p.insolvent_debt.var95
            );
        }
    }
}

/// Perp liquidations, ADL, insurance funds and vault bad debt.
fn print_perps(s: &Summary) {
    if let Some(p) = &s.perps {
        println!(
            "perps: {:.0} accounts liquidated and {:.0} positions auto-deleveraged per path on average; insurance funds drawn {:.0} USD, vault bad debt {:.0} USD (mean), {:.0} (VaR99)",
            p.liquidations.mean,
            p.adl_events.mean,
            p.fund_drawn.mean,
            p.vault_bad_debt.mean,
            p.vault_bad_debt.var99
        );
        if p.markets.len() > 1 {
            for m in &p.markets {
                println!(
                    "  {}: {:.0} liquidated and {:.0} auto-deleveraged per path; fund drawn {:.0} USD, vault bad debt {:.0} (mean), {:.0} (VaR99)",
                    m.market,
                    m.liquidations.mean,
                    m.adl_events.mean,
                    m.fund_drawn.mean,
                    m.vault_bad_debt.mean,
                    m.vault_bad_debt.var99
                );
            }
        }
    }
}

/// What came through the cut links (`--cut`).
fn print_attribution(s: &Summary) {
    if let Some(a) = &s.attribution {
        for p in &a.protocols {
            println!(
                "{}: mean bad debt {:.0} USD as run, {:.0} with {} cut: {:.0} came through it; liquidated value {:.0} via it",
                p.protocol,
                p.bad_debt,
                p.bad_debt_cut,
                a.cuts.join(", "),
                p.bad_debt_via_links,
                p.liquidated_value_via_links
            );
        }
    }
}
