//! Proposals and risk agents (docs/model.md §18) against an independent
//! reading of the text: random small scenarios run through the binary, the
//! ETH fundamental read back from `market.parquet`, the signals and the
//! timing rules computed here from the text alone, and every parameter
//! change (`parameters.parquet`) and every actor's record
//! (`path_actors.parquet`) compared with what they should be, step by step.
//!
//! Nothing here reads the engine's code: the signals (drawdown, EWMA
//! volatility), the span of hours in steps (`⌈h / dt⌉`, within 1e-9 of a
//! whole number), a proposal's raise, due step and fate, and an agent's
//! wanted level, step cap and 24-hour cap are written out below as §18
//! states them.

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;

use crate::common::*;

const LT_FIELD: &str = "collateral.ETH.liquidation_threshold";
const LTV_FIELD: &str = "collateral.ETH.max_ltv";
/// The scenario's own values of the two fields.
const LT_OLD: f64 = 0.8;
const LTV_OLD: f64 = 0.75;

/// splitmix64: small, seeded, enough for drawing cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform integer in lo..=hi.
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// What an actor watches, on ETH.
#[derive(Debug, Clone)]
enum Signal {
    Drawdown,
    /// `lambda` and `start` as written (None: left to their defaults,
    /// 0.94 and 0).
    Volatility {
        lambda: Option<f64>,
        start: Option<f64>,
    },
}

impl Signal {
    fn toml(&self) -> String {
        match self {
            Signal::Drawdown => "{ kind = \"drawdown\", asset = \"ETH\" }".into(),
            Signal::Volatility { lambda, start } => {
                let mut s = "{ kind = \"volatility\", asset = \"ETH\"".to_string();
                if let Some(l) = lambda {
                    write!(s, ", lambda = {l:?}").unwrap();
                }
                if let Some(v) = start {
                    write!(s, ", start = {v:?}").unwrap();
                }
                s + " }"
            }
        }
    }

    /// The signal as observed at the end of every step 0..=T of a path
    /// whose fundamentals are `f` (§18, "Signals").
    fn series(&self, f: &[f64], dt_hours: f64) -> Vec<f64> {
        match self {
            Signal::Drawdown => {
                let mut peak = f64::NEG_INFINITY;
                f.iter()
                    .map(|&x| {
                        peak = peak.max(x);
                        1.0 - x / peak
                    })
                    .collect()
            }
            Signal::Volatility { lambda, start } => {
                let lambda = lambda.unwrap_or(0.94);
                let start = start.unwrap_or(0.0);
                let dt_years = dt_hours / 8760.0;
                let mut v = start * start;
                let mut out = vec![v.sqrt()];
                for w in f.windows(2) {
                    let r = (w[1] / w[0]).ln();
                    v = lambda * v + (1.0 - lambda) * r * r / dt_years;
                    out.push(v.sqrt());
                }
                out
            }
        }
    }
}

/// A span of `hours` in steps of `dt` hours: `⌈h / dt⌉`, a whole number of
/// steps within 1e-9 counting as it (§18, "Time").
fn span_steps(hours: f64, dt: f64) -> u32 {
    let k = hours / dt;
    let r = k.round();
    if (k - r).abs() <= 1e-9 {
        r as u32
    } else {
        k.ceil() as u32
    }
}

#[derive(Debug, Clone)]
struct Proposal {
    signal: Signal,
    above: f64,
    delay_hours: f64,
    /// None: left to its default, 1.
    pass_probability: Option<f64>,
    /// None: left to its default, false.
    requires_signal: Option<bool>,
    /// Whether `set` also lowers `max_ltv` (to 0.73) with the threshold
    /// (to 0.78).
    with_ltv: bool,
}

impl Proposal {
    const LT_NEW: f64 = 0.78;
    const LTV_NEW: f64 = 0.73;
}

#[derive(Debug, Clone)]
struct Agent {
    signal: Signal,
    from: f64,
    to: f64,
    /// None: left to the default, 20.
    levels: Option<u32>,
    max_step: Option<f64>,
    max_day: Option<f64>,
}

impl Agent {
    const LT_NEW: f64 = 0.70;
    const LTV_NEW: f64 = 0.65;

    fn levels(&self) -> u32 {
        self.levels.unwrap_or(20)
    }

    /// Configuration `j`'s value of a field going from `old` to `new`.
    fn value(&self, j: u32, old: f64, new: f64) -> f64 {
        let n = self.levels();
        if j == n {
            new
        } else {
            old + (f64::from(j) / f64::from(n)) * (new - old)
        }
    }
}

#[derive(Debug, Clone)]
enum Actor {
    Proposal(Proposal),
    Agent(Agent),
}

