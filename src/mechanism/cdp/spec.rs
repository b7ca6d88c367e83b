//! `[[cdps]]` validated (docs/model.md §17): vault types, the auction
//! design, keepers, the oracle and the vault book, each checked with the
//! field it refuses named.

use std::path::Path;

use crate::error::ScenarioError;
use crate::market::spec::{Asset, PoolSpec, asset_index};
use crate::mechanism::cdp::abaci::Curve;
use crate::mechanism::cdp::book::vaults_from_raw;
pub use crate::mechanism::cdp::ilk::IlkSpec;
use crate::mechanism::cdp::ilk::{ilks_from_raw, optional_positive};
use crate::mechanism::cdp::owners::{OwnersSpec, owners_from_raw, picking_rng};
use crate::mechanism::cdp::psm::{PsmSpec, psm_from_raw};
use crate::mechanism::cdp::raw::*;
use crate::mechanism::oracle::raw::OracleKind;
use crate::scenario::check::{
    MAX_USD, at_most, check_name, finite, non_negative, positive, unit_closed,
};
use crate::scenario::raw::RawScenario;
use crate::scenario::snapshot::resolve;

/// The auction design and its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Design {
    /// English auctions (flip.sol).
    English {
        /// Smallest relative raise.
        beg: f64,
        /// Hours a bid stands.
        ttl: f64,
        /// Hours an auction lasts.
        tau: f64,
    },
    /// Dutch auctions (clip.sol).
    Dutch {
        /// Starting price ÷ oracle price.
        buf: f64,
        /// Price curve.
        curve: Curve,
        /// Hours before a reset.
        tail: f64,
        /// Price ÷ starting price below which it resets.
        cusp: f64,
    },
}

/// A keeper as validated.
#[derive(Debug, Clone, PartialEq)]
pub struct KeeperSpec {
    /// Name.
    pub name: String,
    /// USD at step 0.
    pub capital: f64,
    /// Smallest profit after gas, USD.
    pub min_profit: f64,
    /// Probability its transactions land in a step.
    pub inclusion: f64,
    /// How it bids in English auctions.
    pub strategy: KeeperStrategy,
}

/// The CDP's oracle: the source read directly (possibly lagged) or through
/// an OSM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CdpOracle {
    /// Steps the source is read late.
    pub lag_steps: u32,
    /// OSM hop, hours; None for a direct oracle.
    pub hop_hours: Option<f64>,
}

/// A CDP's terms that governance can change (docs/model.md §18): its
/// vault types, its limit on stablecoin in auctions (`Hole`) and its OSM's
/// hop.
#[derive(Debug, Clone, PartialEq)]
pub struct CdpTerms {
    /// Vault types.
    pub ilks: Vec<IlkSpec>,
    /// Limit on stablecoin in auctions.
    pub hole: f64,
    /// OSM hop, hours; None for a direct oracle.
    pub hop_hours: Option<f64>,
}

impl CdpSpec {
    /// Its terms as validated.
    pub fn terms(&self) -> CdpTerms {
        CdpTerms {
            ilks: self.ilks.clone(),
            hole: self.hole,
            hop_hours: self.oracle.hop_hours,
        }
    }
}

/// A CDP stablecoin as validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CdpSpec {
    /// Name.
    pub name: String,
    /// Stablecoin asset index.
    pub stablecoin: usize,
    /// Auction design.
    pub design: Design,
    /// Oracle.
    pub oracle: CdpOracle,
    /// Surplus at step 0.
    pub surplus: f64,
    /// Dog's `Hole` (∞ without one).
    pub hole: f64,
    /// Vow's `wait`, hours.
    pub wait_hours: f64,
    /// Vow's `sump`.
    pub sump: f64,
    /// Governance token price, USD.
    pub gov_price: f64,
    /// Vault types.
    pub ilks: Vec<IlkSpec>,
    /// Keepers in priority order.
    pub keepers: Vec<KeeperSpec>,
    /// Vaults at step 0: (ilk index, collateral units, debt), explicit ones
    /// first, then each population's in order.
    pub vaults: Vec<(usize, f64, f64)>,
    /// Peg stability module, if any.
    pub psm: Option<PsmSpec>,
    /// Vault owners who repay, if any.
    pub owners: Option<OwnersSpec>,
}

fn invalid(field: String, problem: impl Into<String>) -> ScenarioError {
    ScenarioError::invalid(field, problem)
}

