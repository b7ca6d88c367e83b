//! The merge: completed units read back and summarised per run into
//! `runs.parquet` (docs/sweeps.md).

use std::path::Path;

use polars::prelude::*;

use crate::error::{OutputError, RunError, ScenarioError};
use crate::montecarlo::bootstrap::{TailIntervals, bootstrap_rng, tail_intervals};
use crate::output::parquet::write_frame;
use crate::sweep::files::*;
use crate::sweep::spec::{Run, Sweep};

/// One run's row of `runs.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Run id.
    pub run: u32,
    /// Debt of the run's book at step 0, USD.
    pub initial_debt_usd: f64,
    /// Per metric: mean, p05, p50, p95, VaR99, ES99 over the run's paths.
    pub metrics: Vec<[f64; 6]>,
    /// Per metric: bootstrap 95% intervals of VaR99 and ES99.
    pub intervals: Vec<TailIntervals>,
    /// For the overlapping-portfolio family (docs/model.md §19): the
    /// run's contagions.
    pub contagion: Option<Contagion>,
}

/// How often one failure spread, and how far (docs/model.md §19).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contagion {
    /// Share of paths on which at least `contagion_share` of the holders
    /// failed.
    pub probability: f64,
    /// Its 95% Wilson score interval.
    pub lo: f64,
    pub hi: f64,
    /// Mean share of the holders that failed over those paths (None
    /// without any).
    pub extent: Option<f64>,
}

impl Contagion {
    /// From each path's count of failed holders, of `holders`, a path
    /// counting as a contagion at `share` of them or more.
    pub fn of(failed: &[f64], holders: f64, share: f64) -> Contagion {
        let n = failed.len() as f64;
        let hits: Vec<f64> = failed
            .iter()
            .map(|f| f / holders)
            .filter(|&x| x >= share)
            .collect();
        let p = hits.len() as f64 / n;
        let (lo, hi) = wilson(hits.len() as f64, n, 1.959_963_984_540_054);
        Contagion {
            probability: p,
            lo,
            hi,
            extent: (!hits.is_empty()).then(|| hits.iter().sum::<f64>() / hits.len() as f64),
        }
    }
}

/// The Wilson score interval of k successes in n trials at z:
/// `(p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`.
pub fn wilson(k: f64, n: f64, z: f64) -> (f64, f64) {
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The metrics `runs.parquet` summarises, as columns of `paths.parquet`.
pub const METRICS: [&str; 5] = [
    "bad_debt",
    "bad_debt_contagion",
    "insolvent_debt",
    "liquidated_value",
    "liquidations",
];

/// Statistic suffixes of each metric in `runs.parquet`.
pub const STATS: [&str; 6] = ["mean", "p05", "p50", "p95", "var99", "es99"];

pub(super) fn stats(values: &[f64]) -> [f64; 6] {
    let m = crate::montecarlo::metrics::loss_metrics(values);
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| crate::montecarlo::metrics::quantile_sorted(&sorted, p);
    [m.mean, q(0.05), q(0.5), q(0.95), m.var99, m.es99]
}

/// Read a run's `paths` parts back and summarise them.
pub(super) fn run_row(sw: &Sweep, out: &Path, run: &Run) -> Result<RunRow, RunError> {
    let sc = sw.scenario(run)?;
    let family = sc.resolved.overlapping_portfolios.clone();
    let mut failed: Vec<f64> = Vec::new();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); METRICS.len()];
    for b in 0..sw.units_per_run() {
        let f = unit_file(
            out,
            "paths",
            Unit {
                run: run.id,
                block: b,
            },
        );
        let file = std::fs::File::open(&f).map_err(io(&f))?;
        let df = ParquetReader::new(file)
            .finish()
            .map_err(|e| OutputError::Parquet {
                path: f.clone(),
                message: e.to_string(),
            })?;
        let wanted = METRICS.iter().zip(cols.iter_mut());
        let extra = family
            .as_ref()
            .map(|_| ("positions_liquidated", &mut failed));
        for (m, col) in wanted.map(|(m, c)| (*m, c)).chain(extra) {
            let c = df.column(m).map_err(|e| OutputError::Parquet {
                path: f.clone(),
                message: e.to_string(),
            })?;
            let c = c
                .cast(&DataType::Float64)
                .map_err(|e| OutputError::Parquet {
                    path: f.clone(),
                    message: e.to_string(),
                })?;
            col.extend(c.f64().expect("cast to f64").into_no_null_iter());
        }
    }
    let debt: f64 = crate::output::summary::initial_debts(&sc).iter().sum();
    // The bootstrap of metric m draws from stream m of the sweep's seed,
    // the same in every run: like the paths, the runs' intervals differ by
    // the setting, not by the resampling noise.
    Ok(RunRow {
        run: run.id,
        initial_debt_usd: debt,
        metrics: cols.iter().map(|c| stats(c)).collect(),
        intervals: cols
            .iter()
            .enumerate()
            .map(|(m, c)| tail_intervals(c, 0.99, &mut bootstrap_rng(sw.base.seed, m as u64)))
            .collect(),
        contagion: family.map(|f| Contagion::of(&failed, f.holders as f64, f.contagion_share)),
    })
}