#[derive(Debug, Clone)]
struct Case {
    dt_hours: f64,
    steps: u32,
    paths: u32,
    seed: u64,
    /// GBM volatility of ETH; None: a fixed price, moved only by shocks.
    vol: Option<f64>,
    /// (step, simple return), at distinct steps.
    shocks: Vec<(u32, f64)>,
    /// Debts of the positions, each with 10 ETH of collateral.
    debts: Vec<f64>,
    actor: Actor,
}

const NAME: &str = "watcher";

impl Case {
    fn toml(&self) -> String {
        let process = match self.vol {
            Some(v) => format!("process = {{ kind = \"gbm\", drift = 0.0, vol = {v:?} }}\n"),
            None => String::new(),
        };
        let mut t = format!(
            r#"[simulation]
name = "gov-independent"
steps = {steps}
paths = {paths}
dt_hours = {dt:?}
seed = {seed}
record_paths = {paths}
record_every = 1

[[assets]]
symbol = "ETH"
price = 2000.0
{process}
[[assets]]
symbol = "USDC"
price = 1.0

[[pools]]
base = "ETH"
quote = "USDC"
base_reserve = 1000000000.0
fee = 0.0

[[protocols]]
name = "lend"
kind = "lending"
debt_asset = "USDC"
close_factor = 0.5
full_liquidation_hf = 0.5
oracle = {{ source = "fundamental" }}

[[protocols.collateral]]
asset = "ETH"
liquidation_threshold = 0.8
liquidation_bonus = 0.05
max_ltv = 0.75

[[liquidators]]
name = "bot"
capital = "unlimited"
"#,
            steps = self.steps,
            paths = self.paths,
            dt = self.dt_hours,
            seed = self.seed,
        );
        for d in &self.debts {
            write!(
                t,
                "\n[[positions]]\nprotocol = \"lend\"\ndebt = {d:?}\ncollateral = {{ ETH = 10.0 }}\n"
            )
            .unwrap();
        }
        for (s, r) in &self.shocks {
            write!(
                t,
                "\n[[shocks]]\nstep = {s}\nasset = \"ETH\"\nreturn = {r:?}\n"
            )
            .unwrap();
        }
        let lt = "\"protocols.lend.collateral.ETH.liquidation_threshold\"";
        let ltv = "\"protocols.lend.collateral.ETH.max_ltv\"";
        match &self.actor {
            Actor::Proposal(p) => {
                write!(
                    t,
                    "\n[[proposals]]\nname = \"{NAME}\"\nsignal = {}\nabove = {:?}\ndelay_hours = {:?}\n",
                    p.signal.toml(),
                    p.above,
                    p.delay_hours
                )
                .unwrap();
                if let Some(pp) = p.pass_probability {
                    writeln!(t, "pass_probability = {pp:?}").unwrap();
                }
                if let Some(r) = p.requires_signal {
                    writeln!(t, "requires_signal = {r}").unwrap();
                }
                if p.with_ltv {
                    writeln!(
                        t,
                        "set = {{ {lt} = {:?}, {ltv} = {:?} }}",
                        Proposal::LT_NEW,
                        Proposal::LTV_NEW
                    )
                    .unwrap();
                } else {
                    writeln!(t, "set = {{ {lt} = {:?} }}", Proposal::LT_NEW).unwrap();
                }
            }
            Actor::Agent(a) => {
                write!(
                    t,
                    "\n[[risk_agents]]\nname = \"{NAME}\"\nsignal = {}\nfrom = {:?}\nto = {:?}\n",
                    a.signal.toml(),
                    a.from,
                    a.to
                )
                .unwrap();
                if let Some(n) = a.levels {
                    writeln!(t, "levels = {n}").unwrap();
                }
                if let Some(m) = a.max_step {
                    writeln!(t, "max_step = {m:?}").unwrap();
                }
                if let Some(m) = a.max_day {
                    writeln!(t, "max_day = {m:?}").unwrap();
                }
                writeln!(
                    t,
                    "set = {{ {lt} = {:?}, {ltv} = {:?} }}",
                    Agent::LT_NEW,
                    Agent::LTV_NEW
                )
                .unwrap();
            }
        }
        t
    }
}

