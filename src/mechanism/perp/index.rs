//! The perps' liquidation index (docs/model.md §15, "Accounts near
//! liquidation"): which accounts a liquidation round needs to look at,
//! without settling every account.
//!
//! An account holding one position (size s, entry mark E, funding index at
//! entry φ, collateral c) has equity `c + s·(M − E − Φ + φ)` at mark M and
//! funding index Φ, and requirement `|s|·M·mmr`. It is below its
//! requirement exactly when its key `k = c/|s| − sign(s)·(E − φ)` is below
//! the market's threshold `M·mmr − sign(s)·(M − Φ)`. Nothing a round or a
//! step does to the market (marks, funding, the margin model) changes a
//! key; only a change to the account itself does (auto-deleveraging, an
//! agent's trade), and such an account is keyed again before the next
//! round. Accounts with several positions are loose: every round checks
//! them in full.
//!
//! Each (market, side) keeps its accounts sorted by key once per scenario
//! (every path starts from the same book at the same marks), so a round
//! reads a prefix; accounts keyed again on the path sit in a second sorted
//! list per (market, side), rebuilt when it changed. The key is only a
//! filter, with a slack far above its rounding: every candidate is then
//! checked exactly, as a full scan checks every account, so both find the
//! same accounts.

/// Relative slack of the filter: keys and thresholds carry rounding of a
/// few ulps of the prices they are made of (the key, the threshold, the
/// mark and the funding index).
const SLACK: f64 = 1e-9;

/// Where an account is looked for on this path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Its entry in the sorted book holds.
    Book,
    /// Its entry in the re-keyed list holds.
    Rekeyed,
    /// Checked in full every round (several positions).
    Loose,
    /// Changed since the last round: to be keyed again.
    Pending,
    /// No position open: never below a requirement of zero (until an
    /// agent's trade opens one).
    Out,
}

/// One sorted list of (key, account) and the first entry that may still
/// be open.
#[derive(Debug, Clone, Default)]
struct Queue {
    entries: Vec<(f64, u32)>,
    frontier: usize,
}

impl Queue {
    fn sort(&mut self) {
        self.entries
            .sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        self.entries.dedup();
        self.frontier = 0;
    }

    /// Visit the live entries while `below` holds for their key (it must
    /// hold for a prefix of the sorted keys); pass over dead entries at
    /// the front for good.
    fn walk(
        &mut self,
        below: impl Fn(f64) -> bool,
        live: impl Fn(usize, f64) -> bool,
        mut visit: impl FnMut(usize),
    ) {
        let mut j = self.frontier;
        while let Some(&(k, a)) = self.entries.get(j) {
            if live(a as usize, k) {
                break;
            }
            j += 1;
        }
        self.frontier = j;
        for &(k, a) in &self.entries[j..] {
            if !below(k) {
                break;
            }
            if live(a as usize, k) {
                visit(a as usize);
            }
        }
    }
}

/// Accounts sorted by key per (market, side), and where each account is
/// looked for on this path.
#[derive(Debug, Default)]
pub(super) struct PerpIndex {
    /// The step-0 marks `book` was built at (once per scenario: every
    /// path starts there).
    built_at: Option<Vec<f64>>,
    /// Per queue `2·market + (short as usize)`: the book's accounts with
    /// one position, by key at step 0.
    book: Vec<Queue>,
    /// Each account's slot when a path starts.
    start: Vec<Slot>,
    /// This path: each account's slot, and the key and queue it was keyed
    /// at again.
    slot: Vec<Slot>,
    rekey: Vec<(f64, u32)>,
    /// This path: per queue, the accounts keyed again.
    rekeyed: Vec<Queue>,
    /// This path: accounts checked in full every round.
    pub(super) loose: Vec<u32>,
    /// This path: accounts changed since the last round.
    pending: Vec<u32>,
    /// Scratch: the re-keyed lists a refresh added to.
    touched: Vec<bool>,
}

/// How an account stands for the index, as `PerpState` computes it.
pub(super) enum Keyed {
    /// One position: its queue and key.
    One(usize, f64),
    /// Several positions: checked in full.
    Several,
    /// None left.
    Empty,
}

