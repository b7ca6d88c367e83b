//! The memory estimate that refuses oversized runs before they allocate
//! (`scenario::limits`), checked against what runs really hold: this test
//! binary counts every heap allocation, so each case measures the peak heap
//! of validating and running a scenario. One case per term of the estimate,
//! each sized so that term dominates. The estimate must not fall short of
//! the peak (a run it lets through must fit), and the dominant term must not
//! overstate the peak by more than `SLACK` (or it refuses runs that fit).
//!
//! The cases run one after another in one test: the counter is the
//! process's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use contagion::scenario::limits::{MemoryEstimate, estimate};
use contagion::scenario::raw::RawScenario;
use contagion::{Overrides, RunOptions, Scenario};

struct Counting;

static NOW: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

fn grew(by: u64) {
    let now = NOW.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size() as u64);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        NOW.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let old = layout.size() as u64;
            let new = new_size as u64;
            if new >= old {
                grew(new - old);
            } else {
                NOW.fetch_sub(old - new, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Worker threads of every case (the estimate's `threads`).
const THREADS: usize = 2;

/// How far the dominant term may overstate the measured peak.
const SLACK: f64 = 3.0;

/// Peak heap above the starting level while validating and running `text`
/// into a temporary folder; and the estimate of it.
fn measure(text: &str) -> (u64, MemoryEstimate) {
    let raw = RawScenario::from_toml_str(text, "case").unwrap();
    let est = estimate(&raw, THREADS as u64);
    let dir = tempfile::tempdir().unwrap();
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    {
        let sc = Scenario::from_toml(text, "case", dir.path(), &Overrides::default()).unwrap();
        let opts = RunOptions {
            out: dir.path().join("run"),
            force: false,
            threads: Some(THREADS),
            progress: false,
            search: Default::default(),
            cuts: Vec::new(),
        };
        contagion::run(&sc, &opts).unwrap();
    }
    (PEAK.load(Ordering::Relaxed) - base, est)
}

/// A lending market on ETH with `extra` appended.
fn scenario(simulation: &str, extra: &str) -> String {
    format!(
        r#"
[simulation]
name = "memory"
{simulation}

[[assets]]
symbol = "ETH"
price = 2000.0
process = {{ kind = "gbm", drift = 0.0, vol = 0.8 }}

[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 100000.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
oracle = {{ source = "pool", lag_steps = 0 }}

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.7

[[liquidators]]
name = "bot"
capital = "unlimited"
{extra}"#
    )
}

fn population(count: u32) -> String {
    format!(
        r#"
[[populations]]
protocol = "lend"
collateral_asset = "ETH"
count = {count}
size_usd = {{ dist = "lognormal", median = 10000.0, sigma = 1.0 }}
health_factor = {{ dist = "uniform", min = 1.2, max = 3.0 }}
"#
    )
}

/// Three perp markets and four hedgers over 20,000 steps, both paths
/// recorded: their rows (`perps.parquet`, `greeks.parquet`) dominate.
fn agents_and_perps() -> String {
    let mut t = String::from(
        "[simulation]\nname = \"agents\"\nsteps = 20000\npaths = 2\nrecord_paths = 2\n\n\
         [[assets]]\nsymbol = \"USDC\"\nprice = 1.0\n",
    );
    for (a, price) in [("ETH", 2000.0), ("BTC", 40000.0), ("SOL", 100.0)] {
        t += &format!(
            "\n[[assets]]\nsymbol = \"{a}\"\nprice = {price}\nprocess = {{ kind = \"gbm\", vol = 0.5 }}\n\n\
             [[pools]]\nbase = \"{a}\"\nquote = \"USDC\"\nbase_reserve = 100000.0\n\n\
             [[perps]]\nname = \"{a}-perp\"\nasset = \"{a}\"\ninitial_margin = 0.1\n\
             maintenance_margin = 0.05\nfunding = {{ clamp = 0.01, period_hours = 8.0 }}\n\n\
             [[perp_positions]]\nperp = \"{a}-perp\"\nside = \"long\"\nsize = 1.0\nmargin = {m}\n",
            m = price
        );
    }
    for k in 0..4 {
        t += &format!(
            "\n[[hedgers]]\nname = \"dealer-{k}\"\nasset = \"ETH\"\nsurface = {{ atm = 0.7 }}\nband = 1.0\n\
             options = [{{ kind = \"put\", strike = 1800.0, expiry_hours = 100000.0, quantity = -10.0 }}]\n"
        );
    }
    t
}

/// Thirty assets read by an oracle 150,000 steps late: the price history
/// each worker keeps for it dominates.
fn lagged_history() -> String {
    let mut t = String::from(
        "[simulation]\nname = \"lagged\"\nsteps = 150000\npaths = 2\nrecord_paths = 0\n\n\
         [[assets]]\nsymbol = \"USDC\"\nprice = 1.0\n\n\
         [[protocols]]\nname = \"lend\"\nkind = \"lending\"\ndebt_asset = \"USDC\"\n\
         oracle = { source = \"fundamental\", lag_steps = 150000 }\n",
    );
    for k in 0..30 {
        t += &format!(
            "\n[[assets]]\nsymbol = \"A{k}\"\nprice = 10.0\nprocess = {{ kind = \"gbm\", vol = 0.5 }}\n\n\
             [[protocols.collateral]]\nasset = \"A{k}\"\nliquidation_threshold = 0.8\n\
             liquidation_bonus = 0.05\nmax_ltv = 0.7\n"
        );
    }
    t + "\n[[positions]]\nprotocol = \"lend\"\ndebt = 10.0\ncollateral = { A0 = 10.0 }\n"
}

/// 100,000 perp accounts, each in three markets: the book dominates.
fn perp_book() -> String {
    let mut t = String::from(
        "[simulation]\nname = \"perp-book\"\nsteps = 2\npaths = 2\nrecord_paths = 0\n\n\
         [[assets]]\nsymbol = \"USDC\"\nprice = 1.0\n",
    );
    let mut names = Vec::new();
    for (a, price) in [("ETH", 2000.0), ("BTC", 40000.0), ("SOL", 100.0)] {
        t += &format!(
            "\n[[assets]]\nsymbol = \"{a}\"\nprice = {price}\nprocess = {{ kind = \"gbm\", vol = 0.5 }}\n\n\
             [[pools]]\nbase = \"{a}\"\nquote = \"USDC\"\nbase_reserve = 100000.0\n\n\
             [[perps]]\nname = \"{a}-perp\"\nasset = \"{a}\"\ninitial_margin = 0.1\n\
             maintenance_margin = 0.05\n"
        );
        names.push(format!("\"{a}-perp\""));
    }
    t + &format!(
        "\n[[perp_populations]]\nperps = [{}]\nsides = [\"long\", \"short\", \"long\"]\ncount = 100000\n\
         notional_usd = {{ dist = \"lognormal\", median = 20000.0, sigma = 1.0 }}\n\
         leverage = {{ dist = \"uniform\", min = 2.0, max = 5.0 }}\nmargin_mode = \"cross\"\n",
        names.join(", ")
    )
}

/// 400,000 CDP vaults, none unsafe: the vault book dominates.
fn vault_book() -> String {
    "[simulation]\nname = \"vaults\"\nsteps = 2\npaths = 2\nrecord_paths = 0\n\n\
     [[assets]]\nsymbol = \"ETH\"\nprice = 2000.0\n\n\
     [[assets]]\nsymbol = \"DAI\"\nprice = 1.0\n\n\
     [[cdps]]\nname = \"maker\"\nstablecoin = \"DAI\"\nauction = \"dutch\"\n\n\
     [cdps.collateral.ETH]\nliquidation_ratio = 1.5\n\n\
     [[cdps.vault_populations]]\ncollateral = \"ETH\"\ncount = 400000\n\
     size = { dist = \"lognormal\", median = 20000.0, sigma = 1.0 }\n\
     health = { dist = \"uniform\", min = 2.0, max = 3.0 }\n"
        .to_string()
}

/// The term of the estimate a case is sized to exercise.
type Term = fn(&MemoryEstimate) -> u64;

#[test]
fn the_memory_estimate_bounds_each_term_of_what_a_run_holds() {
    let cases: Vec<(&str, String, Term)> = vec![
        (
            "book",
            scenario(
                "steps = 2\npaths = 2\nrecord_paths = 0",
                &population(300_000),
            ),
            |e| e.book,
        ),
        (
            "per path",
            scenario(
                "steps = 1\npaths = 400000\nrecord_paths = 0",
                &population(10),
            ),
            |e| e.per_path,
        ),
        (
            "steps, none recorded",
            scenario(
                "steps = 200000\npaths = 2\nrecord_paths = 0",
                &population(10),
            ),
            |e| e.per_step,
        ),
        ("price history", lagged_history(), |e| e.history),
        ("perp accounts", perp_book(), |e| e.book),
        ("CDP vaults", vault_book(), |e| e.book),
        (
            "per step, with perps and option agents",
            agents_and_perps(),
            |e| e.per_step,
        ),
        (
            "per step",
            scenario(
                "steps = 100000\npaths = 2\nrecord_paths = 2",
                &population(10),
            ),
            |e| e.per_step,
        ),
    ];
    // One-time set-up (thread pools, the chart font, lazy statics) is
    // not the run's: a small run first.
    measure(&scenario("steps = 2\npaths = 2", &population(10)));
    let mut report = Vec::new();
    for (name, text, term) in &cases {
        let (peak, est) = measure(text);
        let t = term(&est);
        report.push(format!(
            "{name}: peak {peak} B; estimate {} B, of which this term {t} B ({est:?})",
            est.total()
        ));
        eprintln!("{}", report.last().unwrap());
        assert!(
            est.total() >= peak,
            "{name}: the estimate {} falls short of the peak {peak}",
            est.total()
        );
        assert!(
            (t as f64) <= SLACK * peak as f64,
            "{name}: the term {t} overstates the peak {peak} more than {SLACK}×"
        );
        assert!(
            2 * t >= est.total(),
            "{name}: the case is meant to be dominated by this term: {est:?}"
        );
    }
}
