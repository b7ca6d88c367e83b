//! Option books of hedgers and option vaults, validated (docs/model.md §14).

use crate::derivatives::surface::{AtmVol, VolSurface};
use crate::derivatives::{Greeks, Kind, greeks};
use crate::error::ScenarioError;
use crate::market::spec::Asset;
use crate::scenario::check::MAX_VOL;
use crate::scenario::check::{finite, non_negative, positive, unit_open_closed};
use crate::scenario::raw::{RawAtm, RawScenario, RawSurface, RawVaultStrategy};

/// One option line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionLine {
    /// Call or put.
    pub kind: Kind,
    /// Strike, USD.
    pub strike: f64,
    /// Expiry, hours from step 0.
    pub expiry_hours: f64,
    /// Contracts; negative = sold.
    pub quantity: f64,
}

/// A delta-hedging option book.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgerSpec {
    /// Name.
    pub name: String,
    /// Underlying asset.
    pub asset: usize,
    /// The underlying's pool.
    pub pool: usize,
    /// Surface.
    pub surface: VolSurface,
    /// Rate.
    pub rate: f64,
    /// Delta band, units.
    pub band: f64,
    /// Book.
    pub options: Vec<OptionLine>,
    /// Hedging in a perp: (market, position index in the perp book).
    pub perp: Option<(usize, usize)>,
}

/// An option-selling vault.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultSpec {
    /// Name.
    pub name: String,
    /// Underlying asset.
    pub asset: usize,
    /// What it sells.
    pub kind: Kind,
    /// Deposits: units (calls) or USD (puts).
    pub deposits: f64,
    /// |delta| of the strikes.
    pub delta: f64,
    /// Epoch length, hours.
    pub tenor_hours: f64,
    /// Surface.
    pub surface: VolSurface,
    /// Rate.
    pub rate: f64,
}

fn surface(field: &str, s: &RawSurface) -> Result<VolSurface, ScenarioError> {
    let atm = match &s.atm {
        RawAtm::Fixed(v) => AtmVol::Fixed({
            positive(&format!("{field}.atm"), *v)?;
            crate::scenario::check::at_most(
                &format!("{field}.atm"),
                *v,
                MAX_VOL,
                "annual volatility",
            )?
        }),
        RawAtm::Word(w) if w == "ewma" => {
            let lambda = s.lambda.ok_or_else(|| {
                ScenarioError::invalid(format!("{field}.lambda"), "is needed with atm = \"ewma\"")
            })?;
            let lambda = unit_open_closed(&format!("{field}.lambda"), lambda)?;
            if lambda >= 1.0 {
                return Err(ScenarioError::invalid(
                    format!("{field}.lambda"),
                    format!("{lambda} is outside (0, 1)"),
                ));
            }
            let initial = s.initial.ok_or_else(|| {
                ScenarioError::invalid(format!("{field}.initial"), "is needed with atm = \"ewma\"")
            })?;
            AtmVol::Ewma {
                lambda,
                initial: {
                    positive(&format!("{field}.initial"), initial)?;
                    crate::scenario::check::at_most(
                        &format!("{field}.initial"),
                        initial,
                        MAX_VOL,
                        "annual volatility",
                    )?
                },
            }
        }
        RawAtm::Word(w) => {
            return Err(ScenarioError::invalid(
                format!("{field}.atm"),
                format!("`{w}` is neither a number nor \"ewma\""),
            ));
        }
    };
    Ok(VolSurface {
        atm,
        skew: crate::scenario::check::at_most(
            &format!("{field}.skew"),
            s.skew.abs(),
            MAX_VOL,
            "volatility per unit of log-moneyness",
        )
        .map(|_| s.skew)?,
        smile: crate::scenario::check::at_most(
            &format!("{field}.smile"),
            s.smile.abs(),
            MAX_VOL,
            "volatility per unit of log-moneyness squared",
        )
        .map(|_| s.smile)?,
        floor: positive(&format!("{field}.floor"), s.floor)?,
    })
}