/// A position's key: `c/|s| − sign(s)·(E − φ)`.
pub(super) fn key(collateral: f64, size: f64, entry: f64, entry_funding: f64) -> f64 {
    collateral / size.abs() - size.signum() * (entry - entry_funding)
}

/// The queue of a position of size `size` in market `m`.
pub(super) fn queue(m: usize, size: f64) -> usize {
    2 * m + usize::from(size < 0.0)
}

/// The threshold a key must be below for a position of sign `sign` to be
/// under its requirement at mark `mark`, funding index `phi`, fraction `mmr`.
fn threshold(sign: f64, mark: f64, phi: f64, mmr: f64) -> f64 {
    mark * mmr - sign * (mark - phi)
}

impl PerpIndex {
    /// Build the sorted queues of `accounts` accounts in `markets` markets
    /// as they stand at step 0 (`keyed`; entry marks `marks`, funding
    /// index 0), once: later calls at the same marks keep them.
    pub(super) fn build(
        &mut self,
        accounts: usize,
        markets: usize,
        marks: &[f64],
        keyed: impl Fn(usize) -> Keyed,
    ) {
        if self.built_at.as_deref() == Some(marks) {
            return;
        }
        self.book = vec![Queue::default(); 2 * markets];
        self.start = vec![Slot::Out; accounts];
        for a in 0..accounts {
            match keyed(a) {
                Keyed::One(q, k) => {
                    self.book[q].entries.push((k, a as u32));
                    self.start[a] = Slot::Book;
                }
                Keyed::Several => self.start[a] = Slot::Loose,
                Keyed::Empty => {}
            }
        }
        for q in &mut self.book {
            q.sort();
        }
        self.built_at = Some(marks.to_vec());
    }

    /// Back to the book's slots for a new path.
    pub(super) fn reset_path(&mut self) {
        self.slot.clone_from(&self.start);
        self.rekey.clear();
        self.rekey.resize(self.start.len(), (0.0, 0));
        self.rekeyed.clear();
        self.rekeyed.resize(self.book.len(), Queue::default());
        self.loose.clear();
        self.loose.extend(
            (0..self.start.len())
                .filter(|&a| self.start[a] == Slot::Loose)
                .map(|a| a as u32),
        );
        self.pending.clear();
        for q in &mut self.book {
            q.frontier = 0;
        }
    }

    /// Account `a` changed (its key no longer holds): key it again before
    /// the next round.
    pub(super) fn detach(&mut self, a: usize) {
        if matches!(self.slot[a], Slot::Book | Slot::Rekeyed | Slot::Out) {
            self.slot[a] = Slot::Pending;
            self.pending.push(a as u32);
        }
    }

    /// Key the accounts changed since the last round again (`keyed` says
    /// how each stands now) and re-sort the lists they joined.
    pub(super) fn refresh(&mut self, open: &[bool], keyed: impl Fn(usize) -> Keyed) {
        if self.pending.is_empty() {
            return;
        }
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        touched.resize(self.rekeyed.len(), false);
        for &a in &self.pending {
            let a = a as usize;
            if !open[a] {
                continue;
            }
            match keyed(a) {
                Keyed::One(q, k) => {
                    self.slot[a] = Slot::Rekeyed;
                    self.rekey[a] = (k, q as u32);
                    self.rekeyed[q].entries.push((k, a as u32));
                    touched[q] = true;
                }
                Keyed::Several => {
                    self.slot[a] = Slot::Loose;
                    self.loose.push(a as u32);
                }
                Keyed::Empty => self.slot[a] = Slot::Out,
            }
        }
        self.pending.clear();
        for (q, list) in self.rekeyed.iter_mut().enumerate() {
            if touched[q] {
                let (slot, rekey) = (&self.slot, &self.rekey);
                list.entries.retain(|&(k, a)| {
                    let a = a as usize;
                    open[a] && slot[a] == Slot::Rekeyed && rekey[a] == (k, q as u32)
                });
                list.sort();
            }
        }
        self.touched = touched;
    }