/// `runs.parquet` from completed units. Errors,
/// naming the first missing unit, when the sweep is not complete.
pub fn write_runs(sw: &Sweep, out: &Path) -> Result<Vec<RunRow>, RunError> {
    let all = units(sw);
    let missing: Vec<&Unit> = all.iter().filter(|&&u| !complete(sw, out, u)).collect();
    if let Some(first) = missing.first() {
        return Err(ScenarioError::invalid(
            "--merge",
            format!(
                "{} of {} units are not complete (first: run {:05} part {}); run the sweep (or its missing shards) again",
                missing.len(),
                all.len(),
                first.run,
                first.block
            ),
        )
        .into());
    }
    clear_temporaries(out)?;
    let rows: Vec<RunRow> = sw
        .runs
        .iter()
        .map(|r| run_row(sw, out, r))
        .collect::<Result<_, _>>()?;
    let h = rows.len();
    let mut cols: Vec<Column> = vec![Column::new(
        "run".into(),
        rows.iter().map(|r| r.run as i64).collect::<Vec<_>>(),
    )];
    for (i, field) in sw.fields().iter().enumerate() {
        cols.push(if numeric_axis(sw, i) {
            Column::new(
                field.as_str().into(),
                sw.runs
                    .iter()
                    .map(|r| as_f64(&r.values[i]).unwrap_or(f64::NAN))
                    .collect::<Vec<_>>(),
            )
        } else {
            Column::new(
                field.as_str().into(),
                sw.runs
                    .iter()
                    .map(|r| as_text(&r.values[i]))
                    .collect::<Vec<_>>(),
            )
        });
    }
    cols.push(Column::new("paths".into(), vec![sw.base.paths; h]));
    cols.push(Column::new(
        "initial_debt_usd".into(),
        rows.iter().map(|r| r.initial_debt_usd).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "tail_paths_99".into(),
        rows.iter()
            .map(|r| r.intervals.first().map_or(0, |t| t.tail_paths) as u32)
            .collect::<Vec<_>>(),
    ));
    for (m, metric) in METRICS.iter().enumerate() {
        for (s, stat) in STATS.iter().enumerate() {
            cols.push(Column::new(
                format!("{metric}_{stat}").into(),
                rows.iter().map(|r| r.metrics[m][s]).collect::<Vec<_>>(),
            ));
            let bound = |f: fn(&TailIntervals) -> f64| -> Vec<f64> {
                rows.iter().map(|r| f(&r.intervals[m])).collect()
            };
            let (lo, hi) = match *stat {
                "var99" => (bound(|t| t.var.lo), bound(|t| t.var.hi)),
                "es99" => (bound(|t| t.es.lo), bound(|t| t.es.hi)),
                _ => continue,
            };
            cols.push(Column::new(format!("{metric}_{stat}_lo").into(), lo));
            cols.push(Column::new(format!("{metric}_{stat}_hi").into(), hi));
        }
    }
    if rows.iter().all(|r| r.contagion.is_some()) && !rows.is_empty() {
        let c = |f: fn(&Contagion) -> f64| -> Vec<f64> {
            rows.iter()
                .map(|r| f(r.contagion.as_ref().expect("all")))
                .collect()
        };
        cols.push(Column::new(
            "contagion_probability".into(),
            c(|x| x.probability),
        ));
        cols.push(Column::new("contagion_probability_lo".into(), c(|x| x.lo)));
        cols.push(Column::new("contagion_probability_hi".into(), c(|x| x.hi)));
        cols.push(Column::new(
            "contagion_extent_mean".into(),
            rows.iter()
                .map(|r| r.contagion.and_then(|x| x.extent))
                .collect::<Vec<_>>(),
        ));
    }
    let df = DataFrame::new(h, cols).expect("columns of one height");
    let meta = serde_json::json!({
        "tool": "contagion",
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": crate::output::manifest::GIT_COMMIT,
        "sweep": { "name": sw.raw.sweep.name, "hash": sw.hash, "seed": sw.base.seed },
    })
    .to_string();
    let target = out.join("runs.parquet");
    let tmp = temporary(&target);
    let _temps = Temporaries::new(vec![tmp.clone()]);
    write_frame(&tmp, df, &meta)?;
    rename_into_place(&tmp, &target)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wilson's interval against hand-computed values: 0 of 200 gives
    /// [0, z²/(n + z²)]; 100 of 200 gives 0.5 ± 0.0686.
    #[test]
    fn wilson_intervals_by_hand() {
        let z = 1.959_963_984_540_054;
        let (lo, hi) = wilson(0.0, 200.0, z);
        assert!(lo.abs() < 1e-15, "{lo}");
        assert!((hi - z * z / (200.0 + z * z)).abs() < 1e-12, "{hi}");
        let (lo, hi) = wilson(100.0, 200.0, z);
        assert!(
            (lo - 0.431_36).abs() < 1e-5 && (hi - 0.568_64).abs() < 1e-5,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(200.0, 200.0, z);
        assert!((lo - 200.0 / (200.0 + z * z)).abs() < 1e-12 && hi == 1.0);
    }

    /// Two of four paths reach 5% of 1,000 holders (60 and 990 failed):
    /// probability 0.5, extent given contagion (0.06 + 0.99)/2; a path at
    /// exactly 50 counts; none at all leaves no extent.
    #[test]
    fn contagion_of_failed_counts() {
        let c = Contagion::of(&[1.0, 2.0, 60.0, 990.0], 1000.0, 0.05);
        assert_eq!(c.probability, 0.5);
        assert!((c.extent.unwrap() - 0.525).abs() < 1e-12);
        assert_eq!(Contagion::of(&[50.0, 49.0], 1000.0, 0.05).probability, 0.5);
        assert_eq!(Contagion::of(&[3.0], 1000.0, 0.05).extent, None);
    }
}