/// Validate every `[[cdps]]`; `pool_of` gives each asset's main venue, and
/// the scenario's seed draws the vault populations (from their own
/// stream).
pub fn cdps_from_raw(
    raw: &RawScenario,
    assets: &[Asset],
    pools: &[PoolSpec],
    pool_of: &[Option<usize>],
    base_dir: &Path,
) -> Result<Vec<CdpSpec>, ScenarioError> {
    let mut rng = crate::montecarlo::seed::vault_rng(raw.simulation.seed);
    let mut picking = picking_rng(raw.simulation.seed);
    let mut out = Vec::with_capacity(raw.cdps.len());
    for (i, r) in raw.cdps.iter().enumerate() {
        check_name("cdps.name", &r.name)?;
        if raw.cdps[..i]
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&r.name))
        {
            return Err(invalid(
                format!("cdps.{}", r.name),
                format!(
                    "`{}` is listed twice (names are compared ignoring case)",
                    r.name
                ),
            ));
        }
        let streams = Streams {
            vaults: &mut rng,
            owners: &mut picking,
        };
        let file = r.vaults_file.as_deref().map(|f| resolve(base_dir, f));
        out.push(cdp_from_raw(
            raw,
            r,
            assets,
            (pools, pool_of),
            file.as_deref(),
            streams,
        )?);
    }
    Ok(out)
}

/// The validation-time seed streams every CDP draws from in turn: the
/// vault populations', and which owners act.
struct Streams<'a> {
    vaults: &'a mut crate::montecarlo::seed::PathRng,
    owners: &'a mut crate::montecarlo::seed::PathRng,
}

fn cdp_from_raw(
    raw: &RawScenario,
    r: &RawCdp,
    assets: &[Asset],
    (pools, pool_of): (&[PoolSpec], &[Option<usize>]),
    vaults_file: Option<&Path>,
    streams: Streams<'_>,
) -> Result<CdpSpec, ScenarioError> {
    let f = |x: &str| format!("cdps.{}.{x}", r.name);
    let stablecoin = asset_index(raw, &f("stablecoin"), &r.stablecoin)?;
    let oracle = oracle_from_raw(r)?;
    let ilks = ilks_from_raw(raw, r, stablecoin, pool_of)?;
    let design = design_from_raw(r)?;
    let keepers = keepers_from_raw(r)?;
    let vaults = vaults_from_raw(r, assets, &ilks, vaults_file, streams.vaults)?;
    let owners = r
        .owners
        .as_ref()
        .map(|o| owners_from_raw(&r.name, o, vaults.len(), streams.owners))
        .transpose()?;
    let psm = r
        .psm
        .as_ref()
        .map(|p| psm_from_raw(raw, &r.name, p, stablecoin, pool_of[stablecoin], pools))
        .transpose()?;
    if psm
        .as_ref()
        .is_some_and(|p| ilks.iter().any(|i| i.asset == p.gem))
    {
        return Err(invalid(
            f("psm.gem"),
            "is also a vault type's collateral: give the module or the vault type, not both",
        ));
    }
    Ok(CdpSpec {
        name: r.name.clone(),
        stablecoin,
        design,
        oracle,
        surplus: at_most(
            &f("surplus"),
            non_negative(&f("surplus"), r.surplus)?,
            MAX_USD,
            "the most one amount may be",
        )?,
        hole: optional_positive(&f("hole"), r.hole)?,
        wait_hours: non_negative(&f("wait_hours"), r.wait_hours)?,
        sump: positive(&f("debt_auction_lot"), r.debt_auction_lot)?,
        gov_price: positive(&f("gov_token_price"), r.gov_token_price)?,
        ilks,
        keepers,
        vaults,
        psm,
        owners,
    })
}

/// Only a direct or delayed (OSM) oracle reading the fundamental or the
/// main venue.
fn oracle_from_raw(r: &RawCdp) -> Result<CdpOracle, ScenarioError> {
    let f = |x: &str| format!("cdps.{}.oracle.{x}", r.name);
    let o = &r.oracle;
    let other = [
        ("deviation", o.deviation.is_some()),
        ("heartbeat_hours", o.heartbeat_hours.is_some()),
        ("latency_steps", o.latency_steps.is_some()),
        ("window_hours", o.window_hours.is_some()),
        ("mean", o.mean.is_some()),
        ("tolerance", o.tolerance.is_some()),
        ("guard", o.guard.is_some()),
        ("venues", !o.venues.is_empty()),
        ("anchor_source", o.anchor_source.is_some()),
        ("assets", !o.assets.is_empty()),
    ];
    if let Some((name, _)) = other.iter().find(|(_, set)| *set) {
        return Err(invalid(
            f(name),
            "is not a setting of a CDP's oracle (kind, source, lag_steps, hop_hours)",
        ));
    }
    let hop_hours = match o.kind {
        OracleKind::Direct => {
            if o.hop_hours.is_some() {
                return Err(invalid(
                    f("hop_hours"),
                    "is a setting of a `delayed` oracle",
                ));
            }
            None
        }
        OracleKind::Delayed => {
            let hop = o
                .hop_hours
                .unwrap_or(crate::mechanism::oracle::spec::DEFAULT_HOP_HOURS);
            Some(positive(&f("hop_hours"), hop)?)
        }
        _ => {
            return Err(invalid(
                f("kind"),
                "a CDP reads a `direct` or `delayed` (OSM) oracle",
            ));
        }
    };
    Ok(CdpOracle {
        lag_steps: o.lag_steps,
        hop_hours,
    })
}