/// Validate `[[hedgers]]` and `[[option_vaults]]`.
pub fn options_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
    pool_of: &[Option<usize>],
) -> Result<(Vec<HedgerSpec>, Vec<VaultSpec>), ScenarioError> {
    let asset_of = |field: &str, symbol: &str| {
        assets
            .iter()
            .position(|a| a.symbol == symbol)
            .ok_or_else(|| ScenarioError::invalid(field, format!("unknown asset `{symbol}`")))
    };
    let mut hedgers: Vec<HedgerSpec> = Vec::new();
    for h in &raw.hedgers {
        let field = format!("hedgers.{}", h.name);
        if hedgers.iter().any(|g| g.name == h.name) {
            return Err(ScenarioError::invalid(field, "name is listed twice"));
        }
        let asset = asset_of(&format!("{field}.asset"), &h.asset)?;
        let pool = pool_of[asset].ok_or_else(|| {
            ScenarioError::invalid(
                format!("{field}.asset"),
                format!("`{}` has no pool to hedge in", h.asset),
            )
        })?;
        if h.options.is_empty() {
            return Err(ScenarioError::invalid(
                format!("{field}.options"),
                "the book is empty",
            ));
        }
        let mut options = Vec::new();
        for (i, o) in h.options.iter().enumerate() {
            let of = format!("{field}.options[{i}]");
            options.push(OptionLine {
                kind: o.kind,
                strike: {
                    positive(&format!("{of}.strike"), o.strike)?;
                    crate::scenario::check::at_most(
                        &format!("{of}.strike"),
                        o.strike,
                        crate::scenario::check::MAX_PRICE,
                        "USD per unit",
                    )?
                },
                expiry_hours: positive(&format!("{of}.expiry_hours"), o.expiry_hours)?,
                quantity: {
                    finite(&format!("{of}.quantity"), o.quantity)?;
                    crate::scenario::check::at_most(
                        &format!("{of}.quantity"),
                        o.quantity.abs() * o.strike,
                        crate::scenario::check::MAX_USD,
                        "USD of notional at the strike",
                    )?;
                    o.quantity
                },
            });
        }
        hedgers.push(HedgerSpec {
            name: h.name.clone(),
            asset,
            pool,
            surface: surface(&format!("{field}.surface"), &h.surface)?,
            rate: finite(&format!("{field}.rate"), h.rate)?,
            band: non_negative(&format!("{field}.band"), h.band)?,
            options,
            perp: None,
        });
    }
    let mut vaults: Vec<VaultSpec> = Vec::new();
    for v in &raw.option_vaults {
        let field = format!("option_vaults.{}", v.name);
        if vaults.iter().any(|w| w.name == v.name) || hedgers.iter().any(|h| h.name == v.name) {
            return Err(ScenarioError::invalid(
                field,
                "name is already used by another agent",
            ));
        }
        let delta = unit_open_closed(&format!("{field}.delta"), v.delta)?;
        if delta >= 1.0 {
            return Err(ScenarioError::invalid(
                format!("{field}.delta"),
                format!("{delta} is outside (0, 1)"),
            ));
        }
        vaults.push(VaultSpec {
            name: v.name.clone(),
            asset: asset_of(&format!("{field}.asset"), &v.asset)?,
            kind: match v.strategy {
                RawVaultStrategy::CoveredCall => Kind::Call,
                RawVaultStrategy::CashSecuredPut => Kind::Put,
            },
            deposits: {
                positive(&format!("{field}.deposits"), v.deposits)?;
                let price = assets[asset_of(&format!("{field}.asset"), &v.asset)?]
                    .initial_price
                    .max(1.0);
                crate::scenario::check::at_most(
                    &format!("{field}.deposits"),
                    v.deposits * price,
                    crate::scenario::check::MAX_USD,
                    "USD of deposits at the initial price",
                )?;
                v.deposits
            },
            delta,
            tenor_hours: positive(&format!("{field}.tenor_hours"), v.tenor_hours)?,
            surface: surface(&format!("{field}.surface"), &v.surface)?,
            rate: finite(&format!("{field}.rate"), v.rate)?,
        });
    }
    Ok((hedgers, vaults))
}

/// Give every hedger that hedges in a perp an account there: one position,
/// starting at minus its book's delta at step 0 (it starts hedged), with the
/// margin it names, appended to the perp book.
pub fn attach_perp_hedges(
    raw: &RawScenario,
    assets: &[Asset],
    perps: &[crate::mechanism::perp::spec::PerpSpec],
    book: &mut crate::mechanism::perp::spec::PerpBook,
    hedgers: &mut [HedgerSpec],
) -> Result<(), ScenarioError> {
    for (h, r) in hedgers.iter_mut().zip(&raw.hedgers) {
        let Some(hedge) = &r.hedge else { continue };
        let field = format!("hedgers.{}.hedge", h.name);
        let m = perps
            .iter()
            .position(|p| p.name == hedge.perp)
            .ok_or_else(|| {
                ScenarioError::invalid(
                    format!("{field}.perp"),
                    format!("unknown perp `{}`", hedge.perp),
                )
            })?;
        if perps[m].asset != h.asset {
            return Err(ScenarioError::invalid(
                format!("{field}.perp"),
                format!("`{}` is not on `{}`", hedge.perp, assets[h.asset].symbol),
            ));
        }
        let margin = positive(&format!("{field}.margin"), hedge.margin)?;
        let s0 = assets[h.asset].initial_price;
        let settled = vec![false; h.options.len()];
        let delta = book_greeks(h, &settled, h.surface.initial_atm(), s0, 0.0).delta;
        let size = -delta;
        let im = perps[m].initial_margin * size.abs() * s0;
        if margin < im {
            return Err(ScenarioError::invalid(
                format!("{field}.margin"),
                format!(
                    "{margin} is below the initial margin {im} of the starting hedge ({size} units)"
                ),
            ));
        }
        let position = book.size.len();
        book.push_account(margin, &[(m, size)]);
        h.perp = Some((m, position));
    }
    Ok(())
}

/// Sensitivities of a whole book.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BookGreeks {
    /// Book value.
    pub value: f64,
    /// Options' delta (without the hedge).
    pub delta: f64,
    /// Gamma.
    pub gamma: f64,
    /// Vega.
    pub vega: f64,
    /// Theta (per year).
    pub theta: f64,
}

/// The Greeks of the unsettled lines at price `s` and time `hours`.
pub fn book_greeks(
    spec: &HedgerSpec,
    settled: &[bool],
    atm: f64,
    s: f64,
    hours: f64,
) -> BookGreeks {
    let mut b = BookGreeks::default();
    for (o, &done) in spec.options.iter().zip(settled) {
        if done {
            continue;
        }
        let tau = (o.expiry_hours - hours) / 8760.0;
        let vol = spec.surface.vol(atm, s, o.strike);
        let g: Greeks = greeks(o.kind, s, o.strike, tau, vol, spec.rate, 0.0);
        b.value += o.quantity * g.price;
        b.delta += o.quantity * g.delta;
        b.gamma += o.quantity * g.gamma;
        b.vega += o.quantity * g.vega;
        b.theta += o.quantity * g.theta;
    }
    b
}
