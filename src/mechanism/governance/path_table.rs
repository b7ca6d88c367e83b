//! `path_actors.parquet`: each governance actor's outcome per path
//! (listed in `output::parquet::path_tables`, written by runs and sweeps).

use polars::prelude::DataFrame;

use crate::mechanism::governance::table::FATES;
use crate::output::recorder::PathSummary;
use crate::output::table::{Names, col, frame};

/// `path_actors.parquet`: one row per path and actor, for every path.
pub fn path_frame(names: &Names, summaries: &[PathSummary]) -> DataFrame {
    let n = names.actor_names.len();
    let cap = summaries.len() * n;
    let mut path = Vec::with_capacity(cap);
    let (mut actor, mut kind, mut fate) = (
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
    );
    let (mut changes, mut liqs) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
    let (mut first, mut raised) = (Vec::with_capacity(cap), Vec::with_capacity(cap));
    let mut value = Vec::with_capacity(cap);
    for s in summaries {
        for (i, o) in s.actors.iter().enumerate() {
            path.push(s.path as i64);
            actor.push(names.actor_names[i].as_str());
            kind.push(names.actor_kinds[i].as_str());
            changes.push(o.changes as i64);
            first.push(o.first_change.map(i64::from));
            raised.push(o.raised.map(i64::from));
            let proposal = names.actor_kinds[i] == "governance";
            fate.push(proposal.then(|| FATES[o.fate as usize]));
            liqs.push(o.liquidations as i64);
            value.push(o.liquidated_value);
        }
    }
    frame(vec![
        col("path", path),
        col("actor", actor),
        col("kind", kind),
        col("changes", changes),
        col("first_change", first),
        col("raised", raised),
        col("fate", fate),
        col("liquidations", liqs),
        col("liquidated_value", value),
    ])
}