    /// Call `visit` with every open account of market `m` on side `short`
    /// in the index whose key is below the threshold (plus slack) at
    /// `mark`, `phi`, `mmr`; `open` says which accounts are open.
    pub(super) fn candidates(
        &mut self,
        m: usize,
        short: bool,
        (mark, phi, mmr): (f64, f64, f64),
        open: &[bool],
        mut visit: impl FnMut(usize),
    ) {
        let q = 2 * m + usize::from(short);
        let sign = if short { -1.0 } else { 1.0 };
        let thr = threshold(sign, mark, phi, mmr);
        // k − thr − slack·|k| grows with k: `below` holds for a prefix.
        let scale = thr.abs() + mark.abs() + phi.abs();
        let below = |k: f64| k < thr + SLACK * (scale + k.abs());
        let slot = &self.slot;
        self.book[q].walk(below, |a, _| open[a] && slot[a] == Slot::Book, &mut visit);
        let rekey = &self.rekey;
        self.rekeyed[q].walk(
            below,
            |a, k| open[a] && slot[a] == Slot::Rekeyed && rekey[a] == (k, q as u32),
            &mut visit,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::{MarginModel, PerpBook, PerpSpec};
    use super::super::state::PerpState;
    use crate::market::Pool;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Two markets with a wide funding clamp, so the funding index moves
    /// as much as the marks do and a key that mishandled it would show.
    fn specs(fund: f64) -> Vec<PerpSpec> {
        (0..2)
            .map(|m| PerpSpec {
                name: format!("m{m}"),
                asset: m,
                pool: m,
                initial_margin: 0.06,
                maintenance_margin: 0.05,
                taker_fee: 0.001,
                liquidation_fee: 0.01,
                insurance_fund: fund,
                funding_clamp: 0.05,
                funding_period_hours: 1.0,
                index_lag_steps: 0,
                margin: MarginModel::Static,
            })
            .collect()
    }

    /// Random books (one position per account mostly, a few with two,
    /// a few empty ones), random marks and heavy funding, agent trades on
    /// random positions: a state searching with the index and one scanning
    /// every account liquidate the same accounts, round after round, to
    /// the bit.
    #[test]
    fn the_index_finds_what_a_full_scan_finds() {
        let mut liquidated = 0;
        for seed in 0..40u64 {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let specs = specs(if seed % 3 == 0 { 0.0 } else { 2_000.0 });
            let mut book = PerpBook::default();
            for _ in 0..60 {
                let n: usize = if rng.random::<f64>() < 0.2 { 2 } else { 1 };
                let mut positions = Vec::new();
                let mut notional = 0.0;
                for k in 0..n {
                    let size = (rng.random::<f64>() * 20.0 + 1.0)
                        * if rng.random::<bool>() { 1.0 } else { -1.0 };
                    let size = if rng.random::<f64>() < 0.05 {
                        0.0
                    } else {
                        size
                    };
                    positions.push(((k + seed as usize) % 2, size));
                    notional += size.abs() * 100.0;
                }
                book.push_account(notional / rng.random_range(2.0..15.0), &positions);
            }
            let mut pools = [vec![Pool::new(1e5, 100.0, 0.0); 2], vec![]];
            pools[1] = pools[0].clone();
            let mut states = [PerpState::default(), PerpState::default()];
            for (st, scan) in states.iter_mut().zip([false, true]) {
                st.reset(&specs, &book, &[100.0, 100.0]);
                st.set_full_scan(scan);
            }
            let q = [1.0, 1.0];
            let mut index = [100.0, 100.0];
            for _ in 0..30 {
                for price in &mut index {
                    *price *= (0.04 * (rng.random::<f64>() - 0.55)).exp();
                }
                let premium = [
                    rng.random::<f64>() * 0.1 - 0.05,
                    rng.random::<f64>() * 0.1 - 0.05,
                ];
                let trade = rng.random_range(0..book.size.len());
                let units = rng.random::<f64>() * 4.0 - 2.0;
                let mut outcomes = Vec::new();
                for (st, pools) in states.iter_mut().zip(pools.iter_mut()) {
                    for m in 0..2 {
                        pools[m].arbitrage_to(index[m] * (1.0 + premium[m]));
                    }
                    st.agent_trade(&specs, &book, trade, units, pools, &q);
                    let round = st.liquidation_round(&specs, &book, pools, &q);
                    let mut marks = Vec::new();
                    PerpState::fill_marks(&specs, pools, &q, &mut marks);
                    st.funding(&specs, &marks, &index, 1.0);
                    let again = st.liquidation_round(&specs, &book, pools, &q);
                    let money = [st.fund.clone(), st.vault_cash.clone()];
                    outcomes.push((round, again, st.open.clone(), money));
                }
                assert_eq!(outcomes[0], outcomes[1], "seed {seed}");
                liquidated += outcomes[0].0.accounts + outcomes[0].1.accounts;
            }
        }
        assert!(liquidated > 500, "only {liquidated} liquidations");
    }

    /// Accounts within a few ulps of their requirement, long and short,
    /// in both markets: the index's slack finds every one the exact check
    /// liquidates (a state scanning every account liquidates the same),
    /// and visits each open account of the queried side once, also once
    /// agents' trades have re-keyed accounts and flipped them to the other
    /// side (leaving stale entries in the lists they left).
    #[test]
    fn the_slack_catches_accounts_within_rounding_of_their_requirement() {
        let specs = specs(0.0);
        let q = [1.0, 1.0];
        let mut found = 0;
        for seed in 0..20u64 {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut pools = vec![Pool::new(1e7, 100.0, 0.0); 2];
            let target = [
                100.0 * rng.random_range(0.8..1.2),
                100.0 * rng.random_range(0.8..1.2),
            ];
            for m in 0..2 {
                pools[m].arbitrage_to(target[m]);
            }
            let mut marks = Vec::new();
            PerpState::fill_marks(&specs, &pools, &q, &mut marks);
            let mut book = PerpBook::default();
            for i in 0..200 {
                let m = i % 2;
                let size: f64 = rng.random_range(0.5..30.0) * if i % 4 < 2 { 1.0 } else { -1.0 };
                // Equity c + s(M − 100) against |s|·M·mmr, a few ulps apart.
                let req = size.abs() * marks[m] * 0.05;
                let pnl = size * (marks[m] - 100.0);
                let ulps = rng.random_range(-4i32..=4) as f64;
                let margin = (req - pnl) * (1.0 + ulps * f64::EPSILON);
                if margin > 0.0 {
                    book.push_account(margin, &[(m, size)]);
                }
            }
            let mut states = [PerpState::default(), PerpState::default()];
            let mut outcomes = Vec::new();
            for (st, scan) in states.iter_mut().zip([false, true]) {
                st.reset(&specs, &book, &[100.0, 100.0]);
                st.set_full_scan(scan);
                let mut p = pools.clone();
                let round = st.liquidation_round(&specs, &book, &mut p, &q);
                outcomes.push((round, st.open.clone()));
            }
            assert_eq!(outcomes[0], outcomes[1], "seed {seed}");
            found += outcomes[0].0.accounts;
            // Agents flip some accounts to the other side and back, so
            // the re-keyed lists hold stale entries beside live ones.
            let st = &mut states[0];
            let mut p = pools.clone();
            for a in (0..book.size.len()).step_by(7) {
                if st.open[a] {
                    let more = 0.1 * st.size[a];
                    st.agent_trade(&specs, &book, a, more, &mut p, &q);
                    st.liquidation_round(&specs, &book, &mut p, &q);
                    let flip = -2.0 * st.size[a];
                    st.agent_trade(&specs, &book, a, flip, &mut p, &q);
                }
            }
            st.liquidation_round(&specs, &book, &mut p, &q);
            for (m, &mark) in marks.iter().enumerate() {
                for short in [false, true] {
                    let mut seen = Vec::new();
                    let open = st.open.clone();
                    let mmr = st.mmr[m];
                    st.index
                        .candidates(m, short, (mark, 0.0, mmr), &open, |a| seen.push(a));
                    let n = seen.len();
                    seen.sort_unstable();
                    seen.dedup();
                    assert_eq!(seen.len(), n, "an account visited twice");
                    for &a in &seen {
                        assert!(st.open[a], "closed account {a} visited");
                        assert_eq!(st.size[a] < 0.0, short, "account {a} of the other side");
                    }
                }
            }
        }
        assert!(found > 100, "only {found} boundary accounts liquidated");
    }
}