/// The market of a case: step length, steps, paths, prices, book.
fn draw_market(rng: &mut Rng, actor: Actor) -> Case {
    let dt_hours = rng.pick(&[1.0, 2.0, 3.0, 0.5]);
    let steps = rng.int(30, 120);
    let paths = rng.int(2, 5);
    let seed = rng.next() % 1_000_000;
    // 0: GBM; 1: fixed with shocks; 2: GBM with shocks.
    let mode = rng.int(0, 2);
    let vol = (mode != 1).then(|| rng.range(0.5, 3.0));
    let mut shocks: Vec<(u32, f64)> = Vec::new();
    if mode != 0 {
        let n = rng.int(2, 5);
        while shocks.len() < n as usize {
            let s = rng.int(1, steps);
            if shocks.iter().any(|&(t, _)| t == s) {
                continue;
            }
            // Mostly falls; sometimes a rebound, so that a drawdown or a
            // volatility can come back below a threshold.
            let r = if rng.chance(0.3) {
                rng.range(0.05, 0.25)
            } else {
                -rng.range(0.05, 0.20)
            };
            shocks.push((s, r));
        }
        shocks.sort_by_key(|&(t, _)| t);
    }
    let debts = (0..rng.int(1, 3))
        .map(|_| (rng.range(4000.0, 12000.0) * 100.0).round() / 100.0)
        .collect();
    Case {
        dt_hours,
        steps,
        paths,
        seed,
        vol,
        shocks,
        debts,
        actor,
    }
}

fn draw_signal(rng: &mut Rng) -> Signal {
    if rng.chance(0.5) {
        Signal::Drawdown
    } else {
        let lambda = rng
            .chance(0.5)
            .then(|| rng.pick(&[0.94, 0.8, 0.9, 0.97, 0.5]));
        let start = rng.chance(0.5).then(|| rng.range(0.0, 1.5));
        Signal::Volatility { lambda, start }
    }
}

fn draw_proposal(rng: &mut Rng) -> Proposal {
    let signal = draw_signal(rng);
    let above = match signal {
        Signal::Drawdown => rng.range(0.01, 0.35),
        Signal::Volatility { .. } => rng.range(0.2, 3.0),
    };
    let delay_hours = match rng.int(0, 4) {
        0 => 0.0,
        // A whole number of steps.
        1 => f64::from(rng.int(1, 30)) * [1.0, 2.0, 3.0, 0.5][rng.int(0, 3) as usize],
        // Within 1e-9 of a whole number of hourly or 3-hourly steps,
        // above it: the tolerance makes it that number.
        2 => f64::from(rng.int(1, 10)) * 3.0 * (1.0 + 1e-13),
        // Anything.
        _ => rng.range(0.0, 48.0),
    };
    let pass_probability = match rng.int(0, 4) {
        0 => None,
        1 | 2 => Some(1.0),
        3 => Some(0.0),
        _ => Some(0.5),
    };
    let requires_signal = match rng.int(0, 2) {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    Proposal {
        signal,
        above,
        delay_hours,
        pass_probability,
        requires_signal,
        with_ltv: rng.chance(0.7),
    }
}

/// A cap as a share of the way: None (the default, 1), exactly 1, or a
/// share whose product with `levels` is well inside (k, k + 1) for some
/// whole k ≥ 1 (so that `⌊share·levels⌋` is k without doubt).
fn draw_cap(rng: &mut Rng, levels: u32) -> Option<f64> {
    match rng.int(0, 3) {
        0 => None,
        1 => Some(1.0),
        _ if levels == 1 => Some(1.0),
        _ => {
            let k = rng.int(1, (levels - 1).min(4));
            Some((f64::from(k) + rng.range(0.05, 0.95)) / f64::from(levels))
        }
    }
}

fn draw_agent(rng: &mut Rng) -> Agent {
    let signal = draw_signal(rng);
    let (mut from, mut to) = match signal {
        Signal::Drawdown => {
            let from = rng.range(0.0, 0.1);
            (from, rng.range(from + 0.02, 0.4))
        }
        Signal::Volatility { .. } => {
            let from = rng.range(0.2, 1.5);
            (from, rng.range(from + 0.1, 3.5))
        }
    };
    if rng.chance(0.3) {
        std::mem::swap(&mut from, &mut to);
    }
    let levels = (!rng.chance(0.2)).then(|| rng.int(2, 30));
    let n = levels.unwrap_or(20);
    Agent {
        signal,
        from,
        to,
        levels,
        max_step: draw_cap(rng, n),
        max_day: draw_cap(rng, n),
    }
}

/// What the binary wrote for a case.
struct Run {
    /// ETH fundamental per path, steps 0..=T.
    eth: Vec<Vec<f64>>,
    parameters: DataFrame,
    actors: DataFrame,
}

fn run_case(case: &Case, dir: &Path) -> Run {
    let text = case.toml();
    std::fs::write(dir.join("s.toml"), &text).unwrap();
    let out = cli(
        dir,
        &["run", "s.toml", "--quiet", "--force", "--out", "run"],
    );
    assert!(
        out.status.success(),
        "the run failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let market = read(&dir.join("run/market.parquet"));
    let (paths, steps, assets) = (
        i64s(&market, "path"),
        i64s(&market, "step"),
        strs(&market, "asset"),
    );
    let f = f64s(&market, "fundamental");
    let t_max = case.steps as usize;
    let mut eth = vec![vec![f64::NAN; t_max + 1]; case.paths as usize];
    let mut seen = 0;
    for r in 0..market.height() {
        if assets[r] == "ETH" {
            eth[paths[r] as usize][steps[r] as usize] = f[r];
            seen += 1;
        }
    }
    assert_eq!(
        seen,
        (t_max + 1) * case.paths as usize,
        "every path and step recorded\n{text}"
    );
    assert!(eth.iter().flatten().all(|x| x.is_finite() && *x > 0.0));
    Run {
        eth,
        parameters: read(&dir.join("run/parameters.parquet")),
        actors: read(&dir.join("run/path_actors.parquet")),
    }
}

fn opt_i64s(df: &DataFrame, name: &str) -> Vec<Option<i64>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect()
}

fn opt_strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

/// One row of `parameters.parquet`, or one expected.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    step: i64,
    field: String,
    old: f64,
    new: f64,
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1e-300) || a == b
}

