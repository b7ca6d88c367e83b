//! Limits checked before anything is allocated: lags that fit in the run,
//! and an estimate of the memory a run will hold, refused with a clear error
//! when it exceeds what the machine has (rather than letting the allocator
//! abort the process).

use crate::error::ScenarioError;
use crate::scenario::raw::RawScenario;

/// Memory assumed available when `/proc/meminfo` cannot be read, bytes.
const FALLBACK_AVAILABLE: u64 = 8 << 30;

/// Bytes of one path's summary row kept until the end of a run (the row and
/// its per-protocol vectors, the copies the summary statistics sort, and
/// `paths.parquet`'s columns while it is written): about 480 measured by
/// tests/memory.rs (with the raid columns), with room for a vector's growth.
const SUMMARY_BYTES: u64 = 640;

/// Bytes of one recorded step per asset, protocol, perp and option agent in
/// a recorded path's row buffers (the widest tables' columns: a greeks row
/// is 124 bytes, four of its columns optional).
const ROW_BYTES_ASSET: u64 = 24;
const ROW_BYTES_PROTOCOL: u64 = 200;
const ROW_BYTES_PERP: u64 = 140;
const ROW_BYTES_AGENT: u64 = 130;
/// A `cdp.parquet` row: 12 f64 and u32 columns.
const ROW_BYTES_CDP: u64 = 120;

/// Bytes every step holds whether recorded or not (its scripted shocks and
/// the engine's per-step bookkeeping): about 57 measured by tests/memory.rs.
const STEP_BYTES: u64 = 64;

/// Bytes of one position in the book and in one world's state (units, debt,
/// index entries, liquidation keys, contagion share).
const POSITION_BYTES: u64 = 200;

/// Bytes of one perp position (an account in one market) in the book and
/// in one world's state (entry mark and funding, collateral, the
/// liquidation index's entry and slot): about 42 measured by
/// tests/memory.rs.
const PERP_POSITION_BYTES: u64 = 64;

/// Bytes of one CDP vault in the scenario and in one world's state (type,
/// collateral, normalised debt: 24 each), with room for the rest of a CDP
/// (about 24.2 measured by tests/memory.rs).
const VAULT_BYTES: u64 = 32;

/// Paths whose time series feed the charts, at most (`output::charts`).
const CHART_PATHS: u64 = 1000;

/// What a run of `raw` (with `paths` paths) needs, term by term, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct MemoryEstimate {
    /// Summary rows of every path (grows with `simulation.paths`).
    pub per_path: u64,
    /// Per-step tables: scripted shocks, chart series and the row buffers of
    /// the recorded paths being simulated at once (grows with `simulation.steps`
    /// over `record_every`).
    pub per_step: u64,
    /// Price history for lagged oracles, per worker thread.
    pub history: u64,
    /// The book (explicit and generated positions), shared, and each worker
    /// thread's copy of its state.
    pub book: u64,
}

impl MemoryEstimate {
    /// The total, bytes.
    pub fn total(&self) -> u64 {
        self.per_path
            .saturating_add(self.per_step)
            .saturating_add(self.history)
            .saturating_add(self.book)
    }
}

/// Largest oracle or index lag of the scenario, and the field that sets it.
fn max_lag(raw: &RawScenario) -> Option<(u32, String)> {
    let oracles = raw.protocols.iter().map(|p| {
        (
            p.oracle.lag_steps,
            format!("protocols.{}.oracle.lag_steps", p.name),
        )
    });
    let perps = raw.perps.iter().map(|p| {
        (
            p.index_lag_steps,
            format!("perps.{}.index_lag_steps", p.name),
        )
    });
    oracles.chain(perps).max_by_key(|l| l.0)
}

/// Steps a recorded path keeps out of `steps` (and step 0): 0, e, 2e, …
/// for `record_every` = e (`Scenario::records_step`).
pub fn recorded_steps(steps: u64, record_every: u32) -> u64 {
    steps / record_every.max(1) as u64 + 1
}

