//! The lending markets' parameters, as validated (docs/model.md §5, §10–§12):
//! what `validate` builds from a scenario's `[[protocols]]`, `[[liquidators]]`,
//! `[[lenders]]` and `[network]`.

pub use crate::mechanism::oracle::spec::Oracle;

/// Risk parameters of one collateral asset in one protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollateralParams {
    /// LT in (0, 1].
    pub liquidation_threshold: f64,
    /// LB ≥ 0.
    pub liquidation_bonus: f64,
    /// Max LTV in (0, LT].
    pub max_ltv: f64,
    /// Isolation mode debt ceiling, USD at initial prices.
    pub debt_ceiling_usd: Option<f64>,
}

/// A correlated-asset mode (docs/model.md §12).
#[derive(Debug, Clone, PartialEq)]
pub struct Emode {
    /// Member assets, indexed by asset.
    pub member: Vec<bool>,
    /// The parameters its positions use.
    pub params: CollateralParams,
}

/// Rate-driven deleveraging (docs/model.md §12).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deleverage {
    /// Annual borrow rate above which borrowers repay.
    pub borrow_rate: f64,
    /// Fraction of debt repaid per step.
    pub repay: f64,
}

/// A lending market (docs/model.md §5).
#[derive(Debug, Clone)]
pub struct LendingSpec {
    /// Name.
    pub name: String,
    /// Debt asset index.
    pub debt_asset: usize,
    /// Share of the debt repaid per liquidation.
    pub close_factor: f64,
    /// Below this HF the close factor is 1.
    pub full_liquidation_hf: f64,
    /// Price source.
    pub oracle: Oracle,
    /// Collateral parameters indexed by asset (None: not accepted).
    pub collateral: Vec<Option<CollateralParams>>,
    /// The supply side, if modelled.
    pub supply: Option<SupplySpec>,
    /// The e-mode category, if any.
    pub emode: Option<Emode>,
    /// Rate-driven deleveraging, if any.
    pub deleverage: Option<Deleverage>,
    /// Whether the protocol sells positions out itself (docs/model.md §5,
    /// "Forced sale") instead of leaving them to liquidators.
    pub forced_sale: bool,
    /// Positions sold out at a given step whatever their HF.
    pub defaults: Vec<ScriptedDefault>,
}

impl LendingSpec {
    /// The parameters a position holding `assets` uses for collateral `a`:
    /// the e-mode ones when every asset it holds is in the category.
    pub fn params_for(&self, a: usize, assets: &[usize]) -> Option<CollateralParams> {
        let base = self.collateral[a]?;
        match &self.emode {
            Some(e) if assets.iter().all(|&b| e.member[b]) => Some(CollateralParams {
                debt_ceiling_usd: base.debt_ceiling_usd,
                ..e.params
            }),
            _ => Some(base),
        }
    }
}

/// A lending protocol's supply side at step 0 (units of its debt asset).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupplySpec {
    /// Deposited by suppliers; also the initial number of shares (share value 1).
    pub deposits: f64,
    /// The protocol's reserve fund.
    pub reserve_fund: f64,
    /// Initial utilisation, if the scenario gave it instead of deposits.
    pub utilisation: Option<f64>,
    /// Interest rate model, if interest accrues.
    pub rate: Option<RateModel>,
}

/// A kinked utilisation rate model (docs/model.md §11): the annual borrow
/// rate is `base + slope1·u/kink` up to the kink and
/// `base + slope1 + slope2·(u − kink)/(1 − kink)` above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateModel {
    /// Rate at zero utilisation.
    pub base: f64,
    /// Slope below the kink (rate added at the kink).
    pub slope1: f64,
    /// Optimal utilisation in (0, 1).
    pub kink: f64,
    /// Slope above the kink (rate added from kink to full utilisation).
    pub slope2: f64,
    /// Share of interest paid into the reserve fund.
    pub reserve_factor: f64,
}

impl RateModel {
    /// Annual borrow rate at utilisation `u` (clamped to [0, 1]).
    pub fn borrow_rate(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if u <= self.kink {
            self.base + self.slope1 * u / self.kink
        } else {
            self.base + self.slope1 + self.slope2 * (u - self.kink) / (1.0 - self.kink)
        }
    }
}

/// A liquidator agent.
#[derive(Debug, Clone)]
pub struct LiquidatorSpec {
    /// Name.
    pub name: String,
    /// USD capital; `f64::INFINITY` for unlimited (flash loans).
    pub capital: f64,
    /// Smallest profit after gas it acts for.
    pub min_profit: f64,
}

/// A lender agent (docs/model.md §11, "Runs").
#[derive(Debug, Clone, PartialEq)]
pub struct LenderSpec {
    /// Name.
    pub name: String,
    /// Protocol index.
    pub protocol: usize,
    /// Shares held at step 0 (units).
    pub shares: f64,
    /// Fraction of remaining shares redeemed per step once triggered.
    pub withdraw: f64,
    /// Whether withdrawn units are sold into the debt asset's pool.
    pub sell: bool,
    /// Share-value drawdown trigger.
    pub share_value_drawdown: Option<f64>,
    /// Utilisation trigger.
    pub utilisation: Option<f64>,
    /// Peer protocol and its bad-debt trigger, USD.
    pub peer_bad_debt: Option<(usize, f64)>,
    /// Scripted start step.
    pub at_step: Option<u32>,
}

/// Gas settings (docs/model.md §5 step 4).
#[derive(Debug, Clone, Copy, Default)]
pub struct Network {
    /// Gas of one liquidation, USD.
    pub gas_usd: f64,
    /// Growth of gas per liquidation already executed in the step.
    pub congestion: f64,
}

impl Network {
    /// `gas = gas_usd · (1 + congestion · n)`.
    pub fn gas(&self, executed_this_step: u32) -> f64 {
        self.gas_usd * (1.0 + self.congestion * executed_this_step as f64)
    }
}

/// One scripted default, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptedDefault {
    /// Step.
    pub step: u32,
    /// The position's id, or None for one drawn at random.
    pub position: Option<u64>,
}