/// The engine's rows for path `p`, sorted by step and field, after
/// checking the columns every row of this case shares.
fn engine_rows(run: &Run, case: &Case, actor: &str, p: u32, ctx: &str) -> Vec<Row> {
    let df = &run.parameters;
    let (paths, steps) = (i64s(df, "path"), i64s(df, "step"));
    let (change, target, field) = (
        i64s(df, "change"),
        opt_strs(df, "target"),
        opt_strs(df, "field"),
    );
    let (old, new) = (f64s(df, "old"), f64s(df, "new"));
    let (actors, names) = (opt_strs(df, "actor"), opt_strs(df, "name"));
    let mut rows = Vec::new();
    for r in 0..df.height() {
        assert!(
            (0..i64::from(case.paths)).contains(&paths[r]),
            "{ctx}: a row of path {}",
            paths[r]
        );
        if paths[r] != i64::from(p) {
            continue;
        }
        assert_eq!(change[r], 0, "{ctx}: the first (only) entry");
        assert_eq!(target[r].as_deref(), Some("lend"), "{ctx}");
        assert_eq!(actors[r].as_deref(), Some(actor), "{ctx}");
        assert_eq!(names[r].as_deref(), Some(NAME), "{ctx}");
        rows.push(Row {
            step: steps[r],
            field: field[r].clone().expect("a field"),
            old: old[r],
            new: new[r],
        });
    }
    rows.sort_by(|a, b| (a.step, &a.field).cmp(&(b.step, &b.field)));
    rows
}

fn assert_rows(got: &[Row], want: &[Row], ctx: &str) {
    let show = |rows: &[Row]| {
        rows.iter()
            .map(|r| format!("  step {} {} {:?} -> {:?}", r.step, r.field, r.old, r.new))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let same = got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| {
            g.step == w.step && g.field == w.field && near(g.old, w.old) && near(g.new, w.new)
        });
    assert!(
        same,
        "{ctx}\nparameters.parquet rows:\n{}\nexpected:\n{}",
        show(got),
        show(want)
    );
}

/// The `path_actors.parquet` row of one path.
struct ActorRow {
    changes: i64,
    first_change: Option<i64>,
    raised: Option<i64>,
    fate: Option<String>,
    liquidations: i64,
    liquidated_value: f64,
}

/// The one `path_actors.parquet` row of path `p`.
fn actor_row(run: &Run, p: u32, ctx: &str) -> ActorRow {
    let df = &run.actors;
    let paths = i64s(df, "path");
    let actor = opt_strs(df, "actor");
    assert!(
        paths.iter().all(|&q| (0..paths.len() as i64).contains(&q)),
        "{ctx}: path_actors paths {paths:?}"
    );
    let rows: Vec<usize> = (0..df.height())
        .filter(|&r| paths[r] == i64::from(p))
        .collect();
    assert_eq!(rows.len(), 1, "{ctx}: one actor row per path");
    let r = rows[0];
    assert_eq!(actor[r].as_deref(), Some(NAME), "{ctx}: the actor's name");
    ActorRow {
        changes: i64s(df, "changes")[r],
        first_change: opt_i64s(df, "first_change")[r],
        raised: opt_i64s(df, "raised")[r],
        fate: opt_strs(df, "fate")[r].clone(),
        liquidations: i64s(df, "liquidations")[r],
        liquidated_value: f64s(df, "liquidated_value")[r],
    }
}

