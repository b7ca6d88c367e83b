//! A sweep file, its design, and the scenario of each run (docs/sweeps.md).
//!
//! ```toml
//! [sweep]
//! name = "liquidation-threshold"
//! scenario = "../default.toml"        # relative to the sweep file
//! design = "grid"                     # or "random", "latin_hypercube"
//!
//! [[axes]]
//! field = "protocols.lend.collateral.ETH.liquidation_threshold"
//! values = [0.78, 0.80, 0.83, 0.86]   # grid; random/LHS take min and max
//! ```

use std::path::{Path, PathBuf};

use crate::error::ScenarioError;
use crate::scenario::raw::RawScenario;
use crate::scenario::raw::parse_error;
use crate::scenario::validated::Scenario;
pub use crate::sweep::design::{Run, design};
pub use crate::sweep::raw::{BookMode, Design, RawAxis, RawSweep, RawSweepFile};

/// A validated sweep: every run's scenario can be built.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The file as parsed.
    pub raw: RawSweepFile,
    /// The sweep file, as given.
    pub file: PathBuf,
    /// The base scenario file.
    pub scenario_file: PathBuf,
    /// Base scenario text.
    pub base_text: String,
    /// Runs in id order.
    pub runs: Vec<Run>,
    /// Hash of the sweep file, the base scenario and the tool version (FNV-1a
    /// 64, hex): completion records of another sweep are never reused.
    pub hash: String,
    /// The base scenario (with the sweep's paths and seed).
    pub base: Scenario,
    /// The comment block at the top of the sweep file.
    pub notes: String,
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn read(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: path.display().to_string(),
        source,
    })
}

impl Sweep {
    /// Parse and validate a sweep file, including every run's scenario.
    pub fn load(file: &Path) -> Result<Sweep, ScenarioError> {
        let label = file.display().to_string();
        let text = read(file)?;
        let raw: RawSweepFile =
            toml::from_str(&text).map_err(|e| parse_error(&text, &label, &e))?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let scenario_file = dir.join(&raw.sweep.scenario);
        let base_text = read(&scenario_file)?;
        let s = &raw.sweep;
        let bad = |field: &str, problem: String| ScenarioError::Invalid {
            file: label.clone(),
            field: field.to_string(),
            problem,
        };
        crate::scenario::check::check_name("sweep.name", &s.name).map_err(|e| e.in_file(&label))?;
        if let Some(b) = s.budget_share_of_debt
            && !(b.is_finite() && b > 0.0)
        {
            return Err(bad(
                "sweep.budget_share_of_debt",
                format!("{b} must be a positive share of the debt"),
            ));
        }
        if s.paths == Some(0) {
            return Err(bad("sweep.paths", "must be at least 1".into()));
        }
        if s.paths_per_unit == Some(0) {
            return Err(bad("sweep.paths_per_unit", "must be at least 1".into()));
        }
        if raw.axes.is_empty() {
            return Err(bad("axes", "a sweep needs at least one axis".into()));
        }
        let base_value: toml::Value = toml::from_str(&base_text)
            .map_err(|e| parse_error(&base_text, &scenario_file.display().to_string(), &e))?;
        for (i, a) in raw.axes.iter().enumerate() {
            let field = format!("axes[{i}].field");
            if s.book == BookMode::Base
                && (a.field.starts_with("populations")
                    || a.field.starts_with("positions")
                    || a.field.starts_with("perp_populations")
                    || a.field.starts_with("perp_positions")
                    || a.field.starts_with("overlapping_portfolios"))
            {
                return Err(bad(
                    &field,
                    format!(
                        "`{}` changes the book, which this sweep holds fixed; set `book = \"per_run\"` in [sweep]",
                        a.field
                    ),
                ));
            }
            let mut probe = base_value.clone();
            lookup(&mut probe, &a.field).map_err(|p| bad(&field, p))?;
        }
        let runs = design(&raw).map_err(|(f, p)| bad(&f, p))?;

        let overrides = crate::scenario::validated::Overrides {
            paths: s.paths,
            seed: s.seed,
        };
        let base = Scenario::from_toml(
            &base_text,
            &scenario_file.display().to_string(),
            dir_of(&scenario_file),
            &overrides,
        )?;
        let mut h = fnv1a(text.as_bytes(), 0xcbf2_9ce4_8422_2325);
        h = fnv1a(base_text.as_bytes(), h);
        h = fnv1a(env!("CARGO_PKG_VERSION").as_bytes(), h);
        // The dataset's layout: a folder written by another layout is
        // another sweep (run-NNNNN folders and Int64 keys since layout 2).
        h = fnv1a(b"layout 2", h);
        let sweep = Sweep {
            raw,
            file: file.to_path_buf(),
            scenario_file,
            base_text,
            runs,
            hash: format!("{h:016x}"),
            base,
            notes: crate::scenario::validated::leading_comments(&text),
        };
        // Every run must be a valid scenario before anything is written.
        for r in &sweep.runs {
            sweep.scenario(r)?;
        }
        Ok(sweep)
    }

