//! The checks and bounds every section's validation shares: numbers
//! (finite, positive, in a range, below a bound that says why), names, and
//! the limits that keep value arithmetic far from overflow.

use crate::error::ScenarioError;

/// Hours in the model's year (365 days, markets open 24/7).
pub const HOURS_PER_YEAR: f64 = 8760.0;

/// The largest growth factor, as a log, interest may compound debt by over
/// a run: e^600 ≈ 4e260 leaves room below f64::MAX (1.8e308) for a debt of
/// up to `MAX_USD`.
pub const MAX_LOG_GROWTH: f64 = 600.0;

/// Highest annual volatility an option surface or margin model may use
/// (2,000%: crypto's worst realised volatility is a fraction of it).
pub const MAX_VOL: f64 = 20.0;

/// The most one amount of a scenario may be worth, USD: a thousand times
/// the whole crypto market at its 2021 peak (about 3e12 USD, CoinGecko), so
/// nothing real is refused, while sums of such amounts stay far from
/// overflowing.
pub const MAX_USD: f64 = 1e15;

/// Longest name or symbol, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// Names and symbols end up in folder and file names, chart titles and
/// error messages: 1 to 64 characters, ASCII letters and digits and
/// `. _ - + @`, starting with a letter or digit. Names of one kind are unique.
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), ScenarioError> {
    let shown: String = name
        .chars()
        .take(MAX_NAME_LEN)
        .flat_map(char::escape_debug)
        .collect();
    let problem = if name.is_empty() {
        Some("must not be empty".to_string())
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(format!(
            "`{shown}…` is longer than {MAX_NAME_LEN} characters"
        ))
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-+@".contains(*c)))
    {
        Some(format!(
            "`{shown}` contains {:?}; use letters, digits and . _ - + @",
            c
        ))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some(format!("`{shown}` must start with a letter or a digit"))
    } else {
        None
    };
    match problem {
        Some(p) => Err(ScenarioError::invalid(field, p)),
        None => Ok(()),
    }
}

/// Check a finite number is at most `max`; `why` says where the bound
/// comes from.
pub(crate) fn at_most(field: &str, v: f64, max: f64, why: &str) -> Result<f64, ScenarioError> {
    finite(field, v)?;
    if v <= max {
        Ok(v)
    } else {
        Err(ScenarioError::invalid(
            field,
            format!("{v:e} is above {max:e} ({why})"),
        ))
    }
}

/// Highest price of one unit, USD: a million times bitcoin's peak, so no
/// real token is refused while value arithmetic stays far from overflow.
pub const MAX_PRICE: f64 = 1e12;

/// Longest run, hours: a thousand years of steps.
pub const MAX_HORIZON_HOURS: f64 = 1000.0 * HOURS_PER_YEAR;

/// Check a number is finite.
pub(crate) fn finite(field: &str, v: f64) -> Result<f64, ScenarioError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ScenarioError::invalid(
            field,
            format!("{v} is not a finite number"),
        ))
    }
}

/// Check a number is finite and > 0.
pub(crate) fn positive(field: &str, v: f64) -> Result<f64, ScenarioError> {
    finite(field, v)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(ScenarioError::invalid(
            field,
            format!("{v} must be positive"),
        ))
    }
}

/// Check a number is finite and ≥ 0.
pub(crate) fn non_negative(field: &str, v: f64) -> Result<f64, ScenarioError> {
    finite(field, v)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(ScenarioError::invalid(
            field,
            format!("{v} must not be negative"),
        ))
    }
}

pub(crate) fn unit_open_closed(field: &str, v: f64) -> Result<f64, ScenarioError> {
    finite(field, v)?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(ScenarioError::invalid(
            field,
            format!("{v} is outside (0, 1]"),
        ))
    }
}

pub(crate) fn unit_closed(field: &str, v: f64) -> Result<f64, ScenarioError> {
    finite(field, v)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(ScenarioError::invalid(
            field,
            format!("{v} is outside [0, 1]"),
        ))
    }
}