/// The design `auction` names. Both designs' tables may be given (a sweep
/// over `auction` compares them on one market); each given one is
/// validated, whichever is in use.
fn design_from_raw(r: &RawCdp) -> Result<Design, ScenarioError> {
    let english = english_from_raw(r)?;
    let dutch = dutch_from_raw(r)?;
    Ok(match r.auction {
        AuctionDesign::English => english,
        AuctionDesign::Dutch => dutch,
    })
}

/// English settings, flip.sol's defaults where not given.
fn english_from_raw(r: &RawCdp) -> Result<Design, ScenarioError> {
    let f = |x: &str| format!("cdps.{}.{x}", r.name);
    let e = r.english.clone().unwrap_or_default();
    let beg = non_negative(&f("english.beg"), e.beg)?;
    at_most(&f("english.beg"), beg, 1.0, "(a doubling per bid)")?;
    Ok(Design::English {
        beg,
        ttl: positive(&f("english.ttl_hours"), e.ttl_hours)?,
        tau: positive(&f("english.tau_hours"), e.tau_hours)?,
    })
}

/// Dutch settings, clip.sol's and abaci.sol's defaults where not given.
fn dutch_from_raw(r: &RawCdp) -> Result<Design, ScenarioError> {
    let f = |x: &str| format!("cdps.{}.{x}", r.name);
    let d = r.dutch.clone().unwrap_or_default();
    let field = |x: &str| f(&format!("dutch.{x}"));
    let curve = match d.curve {
        RawCurve::Linear => {
            for (name, set) in [
                ("step_hours", d.step_hours.is_some()),
                ("cut", d.cut.is_some()),
            ] {
                if set {
                    return Err(invalid(
                        field(name),
                        "is not a setting of a `linear` curve (tau_hours is)",
                    ));
                }
            }
            let tau = d
                .tau_hours
                .ok_or_else(|| invalid(field("tau_hours"), "is required for a `linear` curve"))?;
            Curve::Linear {
                tau: positive(&field("tau_hours"), tau)?,
            }
        }
        RawCurve::Stairstep | RawCurve::Exponential => {
            if d.tau_hours.is_some() {
                return Err(invalid(
                    field("tau_hours"),
                    "is a setting of a `linear` curve (step_hours and cut are this one's)",
                ));
            }
            let step = positive(&field("step_hours"), d.step_hours.unwrap_or(0.025))?;
            let cut = d.cut.unwrap_or(0.99);
            if !(cut > 0.0 && cut < 1.0) {
                return Err(invalid(field("cut"), format!("{cut} must be in (0, 1)")));
            }
            if d.curve == RawCurve::Stairstep {
                Curve::Stairstep { step, cut }
            } else {
                Curve::Exponential { step, cut }
            }
        }
    };
    let buf = positive(&field("buf"), d.buf)?;
    at_most(&field("buf"), buf, 100.0, "times the oracle price")?;
    let cusp = d.cusp;
    if !(0.0..1.0).contains(&cusp) {
        return Err(invalid(field("cusp"), format!("{cusp} must be in [0, 1)")));
    }
    Ok(Design::Dutch {
        buf,
        curve,
        tail: positive(&field("tail_hours"), d.tail_hours)?,
        cusp,
    })
}

fn keepers_from_raw(r: &RawCdp) -> Result<Vec<KeeperSpec>, ScenarioError> {
    let mut out: Vec<KeeperSpec> = Vec::with_capacity(r.keepers.len());
    for k in &r.keepers {
        check_name(&format!("cdps.{}.keepers.name", r.name), &k.name)?;
        let f = |x: &str| format!("cdps.{}.keepers.{}.{x}", r.name, k.name);
        if out.iter().any(|o| o.name.eq_ignore_ascii_case(&k.name)) {
            return Err(invalid(
                format!("cdps.{}.keepers.{}", r.name, k.name),
                format!(
                    "`{}` is listed twice (names are compared ignoring case)",
                    k.name
                ),
            ));
        }
        let capital = non_negative(&f("capital_usd"), k.capital_usd)?;
        out.push(KeeperSpec {
            name: k.name.clone(),
            capital: at_most(
                &f("capital_usd"),
                capital,
                MAX_USD,
                "the most one amount may be",
            )?,
            min_profit: finite(&f("min_profit_usd"), k.min_profit_usd)?,
            inclusion: unit_closed(&f("inclusion"), k.inclusion)?,
            strategy: k.strategy,
        });
    }
    Ok(out)
}
