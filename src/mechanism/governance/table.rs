//! `parameters.parquet`: one row per field a change moves, on each recorded
//! path (docs/model.md §18).

use crate::scenario::validated::Scenario;

crate::step_table! {
    /// `parameters.parquet` rows of one path: one per field changed, at the
    /// step the change took effect.
    pub struct ParameterRows in "parameters" of parameters, written if |sc| !sc.governance.changes.is_empty() => {
        /// Step at whose start the change took effect.
        "step" step: u32 as index,
        /// `[[governance]]` entry (in file order, from 0).
        "change" change: u32 as index,
        /// The protocol, perp market or CDP the field belongs to.
        "target" target: u32 as name(parameter_targets),
        /// The field's path below its target
        /// (`collateral.ETH.liquidation_threshold`).
        "field" field: u32 as name(parameter_fields),
        /// Value before.
        "old" old: f64 as value,
        /// Value after.
        "new" new: f64 as value,
        /// Who changed it: `schedule`.
        "actor" actor: u32 as name(parameter_actors),
    }
}

/// The actors `ParameterRows::actor` names.
pub const ACTORS: [&str; 1] = ["schedule"];

/// Every field change of a scenario in order (changes in the order they
/// take effect, the fields of one in the order of their paths): (target,
/// field). A row's `target` and `field` index this list.
pub fn field_names(sc: &Scenario) -> (Vec<String>, Vec<String>) {
    sc.governance
        .changes
        .iter()
        .flat_map(|c| c.rows.iter().map(|r| (r.target.clone(), r.field.clone())))
        .unzip()
}