    /// Number of units a run is split into.
    pub fn units_per_run(&self) -> u32 {
        let per = self.raw.sweep.paths_per_unit.unwrap_or(self.base.paths);
        self.base.paths.div_ceil(per.max(1))
    }

    /// The paths of unit `block` of a run.
    pub fn unit_paths(&self, block: u32) -> std::ops::Range<u32> {
        let per = self
            .raw
            .sweep
            .paths_per_unit
            .unwrap_or(self.base.paths)
            .max(1);
        (block * per)..((block + 1) * per).min(self.base.paths)
    }

    /// The axes' field names.
    pub fn fields(&self) -> Vec<String> {
        self.raw.axes.iter().map(|a| a.field.clone()).collect()
    }

    /// The scenario of run `r`: the base with the run's values set, its paths
    /// and seed from the sweep, its recorded paths, and (by default) the base
    /// book under its own parameters.
    pub fn scenario(&self, r: &Run) -> Result<Scenario, ScenarioError> {
        let label = format!("{} (run {:05})", self.file.display(), r.id);
        let mut value: toml::Value = toml::from_str(&self.base_text)
            .map_err(|e| ScenarioError::invalid("scenario", e.message().to_string()))?;
        for (axis, v) in self.raw.axes.iter().zip(&r.values) {
            let leaf = lookup(&mut value, &axis.field)
                .map_err(|p| ScenarioError::invalid(&axis.field, p).in_file(&label))?;
            *leaf = match (&*leaf, v) {
                (toml::Value::Integer(_), toml::Value::Float(f)) if f.fract() == 0.0 => {
                    toml::Value::Integer(*f as i64)
                }
                _ => v.clone(),
            };
        }
        let text = toml::to_string(&value)
            .map_err(|e| ScenarioError::invalid("scenario", e.to_string()).in_file(&label))?;
        // A type error is the axis's value: cite the sweep file's line that
        // names the axis, not a line of the generated text.
        let mut raw = RawScenario::from_toml_str(&text, &label).map_err(|e| match e {
            ScenarioError::Parse { message, .. } => {
                let sweep_text = std::fs::read_to_string(&self.file).unwrap_or_default();
                let line = self
                    .raw
                    .axes
                    .iter()
                    .filter_map(|a| sweep_text.find(&format!("\"{}\"", a.field)))
                    .min()
                    .map_or(1, |at| sweep_text[..at].matches('\n').count() + 1);
                ScenarioError::Parse {
                    file: self.file.display().to_string(),
                    line,
                    message: format!("run {:05} ({}): {message}", r.id, self.describe(r)),
                }
            }
            other => other,
        })?;
        if let Some(p) = self.raw.sweep.paths {
            raw.simulation.paths = p;
        }
        if let Some(s) = self.raw.sweep.seed {
            raw.simulation.seed = s;
        }
        raw.simulation.record_paths = Some(self.raw.sweep.record_paths);
        let dir = dir_of(&self.scenario_file);
        let built = match self.raw.sweep.book {
            BookMode::Base => Scenario::from_raw_on_book(raw, dir, &self.base.book),
            BookMode::PerRun => Scenario::from_raw(raw, dir),
        };
        built.map_err(|e| {
            ScenarioError::invalid(
                format!("run {:05} ({})", r.id, self.describe(r)),
                e.to_string(),
            )
            .in_file(&self.file.display().to_string())
        })
    }