/// A signal value within 1e-9 of a threshold would let rounding in the
/// last bit decide: the case is then not a fair test of the rule.
fn assert_no_tie(x: f64, threshold: f64, ctx: &str) {
    assert!(
        (x - threshold).abs() > 1e-9 * threshold.abs().max(1.0),
        "{ctx}: the signal {x} is within 1e-9 of {threshold}; pick another case seed"
    );
}

/// A proposal's expected outcome on one path: (raised, fate, the step it
/// takes effect).
fn expect_proposal(
    p: &Proposal,
    s: &[f64],
    dt: f64,
    passes: bool,
    ctx: &str,
) -> (Option<i64>, &'static str, Option<i64>) {
    for &x in s {
        assert_no_tie(x, p.above, ctx);
    }
    let t_max = s.len() - 1;
    // Raised at the end of the first step (0 included) whose signal is at
    // least `above`.
    let Some(t) = s.iter().position(|&x| x >= p.above) else {
        return (None, "not_raised", None);
    };
    let due = t + 1 + span_steps(p.delay_hours, dt) as usize;
    let raised = Some(t as i64);
    if due > t_max {
        return (raised, "pending", None);
    }
    if !passes {
        return (raised, "rejected", None);
    }
    // Its signal as observed at the end of the step before it is due.
    if p.requires_signal == Some(true) && s[due - 1] < p.above {
        return (raised, "cancelled", None);
    }
    (raised, "executed", Some(due as i64))
}

fn check_proposal_case(k: usize, case: &Case, p: &Proposal, dir: &Path) -> Vec<&'static str> {
    let text = case.toml();
    let run = run_case(case, dir);
    let pp = p.pass_probability.unwrap_or(1.0);
    let mut fates = Vec::new();
    for path in 0..case.paths {
        let ctx = format!(
            "case {k}, path {path}; scenario:\n{text}\nETH fundamental: {:?}",
            run.eth[path as usize]
        );
        let s = p.signal.series(&run.eth[path as usize], case.dt_hours);
        let ctx = format!("{ctx}\nsignal (end of steps 0..=T): {s:?}");
        let got = actor_row(&run, path, &ctx);
        let got_rows = engine_rows(&run, case, "governance", path, &ctx);
        let got_outcome = (got.changes, got.first_change, got.raised, got.fate.clone());
        // The vote: u < 1 always passes, u < 0 never does; any other
        // probability may go either way, but the rest must follow from
        // whichever way it went.
        let options: Vec<bool> = if pp >= 1.0 {
            vec![true]
        } else if pp <= 0.0 {
            vec![false]
        } else {
            vec![true, false]
        };
        let mut matched = None;
        let mut tried = Vec::new();
        for passes in options {
            let (w_raised, w_fate, w_exec) = expect_proposal(p, &s, case.dt_hours, passes, &ctx);
            let mut want_rows = Vec::new();
            if let Some(d) = w_exec {
                want_rows.push(Row {
                    step: d,
                    field: LT_FIELD.into(),
                    old: LT_OLD,
                    new: Proposal::LT_NEW,
                });
                if p.with_ltv {
                    want_rows.push(Row {
                        step: d,
                        field: LTV_FIELD.into(),
                        old: LTV_OLD,
                        new: Proposal::LTV_NEW,
                    });
                }
                want_rows.sort_by(|a, b| (a.step, &a.field).cmp(&(b.step, &b.field)));
            }
            let want = (
                i64::from(w_exec.is_some()),
                w_exec,
                w_raised,
                Some(w_fate.to_string()),
            );
            if got_outcome == want {
                matched = Some((w_fate, want_rows));
                break;
            }
            tried.push(want);
        }
        let Some((w_fate, want_rows)) = matched else {
            panic!(
                "{ctx}\n\
                 due at step raised + 1 + ⌈{:?} h / {:?} h⌉ = raised + 1 + {}\n\
                 path_actors (changes, first_change, raised, fate): {:?}\n\
                 expected one of: {tried:?}",
                p.delay_hours,
                case.dt_hours,
                span_steps(p.delay_hours, case.dt_hours),
                got_outcome,
            );
        };
        assert_rows(&got_rows, &want_rows, &ctx);
        if got.changes == 0 {
            assert_eq!(
                (got.liquidations, got.liquidated_value),
                (0, 0.0),
                "{ctx}: no change, no liquidation caused by one"
            );
        }
        fates.push(w_fate);
    }
    fates
}

