//! A protocol's oracle as validated (docs/model.md §4).

use crate::error::ScenarioError;
use crate::market::source::{MAX_QUOTES, Quote, Source};
use crate::mechanism::oracle::feed::PushParams;
use crate::mechanism::oracle::raw::{OracleKind, OracleSource, RawOracle, TwapMean};
use crate::scenario::check::{non_negative, positive, unit_closed};

/// Default relative deviation of a push feed.
pub const DEFAULT_DEVIATION: f64 = 0.005;
/// Default heartbeat of a push feed, hours.
pub const DEFAULT_HEARTBEAT_HOURS: f64 = 24.0;
/// Default hop of a delayed oracle, hours (Maker's OSM).
pub const DEFAULT_HOP_HOURS: f64 = 1.0;

/// A TWAP's window, in steps, and its mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Twap {
    /// End-of-step prices averaged: those of the `steps` steps before the
    /// read.
    pub steps: u32,
    /// Arithmetic or geometric.
    pub mean: TwapMean,
}

/// What a protocol's oracle does with its source.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// The source at every read.
    Direct,
    /// A push feed per asset (scenario order).
    Push(Vec<PushParams>),
    /// A TWAP of the source's end-of-step prices.
    Twap(Twap),
    /// The source's price of one hop ago.
    Delayed {
        /// Hop, hours.
        hop_hours: f64,
    },
    /// The source, accepted within `tolerance` of a TWAP anchor.
    Anchored {
        /// The anchor.
        anchor: Twap,
        /// Largest accepted relative gap.
        tolerance: f64,
    },
}

/// A protocol's guard (docs/model.md §4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guard {
    /// Largest relative gap between a price in use and the fundamental.
    pub max_deviation: f64,
    /// Largest age of a price in use, hours.
    pub max_staleness_hours: f64,
    /// Hours after an alarm before liquidations resume in full.
    pub grace_hours: f64,
    /// Health factor below which positions are liquidated even when paused.
    pub liquidate_below_hf: f64,
}

/// Default grace after a guard's alarm, hours.
pub const DEFAULT_GRACE_HOURS: f64 = 1.0;
/// Default health factor liquidated while paused (Aave v3's
/// `MINIMUM_HEALTH_FACTOR_LIQUIDATION_THRESHOLD`).
pub const DEFAULT_PAUSED_HF: f64 = 0.95;

/// A protocol's oracle.
#[derive(Debug, Clone, PartialEq)]
pub struct Oracle {
    /// Each asset's source: its fundamental, its main venue, or the
    /// venues the oracle names for it.
    pub sources: Vec<Source>,
    /// Anchored: each asset's anchor source (empty for other kinds).
    pub anchors: Vec<Source>,
    /// Lag in steps.
    pub lag_steps: u32,
    /// What it does with the source.
    pub feed: Feed,
    /// A guard on its liquidations, if any.
    pub guard: Option<Guard>,
}

impl Oracle {
    /// Whether the oracle keeps state on a path (every kind but direct).
    pub fn has_state(&self) -> bool {
        self.feed != Feed::Direct
    }

    /// Steps of end-of-step prices it reads back, at most.
    pub fn history_steps(&self) -> u32 {
        let window = match &self.feed {
            Feed::Twap(w) | Feed::Anchored { anchor: w, .. } => w.steps,
            _ => 0,
        };
        self.lag_steps.max(window)
    }
}

fn invalid(field: &str, problem: String) -> ScenarioError {
    ScenarioError::invalid(field, problem)
}

/// Where one asset is read from with `source`: its fundamental, or its
/// main venue (the fundamental without a pool).
fn plain_source(source: OracleSource, asset: usize, pools: &Venues) -> Source {
    match (source, pools.main[asset]) {
        (OracleSource::Pool, Some(p)) => Source::one(Quote::Venue(p)),
        _ => Source::one(Quote::Fundamental(asset)),
    }
}

/// The pools an oracle can name: their names and bases, and each asset's
/// main venue.
pub struct Venues<'a> {
    /// Each pool's name.
    pub names: Vec<&'a str>,
    /// Each pool's base asset.
    pub bases: Vec<usize>,
    /// Each asset's main venue.
    pub main: &'a [Option<usize>],
}

