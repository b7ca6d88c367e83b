//! Option vaults (docs/model.md §14): each epoch the vault sells options on
//! all its collateral at a target delta, keeps the premium, and settles at
//! expiry: covered calls in kind (units of the underlying), cash-secured
//! puts in cash. Depositors' equity is marked to model at the end of every
//! step.

use crate::derivatives::surface::{AtmVol, Ewma};
use crate::derivatives::{Kind, greeks, payoff, price};
use crate::mechanism::options::spec::VaultSpec;

/// One vault on one path.
#[derive(Debug, Clone, Default)]
pub struct VaultState {
    /// Units of the underlying held (covered calls).
    pub units: f64,
    /// Cash collateral, USD (puts).
    pub collateral: f64,
    /// Premiums received, USD.
    pub cash: f64,
    /// Strike of the open options.
    pub strike: f64,
    /// Contracts sold (units of the underlying).
    pub quantity: f64,
    /// Hours at which the open options expire.
    pub expiry_hours: f64,
    /// Premium received this step, USD.
    pub premium: f64,
    /// Paid at settlement this step, USD.
    pub payout: f64,
    /// Equity at step 0, USD: holdings + cash − the open options' value.
    pub initial_equity: f64,
    ewma: Option<Ewma>,
    last_price: f64,
}

/// The strike whose |delta| is `target` on the surface at ATM level `atm`
/// (bisection on ln K: |delta| falls with K for calls, rises for puts).
pub fn strike_for_delta(spec: &VaultSpec, atm: f64, s: f64, tau: f64) -> f64 {
    let (mut lo, mut hi) = ((s / 20.0).ln(), (s * 20.0).ln());
    let abs_delta = |k: f64| {
        greeks(
            spec.kind,
            s,
            k,
            tau,
            spec.surface.vol(atm, s, k),
            spec.rate,
            0.0,
        )
        .delta
        .abs()
    };
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        let d = abs_delta(mid.exp());
        let too_high = d > spec.delta;
        match spec.kind {
            Kind::Call if too_high => lo = mid,
            Kind::Call => hi = mid,
            Kind::Put if too_high => hi = mid,
            Kind::Put => lo = mid,
        }
    }
    (0.5 * (lo + hi)).exp()
}

impl VaultState {
    fn atm(&self, spec: &VaultSpec) -> f64 {
        match (&self.ewma, spec.surface.atm) {
            (Some(e), _) => e.vol(),
            (None, AtmVol::Fixed(v)) => v,
            (None, AtmVol::Ewma { initial, .. }) => initial,
        }
    }

    /// Step 0: deposits in, first epoch sold at `s`.
    pub fn reset(&mut self, spec: &VaultSpec, s: f64) {
        *self = VaultState {
            ewma: match spec.surface.atm {
                AtmVol::Fixed(_) => None,
                AtmVol::Ewma { lambda, initial } => Some(Ewma::new(lambda, initial)),
            },
            last_price: s,
            ..VaultState::default()
        };
        let atm = self.atm(spec);
        match spec.kind {
            Kind::Call => self.units = spec.deposits,
            Kind::Put => self.collateral = spec.deposits,
        }
        self.sell(spec, atm, s, 0.0);
        self.initial_equity = self.marked_with(spec, atm, s, 0.0).0;
    }

    fn sell(&mut self, spec: &VaultSpec, atm: f64, s: f64, hours: f64) {
        let tau = spec.tenor_hours / 8760.0;
        self.strike = strike_for_delta(spec, atm, s, tau);
        self.quantity = match spec.kind {
            Kind::Call => self.units,
            Kind::Put => self.collateral / self.strike,
        };
        self.expiry_hours = hours + spec.tenor_hours;
        let vol = spec.surface.vol(atm, s, self.strike);
        self.premium = self.quantity * price(spec.kind, s, self.strike, tau, vol, spec.rate, 0.0);
        self.cash += self.premium;
    }

    fn marked_with(&self, spec: &VaultSpec, atm: f64, s: f64, hours: f64) -> (f64, [f64; 4]) {
        let tau = (self.expiry_hours - hours) / 8760.0;
        let vol = spec.surface.vol(atm, s, self.strike);
        let g = greeks(spec.kind, s, self.strike, tau, vol, spec.rate, 0.0);
        let equity = self.units * s + self.collateral + self.cash - self.quantity * g.price;
        let greeks = [
            self.units - self.quantity * g.delta,
            -self.quantity * g.gamma,
            -self.quantity * g.vega,
            -self.quantity * g.theta,
        ];
        (equity, greeks)
    }

    /// Equity and Greeks at price `s` and time `hours` with the ATM level
    /// in force: what the step's record reads at the end-of-step price
    /// (docs/model.md §8).
    pub fn marked(&self, spec: &VaultSpec, s: f64, hours: f64) -> (f64, [f64; 4]) {
        self.marked_with(spec, self.atm(spec), s, hours)
    }

    /// One step at `hours` with price `s`: update the ATM level, settle an
    /// expired epoch and sell the next (the record marks it to model at the
    /// end-of-step price, `marked`).
    pub fn step(&mut self, spec: &VaultSpec, s: f64, hours: f64, dt_years: f64) {
        if let Some(e) = self.ewma.as_mut() {
            e.update((s / self.last_price).ln(), dt_years);
        }
        self.last_price = s;
        let atm = self.atm(spec);
        self.premium = 0.0;
        self.payout = 0.0;
        if hours >= self.expiry_hours - 1e-9 {
            self.payout = self.quantity * payoff(spec.kind, s, self.strike);
            match spec.kind {
                Kind::Call => self.units -= self.payout / s,
                Kind::Put => self.collateral -= self.payout,
            }
            self.sell(spec, atm, s, hours);
        }
    }
}
