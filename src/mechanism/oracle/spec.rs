//! A protocol's oracle as validated (docs/model.md §4).

use crate::error::ScenarioError;
use crate::mechanism::oracle::feed::PushParams;
use crate::mechanism::oracle::raw::{OracleKind, OracleSource, RawOracle};

/// Default relative deviation of a push feed.
pub const DEFAULT_DEVIATION: f64 = 0.005;
/// Default heartbeat of a push feed, hours.
pub const DEFAULT_HEARTBEAT_HOURS: f64 = 24.0;

/// A protocol's oracle.
#[derive(Debug, Clone, PartialEq)]
pub struct Oracle {
    /// Fundamental or pool.
    pub source: OracleSource,
    /// Lag in steps.
    pub lag_steps: u32,
    /// With a push feed, its parameters per asset (scenario order).
    pub push: Option<Vec<PushParams>>,
}

fn invalid(field: &str, problem: String) -> ScenarioError {
    ScenarioError::invalid(field, problem)
}

/// Validate protocol `name`'s oracle; `symbols` are the scenario's assets.
pub fn oracle_from_raw(
    name: &str,
    raw: &RawOracle,
    symbols: &[String],
) -> Result<Oracle, ScenarioError> {
    let field = |f: &str| format!("protocols.{name}.oracle.{f}");
    let push_only = [
        ("deviation", raw.deviation.is_some()),
        ("heartbeat_hours", raw.heartbeat_hours.is_some()),
        ("latency_steps", raw.latency_steps.is_some()),
        ("assets", !raw.assets.is_empty()),
    ];
    if raw.kind == OracleKind::Direct {
        if let Some((f, _)) = push_only.iter().find(|(_, set)| *set) {
            return Err(invalid(
                &field(f),
                "is a push feed's setting: add `kind = \"push\"`".into(),
            ));
        }
        return Ok(Oracle {
            source: raw.source,
            lag_steps: raw.lag_steps,
            push: None,
        });
    }
    let check_deviation = |f: String, d: f64| {
        if d.is_finite() && d >= 0.0 {
            Ok(d)
        } else {
            Err(invalid(&f, format!("{d} must be a relative move ≥ 0")))
        }
    };
    let check_heartbeat = |f: String, h: f64| {
        if h.is_finite() && h > 0.0 {
            Ok(h)
        } else {
            Err(invalid(
                &f,
                format!("{h} must be a positive number of hours"),
            ))
        }
    };
    let deviation = check_deviation(
        field("deviation"),
        raw.deviation.unwrap_or(DEFAULT_DEVIATION),
    )?;
    let heartbeat = check_heartbeat(
        field("heartbeat_hours"),
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
        if !(min_answer.is_finite() && min_answer >= 0.0) {
            return Err(invalid(
                &f("min_answer"),
                format!("{min_answer} must be a price ≥ 0"),
            ));
        }
        if max_answer.is_nan() || max_answer <= min_answer {
            return Err(invalid(
                &f("max_answer"),
                format!("{max_answer} must be above min_answer ({min_answer})"),
            ));
        }
        per_asset.push(PushParams {
            deviation: match a.deviation {
                Some(d) => check_deviation(f("deviation"), d)?,
                None => deviation,
            },
            heartbeat_hours: match a.heartbeat_hours {
                Some(h) => check_heartbeat(f("heartbeat_hours"), h)?,
                None => heartbeat,
            },
            latency_steps,
            min_answer,
            max_answer,
        });
    }
    Ok(Oracle {
        source: raw.source,
        lag_steps: raw.lag_steps,
        push: Some(per_asset),
    })
}