/// Estimate the memory a run of `raw` holds at its peak.
pub fn estimate(raw: &RawScenario, threads: u64) -> MemoryEstimate {
    let sim = &raw.simulation;
    let paths = sim.paths as u64;
    let steps = sim.steps as u64;
    let recorded_steps = recorded_steps(steps, sim.record_every);
    let record_paths = sim.record_paths.map_or(CHART_PATHS, u64::from).min(paths);
    let (assets, protocols, perps) = (
        raw.assets.len() as u64,
        raw.protocols.len() as u64,
        raw.perps.len() as u64,
    );
    let agents = (raw.hedgers.len() + raw.option_vaults.len()) as u64;
    let per_path = paths.saturating_mul(SUMMARY_BYTES + 24 * protocols);
    // Chart series: prices, pegs, two per hedger and perp, liquidated value,
    // and with governance actors a price and each governed field (at most
    // `MAX_PANELS`).
    let governed: std::collections::BTreeSet<&String> = (raw.governance.iter())
        .flat_map(|c| c.set.keys())
        .chain(raw.proposals.iter().flat_map(|p| p.set.keys()))
        .chain(raw.risk_agents.iter().flat_map(|a| a.set.keys()))
        .collect();
    let paused: usize = (raw.guardians.iter())
        .map(|g| g.pauses.as_ref().map_or(1, Vec::len))
        .sum();
    let fields = governed.len() + paused;
    let governance = if fields > 0 {
        1 + fields.min(crate::mechanism::governance::raw::MAX_PANELS) as u64
    } else {
        0
    };
    let series = assets + 2 * agents + 2 * perps + 1 + governance;
    let charts = record_paths
        .min(CHART_PATHS)
        .saturating_mul(recorded_steps)
        .saturating_mul(series * 8)
        .saturating_add(recorded_steps.saturating_mul(series * 24));
    let row = assets * ROW_BYTES_ASSET
        + raw.cdps.len() as u64 * ROW_BYTES_CDP
        + protocols * ROW_BYTES_PROTOCOL
        + perps * ROW_BYTES_PERP
        + agents * ROW_BYTES_AGENT;
    // Each worker's recorded path holds its rows in buffers that grow by
    // doubling (up to twice the rows); the block before it is held by the
    // writer thread (`run::write_blocks`) while it is written, and a
    // finished path's frame copies its rows once more.
    let rows = if record_paths > 0 {
        recorded_steps
            .saturating_mul(row)
            .saturating_mul(4 * threads.min(record_paths) + 1)
    } else {
        0
    };
    let fixed = (steps + 1).saturating_mul(STEP_BYTES);
    // The price history reaches back the largest lag or TWAP window.
    let window = raw
        .protocols
        .iter()
        .filter_map(|p| p.oracle.window_hours)
        .map(|w| {
            (w / raw.simulation.dt_hours)
                .round()
                .clamp(0.0, steps as f64 + 1.0) as u64
        })
        .max()
        .unwrap_or(0);
    let lag = max_lag(raw).map_or(0, |l| l.0 as u64).max(window);
    let positions =
        raw.positions.len() as u64 + raw.populations.iter().map(|p| p.count as u64).sum::<u64>();
    let perp_positions = raw.perp_positions.len() as u64
        + raw
            .perp_populations
            .iter()
            .map(|p| p.count as u64 * p.perps.len().max(1) as u64)
            .sum::<u64>();
    let vaults: u64 = raw
        .cdps
        .iter()
        .map(|c| {
            c.vaults.len() as u64
                + c.vault_populations
                    .iter()
                    .map(|p| p.count as u64)
                    .sum::<u64>()
        })
        .sum();
    MemoryEstimate {
        book: positions
            .saturating_mul(POSITION_BYTES)
            .saturating_add(perp_positions.saturating_mul(PERP_POSITION_BYTES))
            .saturating_add(vaults.saturating_mul(VAULT_BYTES))
            .saturating_mul(1 + threads),
        per_path,
        per_step: charts.saturating_add(rows).saturating_add(fixed),
        history: (lag + 1)
            .saturating_mul(assets * 16)
            .saturating_mul(threads),
    }
}