    /// `field=value, …` of a run.
    pub fn describe(&self, r: &Run) -> String {
        self.raw
            .axes
            .iter()
            .zip(&r.values)
            .map(|(a, v)| format!("{}={}", a.field, v))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn dir_of(p: &Path) -> &Path {
    p.parent().unwrap_or(Path::new("."))
}

pub use crate::scenario::fields::lookup;

#[cfg(test)]
mod tests {
    use super::*;

    fn file(design: &str, axes: &str) -> RawSweepFile {
        toml::from_str(&format!(
            "[sweep]\nname = \"s\"\nscenario = \"x.toml\"\n{design}\n{axes}"
        ))
        .unwrap()
    }

    #[test]
    fn a_grid_is_the_product_with_the_first_axis_slowest_and_zips_move_together() {
        let f = file(
            "",
            "[[axes]]\nfield = \"a\"\nvalues = [1, 2]\n[[axes]]\nfield = \"b\"\nmin = 0.0\nmax = 1.0\nsteps = 3\n[[axes]]\nfield = \"c\"\nvalues = [\"x\", \"y\", \"z\"]\nzip = \"bc\"\n[[axes]]\nfield = \"d\"\nvalues = [10, 20, 30]\nzip = \"bc\"",
        );
        // b is not zipped with c: groups are a, b, (c, d).
        let runs = design(&f).unwrap();
        assert_eq!(runs.len(), 2 * 3 * 3);
        assert_eq!(runs[0].values[0].as_integer(), Some(1));
        assert_eq!(runs[9].values[0].as_integer(), Some(2));
        assert_eq!(runs[3].values[1].as_float(), Some(0.5));
        for r in &runs {
            let c = r.values[2].as_str().unwrap();
            let d = r.values[3].as_integer().unwrap();
            assert_eq!(
                d,
                match c {
                    "x" => 10,
                    "y" => 20,
                    _ => 30,
                }
            );
        }
    }

    /// Each of the `count` slices of each axis holds exactly one run.
    #[test]
    fn a_latin_hypercube_fills_every_slice_once() {
        let f = file(
            "design = \"latin_hypercube\"\ncount = 16\ndesign_seed = 3",
            "[[axes]]\nfield = \"a\"\nmin = 0.0\nmax = 8.0\n[[axes]]\nfield = \"b\"\nmin = -1.0\nmax = 1.0",
        );
        let runs = design(&f).unwrap();
        assert_eq!(runs.len(), 16);
        for (axis, lo, hi) in [(0, 0.0, 8.0), (1, -1.0, 1.0)] {
            let mut seen = [false; 16];
            for r in &runs {
                let x: f64 = r.values[axis].as_float().unwrap();
                let slot = (((x - lo) / (hi - lo)) * 16.0) as usize;
                assert!(!seen[slot], "slice {slot} twice");
                seen[slot] = true;
            }
        }
        // The design seed fixes the draws.
        assert_eq!(design(&f).unwrap(), runs);
    }

    /// Random draws stay in [min, max], pick only listed values, move zipped
    /// axes together (the same quantile), and are fixed by the design seed.
    #[test]
    fn random_draws_respect_ranges_lists_and_zips() {
        let f = file(
            "design = \"random\"\ncount = 50\ndesign_seed = 9",
            "[[axes]]\nfield = \"a\"\nmin = 2.0\nmax = 3.0\nzip = \"z\"\n[[axes]]\nfield = \"b\"\nmin = 10.0\nmax = 20.0\nzip = \"z\"\n[[axes]]\nfield = \"c\"\nvalues = [\"x\", \"y\"]",
        );
        let runs = design(&f).unwrap();
        assert_eq!(runs.len(), 50);
        let mut seen = std::collections::BTreeSet::new();
        for r in &runs {
            let (a, b) = (
                r.values[0].as_float().unwrap(),
                r.values[1].as_float().unwrap(),
            );
            assert!((2.0..3.0).contains(&a) && (10.0..20.0).contains(&b));
            assert!(
                ((a - 2.0) - (b - 10.0) / 10.0).abs() < 1e-12,
                "zipped: {a} {b}"
            );
            seen.insert(r.values[2].as_str().unwrap().to_string());
        }
        assert_eq!(seen.len(), 2);
        assert_eq!(design(&f).unwrap(), runs);
        let other = file(
            "design = \"random\"\ncount = 50\ndesign_seed = 10",
            "[[axes]]\nfield = \"a\"\nmin = 2.0\nmax = 3.0",
        );
        assert_ne!(design(&other).unwrap()[0].values[0], runs[0].values[0]);
    }
}