/// An agent's expected level at steps 0..=T from the signal observed at
/// the end of steps 0..=T (the last one is read by no step).
fn expect_levels(a: &Agent, s: &[f64], dt: f64, ctx: &str) -> Vec<u32> {
    let n = i64::from(a.levels());
    let cap_step = (a.max_step.unwrap_or(1.0) * n as f64).floor() as i64;
    let cap_day = (a.max_day.unwrap_or(1.0) * n as f64).floor() as i64;
    let w = span_steps(24.0, dt) as usize;
    let t_max = s.len() - 1;
    let mut level = vec![0i64; t_max + 1];
    let mut moved = vec![0i64; t_max + 1];
    for t in 1..=t_max {
        let x = ((s[t - 1] - a.from) / (a.to - a.from)).clamp(0.0, 1.0);
        let y = n as f64 * x;
        assert_no_tie(y - y.floor(), 0.5, ctx);
        let want = y.round() as i64;
        let first = (t + 1).saturating_sub(w).max(1);
        let recent: i64 = moved[first..t].iter().sum();
        let allowed = cap_step.min((cap_day - recent).max(0));
        let mv = (want - level[t - 1]).clamp(-allowed, allowed);
        level[t] = level[t - 1] + mv;
        moved[t] = mv.abs();
    }
    level.into_iter().map(|l| l as u32).collect()
}

fn check_agent_case(k: usize, case: &Case, a: &Agent, dir: &Path) -> usize {
    let text = case.toml();
    let run = run_case(case, dir);
    let mut total_changes = 0;
    for path in 0..case.paths {
        let ctx = format!(
            "case {k}, path {path}; scenario:\n{text}\nETH fundamental: {:?}",
            run.eth[path as usize]
        );
        let s = a.signal.series(&run.eth[path as usize], case.dt_hours);
        let ctx = format!("{ctx}\nsignal (end of steps 0..=T): {s:?}");
        let levels = expect_levels(a, &s, case.dt_hours, &ctx);
        let ctx = format!("{ctx}\nexpected levels (steps 0..=T): {levels:?}");
        let got_rows = engine_rows(&run, case, "agent", path, &ctx);
        // The engine's values of the two fields at every step, from its
        // rows, against the values of the expected level.
        for (field, old, new) in [
            (LT_FIELD, LT_OLD, Agent::LT_NEW),
            (LTV_FIELD, LTV_OLD, Agent::LTV_NEW),
        ] {
            let mut value = old;
            for (t, &l) in levels.iter().enumerate() {
                let at: Vec<&Row> = got_rows
                    .iter()
                    .filter(|r| r.step == t as i64 && r.field == field)
                    .collect();
                assert!(at.len() <= 1, "{ctx}: two rows of {field} at step {t}");
                if let Some(r) = at.first() {
                    assert!(
                        near(r.old, value),
                        "{ctx}\nstep {t}: {field} row's old {:?}, but {value:?} was in force",
                        r.old
                    );
                    value = r.new;
                }
                let want = a.value(l, old, new);
                assert!(
                    near(value, want),
                    "{ctx}\nstep {t}: the engine has {field} = {value:?}, expected {want:?} \
                     (level {l} of {}); engine rows: {got_rows:?}",
                    a.levels()
                );
            }
        }
        // Row by row: a row per field at every step the level moves.
        let mut want_rows = Vec::new();
        let mut moves = 0i64;
        let mut first = None;
        for t in 1..levels.len() {
            let (from, to) = (levels[t - 1], levels[t]);
            if from == to {
                continue;
            }
            moves += 1;
            first.get_or_insert(t as i64);
            for (field, old, new) in [
                (LT_FIELD, LT_OLD, Agent::LT_NEW),
                (LTV_FIELD, LTV_OLD, Agent::LTV_NEW),
            ] {
                want_rows.push(Row {
                    step: t as i64,
                    field: field.into(),
                    old: a.value(from, old, new),
                    new: a.value(to, old, new),
                });
            }
        }
        want_rows.sort_by(|a, b| (a.step, &a.field).cmp(&(b.step, &b.field)));
        assert_rows(&got_rows, &want_rows, &ctx);
        let got = actor_row(&run, path, &ctx);
        assert_eq!(
            (got.changes, got.first_change, got.raised, got.fate.clone()),
            (moves, first, None, None),
            "{ctx}\npath_actors (changes, first_change, raised, fate)"
        );
        if got.changes == 0 {
            assert_eq!((got.liquidations, got.liquidated_value), (0, 0.0), "{ctx}");
        }
        total_changes += moves as usize;
    }
    total_changes
}