/// Each asset's source: `source`, or the venues `raw.venues` names for it.
fn sources_from_raw(
    name: &str,
    raw: &RawOracle,
    symbols: &[String],
    pools: &Venues,
) -> Result<Vec<Source>, ScenarioError> {
    let field = |f: &str| format!("protocols.{name}.oracle.venues.{f}");
    for symbol in raw.venues.keys() {
        if !symbols.contains(symbol) {
            return Err(invalid(
                &field(symbol),
                format!("`{symbol}` is not an asset of the scenario"),
            ));
        }
    }
    let mut sources = Vec::with_capacity(symbols.len());
    for (a, symbol) in symbols.iter().enumerate() {
        let Some(names) = raw.venues.get(symbol) else {
            sources.push(plain_source(raw.source, a, pools));
            continue;
        };
        if names.is_empty() || names.len() > MAX_QUOTES {
            return Err(invalid(
                &field(symbol),
                format!(
                    "lists {} venues: give 1 to {MAX_QUOTES} (several are read as their median)",
                    names.len()
                ),
            ));
        }
        let mut quotes = Vec::with_capacity(names.len());
        for venue in names {
            let quote = if venue == "fundamental" {
                Quote::Fundamental(a)
            } else if let Some(other) = venue.strip_prefix("fundamental:") {
                // A bridged token priced as what it bridges.
                let b = symbols.iter().position(|s| s == other).ok_or_else(|| {
                    invalid(
                        &field(symbol),
                        format!("`{other}` is not an asset of the scenario"),
                    )
                })?;
                Quote::Fundamental(b)
            } else {
                let p = pools
                    .names
                    .iter()
                    .position(|n| n == venue)
                    .ok_or_else(|| invalid(&field(symbol), format!("no pool `{venue}`")))?;
                if pools.bases[p] != a {
                    return Err(invalid(
                        &field(symbol),
                        format!("`{venue}` trades {}, not {symbol}", symbols[pools.bases[p]]),
                    ));
                }
                Quote::Venue(p)
            };
            if quotes.contains(&quote) {
                return Err(invalid(
                    &field(symbol),
                    format!("`{venue}` is listed twice"),
                ));
            }
            quotes.push(quote);
        }
        sources.push(Source::median_of(quotes));
    }
    Ok(sources)
}