/// Memory this machine has available, bytes (`MemAvailable` of
/// `/proc/meminfo`; 8 GiB where that cannot be read).
pub fn available_memory() -> u64 {
    available_in(std::fs::read_to_string("/proc/meminfo").ok().as_deref())
}

/// `MemAvailable` of a `/proc/meminfo` text in bytes, or 8 GiB without one.
fn available_in(meminfo: Option<&str>) -> u64 {
    meminfo
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(FALLBACK_AVAILABLE, |kb| kb.saturating_mul(1024))
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Check the lags fit in the run and the run fits in `available` bytes.
pub fn check(raw: &RawScenario, available: u64) -> Result<(), ScenarioError> {
    let sim = &raw.simulation;
    if let Some((lag, field)) = max_lag(raw)
        && lag > sim.steps
    {
        return Err(ScenarioError::invalid(
            field,
            format!(
                "{lag} exceeds simulation.steps = {}: the price would never be read",
                sim.steps
            ),
        ));
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let need = estimate(raw, threads);
    if need.total() > available {
        let field = if need.book >= need.per_path.max(need.per_step).max(need.history) {
            "populations.count".to_string()
        } else if need.per_path >= need.per_step.max(need.history) {
            "simulation.paths".to_string()
        } else if need.per_step >= need.history {
            "simulation.steps".to_string()
        } else {
            max_lag(raw).map_or("simulation.steps".to_string(), |l| l.1)
        };
        return Err(ScenarioError::invalid(
            field,
            format!(
                "a run this size needs about {} of memory ({} for the book, {} for the paths' summaries, {} for per-step series, {} for price history), more than the {} available",
                gib(need.total()),
                gib(need.book),
                gib(need.per_path),
                gib(need.per_step),
                gib(need.history),
                gib(available)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(extra: &str) -> RawScenario {
        let text = format!(
            r#"
[simulation]
name = "t"
steps = 10
paths = 5
{extra}
[[assets]]
symbol = "ETH"
price = 2000.0
[[assets]]
symbol = "USDC"
price = 1.0
[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
oracle = {{ source = "fundamental", lag_steps = 3 }}
[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75
"#
        );
        RawScenario::from_toml_str(&text, "t.toml").unwrap()
    }

    /// The estimate's count of recorded steps is the engine's: the steps
    /// `Scenario::records_step` keeps, step 0 included.
    #[test]
    fn recorded_steps_are_the_steps_the_engine_records() {
        let mut checked = 0;
        for (steps, every) in [
            (10, 1),
            (10, 3),
            (10, 5),
            (10, 10),
            (10, 11),
            (1, 1),
            (0, 4),
        ] {
            let text = format!(
                "[simulation]\nname = \"t\"\nsteps = {steps}\npaths = 1\nrecord_every = {every}\n\n\
                 [[assets]]\nsymbol = \"USDC\"\nprice = 1.0\n\n\
                 [[assets]]\nsymbol = \"ETH\"\nprice = 2000.0\n\n\
                 [[protocols]]\nname = \"lend\"\nkind = \"lending\"\ndebt_asset = \"USDC\"\n\n\
                 [[protocols.collateral]]\nasset = \"ETH\"\nliquidation_threshold = 0.8\n\
                 liquidation_bonus = 0.05\nmax_ltv = 0.7\n"
            );
            let Ok(sc) = crate::scenario::validated::Scenario::from_toml(
                &text,
                "t.toml",
                std::path::Path::new("."),
                &Default::default(),
            ) else {
                continue;
            };
            let kept = (0..=sc.steps).filter(|&t| sc.records_step(t)).count() as u64;
            assert_eq!(
                recorded_steps(steps, every),
                kept,
                "steps {steps}, every {every}"
            );
            checked += 1;
        }
        assert!(checked >= 6, "only {checked} scenarios were valid");
    }

    /// Without `/proc/meminfo` (or with a text that does not say), 8 GiB
    /// are assumed; a `MemAvailable` line is read in kB.
    #[test]
    fn available_memory_reads_mem_available_or_assumes_8_gib() {
        assert_eq!(available_in(None), 8 * 1024 * 1024 * 1024);
        assert_eq!(available_in(Some("MemTotal: 9 kB\n")), 8 << 30);
        let text = "MemTotal:       24000000 kB\nMemFree: 1 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(available_in(Some(text)), 2048 * 1024);
    }

    #[test]
    fn a_small_run_fits_and_a_huge_one_names_its_field() {
        assert!(check(&raw(""), 1 << 30).is_ok());
        let mut r = raw("");
        r.simulation.paths = u32::MAX;
        let e = check(&r, 24 << 30).unwrap_err();
        assert_eq!(e.field(), Some("simulation.paths"), "{e}");
        let mut r = raw("");
        r.simulation.steps = u32::MAX;
        let e = check(&r, 24 << 30).unwrap_err();
        assert_eq!(e.field(), Some("simulation.steps"), "{e}");
        assert!(e.to_string().contains("GiB"), "{e}");
        let mut r = raw("");
        r.simulation.steps = 10;
        r.populations = RawScenario::from_toml_str(
            "[simulation]\nname = \"x\"\nsteps = 1\n[[assets]]\nsymbol = \"E\"\nprice = 1.0\n[[populations]]\nprotocol = \"lend\"\ncount = 4294967295\ncollateral_asset = \"E\"\nsize_usd = { dist = \"lognormal\", median = 1.0, sigma = 1.0 }\nhealth_factor = { dist = \"uniform\", min = 1.5, max = 2.0 }\n",
            "p.toml",
        )
        .unwrap()
        .populations;
        let e = check(&r, 24 << 30).unwrap_err();
        assert_eq!(e.field(), Some("populations.count"), "{e}");
    }

    #[test]
    fn a_lag_longer_than_the_run_is_refused() {
        let mut r = raw("");
        r.protocols[0].oracle.lag_steps = 11;
        let e = check(&r, 1 << 30).unwrap_err();
        assert_eq!(e.field(), Some("protocols.lend.oracle.lag_steps"), "{e}");
        r.protocols[0].oracle.lag_steps = 10;
        assert!(check(&r, 1 << 30).is_ok());
    }

    /// A run that needs exactly what is available is let through; a byte
    /// less is refused.
    #[test]
    fn a_run_fits_in_exactly_its_estimate() {
        let r = raw("");
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let need = estimate(&r, threads).total();
        assert!(check(&r, need).is_ok());
        assert!(check(&r, need - 1).is_err());
    }

    /// Chart series: with actors, a price panel and one per governed
    /// field; a guardian draws one per thing it pauses. Five paths, all
    /// charted, and 11 recorded steps: a series costs 5·11·8 + 11·24 bytes.
    #[test]
    fn each_thing_a_guardian_pauses_is_a_chart_series() {
        let with = |pauses: &str| {
            raw(&format!(
                "[[guardians]]\nprotocol = \"lend\"\nsignal = {{ kind = \"drawdown\", asset = \"ETH\" }}\nabove = 0.1\nhours = 1.0\n{pauses}\n"
            ))
        };
        let none = estimate(&raw(""), 1).per_step;
        let series = 5 * 11 * 8 + 11 * 24;
        assert_eq!(estimate(&with(""), 1).per_step - none, 2 * series);
        let both = with("pauses = [\"liquidations\", \"borrowing\"]");
        assert_eq!(estimate(&both, 1).per_step - none, 3 * series);
    }

    #[test]
    fn the_estimate_grows_with_paths_and_recorded_steps() {
        let small = estimate(&raw(""), 2);
        let mut r = raw("");
        r.simulation.paths = 5_000_000;
        assert!(estimate(&r, 2).per_path >= 5_000_000 * SUMMARY_BYTES);
        let mut r = raw("");
        r.simulation.steps = 1_000_000;
        let big = estimate(&r, 2);
        assert!(big.per_step > 100 * small.per_step);
        r.simulation.record_every = 1000;
        assert!(estimate(&r, 2).per_step < big.per_step / 10);
    }
}