/// Twenty random proposals: drawdown or volatility signals (λ and the
/// starting volatility written or left to their defaults), thresholds,
/// delays (none, whole numbers of steps, within 1e-9 of one, anything),
/// votes that always, never or sometimes pass, with and without
/// `requires_signal`, over hourly, half-hourly, 2- and 3-hourly steps,
/// GBM prices, shocks, or both: the raise, the fate and the change are
/// where §18 puts them on every path.
#[test]
fn proposals_raise_vote_and_execute_when_the_text_says() {
    let mut rng = Rng(0x5EED_0001);
    let dir = tempfile::tempdir().unwrap();
    let mut fates = Vec::new();
    for k in 0..20 {
        let p = draw_proposal(&mut rng);
        let case = draw_market(&mut rng, Actor::Proposal(p.clone()));
        let d = dir.path().join(format!("p{k}"));
        std::fs::create_dir(&d).unwrap();
        fates.extend(check_proposal_case(k, &case, &p, &d));
    }
    // The cases reach more than one fate, or they test little.
    for f in ["executed", "not_raised"] {
        assert!(fates.contains(&f), "no path {f}: {fates:?}");
    }
}

/// Twenty random risk agents: drawdown or volatility signals, `from` below
/// or above `to`, 2 to 30 levels (or the default 20), step and day caps
/// from one level to the whole way (or left to their defaults), over
/// hourly, half-hourly, 2- and 3-hourly steps: the level, and so both
/// fields, are where §18 puts them at every step of every path.
#[test]
fn risk_agents_move_level_by_level_within_their_caps() {
    let mut rng = Rng(0x5EED_0002);
    let dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    for k in 0..20 {
        let a = draw_agent(&mut rng);
        let case = draw_market(&mut rng, Actor::Agent(a.clone()));
        let d = dir.path().join(format!("a{k}"));
        std::fs::create_dir(&d).unwrap();
        total += check_agent_case(k, &case, &a, &d);
    }
    assert!(total > 0, "some agent moved");
}

/// A case on a fixed ETH price moved only by `shocks`, hourly unless
/// `dt_hours` says otherwise, two paths, one position.
fn fixed_case(dt_hours: f64, steps: u32, shocks: &[(u32, f64)], actor: Actor) -> Case {
    Case {
        dt_hours,
        steps,
        paths: 2,
        seed: 3,
        vol: None,
        shocks: shocks.to_vec(),
        debts: vec![10000.0],
        actor,
    }
}

fn proposal(signal: Signal, above: f64, delay_hours: f64, requires_signal: bool) -> Proposal {
    Proposal {
        signal,
        above,
        delay_hours,
        pass_probability: None,
        requires_signal: Some(requires_signal),
        with_ltv: true,
    }
}