/// Validate protocol `name`'s oracle; `symbols` are the scenario's assets,
/// `pools` the venues it can read, `dt_hours` its step and `steps` its
/// length.
pub fn oracle_from_raw(
    name: &str,
    raw: &RawOracle,
    symbols: &[String],
    pools: &Venues,
    dt_hours: f64,
    steps: u32,
) -> Result<Oracle, ScenarioError> {
    let field = |f: &str| format!("protocols.{name}.oracle.{f}");
    let kind = raw.kind;
    let allowed = |f: &str| match f {
        "deviation" | "heartbeat_hours" | "latency_steps" | "assets" => kind == OracleKind::Push,
        "window_hours" | "mean" => matches!(kind, OracleKind::Twap | OracleKind::Anchored),
        "hop_hours" => kind == OracleKind::Delayed,
        "tolerance" | "anchor_source" => kind == OracleKind::Anchored,
        _ => true,
    };
    let given = [
        ("deviation", raw.deviation.is_some()),
        ("heartbeat_hours", raw.heartbeat_hours.is_some()),
        ("latency_steps", raw.latency_steps.is_some()),
        ("assets", !raw.assets.is_empty()),
        ("window_hours", raw.window_hours.is_some()),
        ("mean", raw.mean.is_some()),
        ("hop_hours", raw.hop_hours.is_some()),
        ("tolerance", raw.tolerance.is_some()),
        ("anchor_source", raw.anchor_source.is_some()),
    ];
    if let Some((f, _)) = given.iter().find(|(f, set)| *set && !allowed(f)) {
        return Err(invalid(
            &field(f),
            format!("is not a setting of a `{}` oracle", kind_name(kind)),
        ));
    }
    let guard = match &raw.guard {
        None => None,
        Some(_) if kind == OracleKind::Direct => {
            return Err(invalid(
                &field("guard"),
                "guards an oracle with state: set `kind` (push, twap, delayed or anchored)".into(),
            ));
        }
        Some(g) => Some(guard_from_raw(name, g)?),
    };
    let twap = || -> Result<Twap, ScenarioError> {
        let w = raw
            .window_hours
            .ok_or_else(|| invalid(&field("window_hours"), "is required for this kind".into()))?;
        let w = positive(&field("window_hours"), w)?;
        if raw.lag_steps > 0 {
            return Err(invalid(
                &field("lag_steps"),
                "a TWAP reads back its own window: leave lag_steps at 0".into(),
            ));
        }
        let n = (w / dt_hours).round();
        if n < 1.0 || (n * dt_hours - w).abs() > 1e-9 * w {
            return Err(invalid(
                &field("window_hours"),
                format!(
                    "{w} must be a whole number (≥ 1) of steps of {dt_hours} h (simulation.dt_hours)"
                ),
            ));
        }
        Ok(Twap {
            steps: (n as u64).min(steps as u64 + 1) as u32,
            mean: raw.mean.unwrap_or_default(),
        })
    };
    let feed = match kind {
        OracleKind::Direct => Feed::Direct,
        OracleKind::Push => Feed::Push(push_from_raw(name, raw, symbols)?),
        OracleKind::Twap => Feed::Twap(twap()?),
        OracleKind::Delayed => Feed::Delayed {
            hop_hours: positive(
                &field("hop_hours"),
                raw.hop_hours.unwrap_or(DEFAULT_HOP_HOURS),
            )?,
        },
        OracleKind::Anchored => {
            let tolerance = raw
                .tolerance
                .ok_or_else(|| invalid(&field("tolerance"), "is required for this kind".into()))?;
            if !(tolerance.is_finite() && tolerance > 0.0 && tolerance < 1.0) {
                return Err(invalid(
                    &field("tolerance"),
                    format!("{tolerance} must be a share in (0, 1)"),
                ));
            }
            Feed::Anchored {
                anchor: twap()?,
                tolerance,
            }
        }
    };
    let anchors = match kind {
        OracleKind::Anchored => {
            let anchor = raw.anchor_source.unwrap_or(raw.source);
            (0..symbols.len())
                .map(|a| plain_source(anchor, a, pools))
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(Oracle {
        sources: sources_from_raw(name, raw, symbols, pools)?,
        anchors,
        lag_steps: raw.lag_steps,
        feed,
        guard,
    })
}

fn guard_from_raw(
    name: &str,
    g: &crate::mechanism::oracle::raw::RawGuard,
) -> Result<Guard, ScenarioError> {
    let field = |f: &str| format!("protocols.{name}.oracle.guard.{f}");
    if g.max_deviation.is_none() && g.max_staleness_hours.is_none() {
        return Err(invalid(
            &field("max_deviation"),
            "a guard needs max_deviation or max_staleness_hours (or both)".into(),
        ));
    }
    let max_deviation = match g.max_deviation {
        Some(d) => positive(&field("max_deviation"), d)?,
        None => f64::INFINITY,
    };
    let max_staleness_hours = match g.max_staleness_hours {
        Some(h) => positive(&field("max_staleness_hours"), h)?,
        None => f64::INFINITY,
    };
    let grace_hours = non_negative(
        &field("grace_hours"),
        g.grace_hours.unwrap_or(DEFAULT_GRACE_HOURS),
    )?;
    let hf = unit_closed(
        &field("liquidate_below_hf"),
        g.liquidate_below_hf.unwrap_or(DEFAULT_PAUSED_HF),
    )?;
    Ok(Guard {
        max_deviation,
        max_staleness_hours,
        grace_hours,
        liquidate_below_hf: hf,
    })
}

fn kind_name(kind: OracleKind) -> &'static str {
    match kind {
        OracleKind::Direct => "direct",
        OracleKind::Push => "push",
        OracleKind::Twap => "twap",
        OracleKind::Delayed => "delayed",
        OracleKind::Anchored => "anchored",
    }
}

/// A push feed's parameters per asset.
fn push_from_raw(
    name: &str,
    raw: &RawOracle,
    symbols: &[String],
) -> Result<Vec<PushParams>, ScenarioError> {
    let field = |f: &str| format!("protocols.{name}.oracle.{f}");
    let deviation = non_negative(
        &field("deviation"),
        raw.deviation.unwrap_or(DEFAULT_DEVIATION),
    )?;
    let heartbeat = positive(
        &field("heartbeat_hours"),
        raw.heartbeat_hours.unwrap_or(DEFAULT_HEARTBEAT_HOURS),
    )?;
    let latency_steps = raw.latency_steps.unwrap_or(0);
    for symbol in raw.assets.keys() {
        if !symbols.contains(symbol) {
            return Err(invalid(
                &field(&format!("assets.{symbol}")),
                format!("`{symbol}` is not an asset of the scenario"),
            ));
        }
    }
    let mut per_asset = Vec::with_capacity(symbols.len());
    for symbol in symbols {
        let a = raw.assets.get(symbol).cloned().unwrap_or_default();
        let f = |x: &str| field(&format!("assets.{symbol}.{x}"));
        let min_answer = a.min_answer.unwrap_or(0.0);
        let max_answer = a.max_answer.unwrap_or(f64::INFINITY);
        non_negative(&f("min_answer"), min_answer)?;
        if max_answer.is_nan() || max_answer <= min_answer {
            return Err(invalid(
                &f("max_answer"),
                format!("{max_answer} must be above min_answer ({min_answer})"),
            ));
        }
        per_asset.push(PushParams {
            deviation: match a.deviation {
                Some(d) => non_negative(&f("deviation"), d)?,
                None => deviation,
            },
            heartbeat_hours: match a.heartbeat_hours {
                Some(h) => positive(&f("heartbeat_hours"), h)?,
                None => heartbeat,
            },
            latency_steps,
            min_answer,
            max_answer,
        });
    }
    Ok(per_asset)
}