/// Hand-made proposals at the edges of the rules, each with the fate the
/// text gives it written out here (and the whole outcome checked as in the
/// random cases): a signal gone when due cancels only with
/// `requires_signal`; a raise at the last step, or a due step one past
/// it, is pending, a due step at the last step executes; a raise at step
/// 0; a delay within 1e-9 of a whole number of steps counts as it, one
/// further does not; a falling volatility cancels on the step its value
/// at the end of the step before drops below the threshold.
#[test]
fn proposals_at_the_edges_of_the_rules() {
    let dd = Signal::Drawdown;
    // -15% at step 5 (drawdown 0.15), +20% at step 6 (a new peak: 0).
    let bounce = [(5, -0.15), (6, 0.2)];
    // λ = 0.5, no start: a -20% step makes √v = √(0.5 · ln(0.8)² · 8760)
    // = 14.77 at its end; it falls by √0.5 a step after: 10.44, 7.38,
    // 5.22, 3.69, ...
    let vol = Signal::Volatility {
        lambda: Some(0.5),
        start: None,
    };
    let cases: Vec<(Case, &str)> = vec![
        // Raised at 5, due at 5 + 1 + 6 = 12; the drawdown is 0 by then.
        (
            fixed_case(
                1.0,
                20,
                &bounce,
                Actor::Proposal(proposal(dd.clone(), 0.1, 6.0, true)),
            ),
            "cancelled",
        ),
        (
            fixed_case(
                1.0,
                20,
                &bounce,
                Actor::Proposal(proposal(dd.clone(), 0.1, 6.0, false)),
            ),
            "executed",
        ),
        (
            fixed_case(
                1.0,
                20,
                &[(5, -0.15)],
                Actor::Proposal(proposal(dd.clone(), 0.1, 6.0, true)),
            ),
            "executed",
        ),
        // Raised at the end of the last step.
        (
            fixed_case(
                1.0,
                20,
                &[(20, -0.15)],
                Actor::Proposal(proposal(dd.clone(), 0.1, 0.0, false)),
            ),
            "pending",
        ),
        // Due at 13 + 1 + 6 = 20, the last step; at 14 + 1 + 6 = 21, past it.
        (
            fixed_case(
                1.0,
                20,
                &[(13, -0.15)],
                Actor::Proposal(proposal(dd.clone(), 0.1, 6.0, false)),
            ),
            "executed",
        ),
        (
            fixed_case(
                1.0,
                20,
                &[(14, -0.15)],
                Actor::Proposal(proposal(dd.clone(), 0.1, 6.0, false)),
            ),
            "pending",
        ),
        // Raised at step 0 by its starting volatility; due at step 1.
        (
            fixed_case(
                1.0,
                20,
                &[],
                Actor::Proposal(proposal(
                    Signal::Volatility {
                        lambda: None,
                        start: Some(1.0),
                    },
                    0.5,
                    0.0,
                    false,
                )),
            ),
            "executed",
        ),
        // 3-hour steps: 9.000000001 h is 3 steps (due at 5 + 1 + 3 = 9),
        // 9.0001 h is 4 (due at 10), 0.5 h is 1 (due at 7).
        (
            fixed_case(
                3.0,
                20,
                &[(5, -0.15)],
                Actor::Proposal(proposal(dd.clone(), 0.1, 9.000000001, false)),
            ),
            "executed",
        ),
        (
            fixed_case(
                3.0,
                20,
                &[(5, -0.15)],
                Actor::Proposal(proposal(dd.clone(), 0.1, 9.0001, false)),
            ),
            "executed",
        ),
        (
            fixed_case(
                3.0,
                20,
                &[(5, -0.15)],
                Actor::Proposal(proposal(dd.clone(), 0.1, 0.5, false)),
            ),
            "executed",
        ),
        // The volatility: raised at 3; due at 3 + 1 + 3 = 7 it reads 5.22
        // (end of step 6): executed; due at 8 it reads 3.69: cancelled.
        (
            fixed_case(
                1.0,
                20,
                &[(3, -0.2)],
                Actor::Proposal(proposal(vol.clone(), 5.0, 3.0, true)),
            ),
            "executed",
        ),
        (
            fixed_case(
                1.0,
                20,
                &[(3, -0.2)],
                Actor::Proposal(proposal(vol.clone(), 5.0, 4.0, true)),
            ),
            "cancelled",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (k, (case, fate)) in cases.iter().enumerate() {
        let Actor::Proposal(p) = &case.actor else {
            unreachable!()
        };
        let d = dir.path().join(format!("e{k}"));
        std::fs::create_dir(&d).unwrap();
        let fates = check_proposal_case(100 + k, case, p, &d);
        assert!(
            fates.iter().all(|f| f == fate),
            "edge case {k}: fates {fates:?}, the text says {fate}\n{}",
            case.toml()
        );
    }
}

/// The 24-hour cap, counted by hand: 10 levels, 3 a day, a drawdown of
/// 0.2 from step 2 (wanting all 10 from step 3) and a new peak at step 40
/// hourly, 80 half-hourly (wanting 0 from the step after). Hourly: up 3 at
/// step 3, again at step 27 (its window, steps 4 to 26, holds no move;
/// step 26's holds step 3's), then down 3 at step 51 (step 27's move
/// leaves the window at step 51) and at 75. Half-hourly the window is 48
/// steps: up at 3 and 51, then down at 99 and 147.
#[test]
fn a_risk_agents_day_cap_counts_the_last_24_hours() {
    let agent = Agent {
        signal: Signal::Drawdown,
        from: 0.0,
        to: 0.1,
        levels: Some(10),
        max_step: None,
        max_day: Some(0.35),
    };
    let dir = tempfile::tempdir().unwrap();
    for (k, (dt, steps, peak, moves)) in [
        (1.0, 80, 40, [(3, 3), (27, 6), (51, 3), (75, 0)]),
        (0.5, 160, 80, [(3, 3), (51, 6), (99, 3), (147, 0)]),
    ]
    .into_iter()
    .enumerate()
    {
        let case = fixed_case(
            dt,
            steps,
            &[(2, -0.2), (peak, 0.3)],
            Actor::Agent(agent.clone()),
        );
        let mut want = vec![0u32; steps as usize + 1];
        for (t, l) in moves {
            want[t..].iter_mut().for_each(|x| *x = l);
        }
        let d = dir.path().join(format!("d{k}"));
        std::fs::create_dir(&d).unwrap();
        let run = run_case(&case, &d);
        let s = agent.signal.series(&run.eth[0], dt);
        assert_eq!(
            expect_levels(&agent, &s, dt, "hand"),
            want,
            "this file's reading of the rule"
        );
        assert_eq!(check_agent_case(200 + k, &case, &agent, &d), 2 * 4);
    }
}
