//! Slurm job scripts for a sweep: an array job of shards and a merge job
//! that runs after it (docs/sweeps.md).

use std::path::Path;

use crate::error::ScenarioError;
use crate::sweep::files::units;
use crate::sweep::spec::Sweep;

/// Resources of the emitted Slurm jobs, passed through to `#SBATCH`
/// lines as given (`--time`, `--mem`, `--partition`, `--account`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmResources {
    /// Wall-clock limit per task, e.g. `02:00:00`.
    pub time: Option<String>,
    /// Memory per node, e.g. `8G`.
    pub mem: Option<String>,
    /// Partition.
    pub partition: Option<String>,
    /// Account charged.
    pub account: Option<String>,
}

impl SlurmResources {
    /// Refuse values that would break the script: empty, or holding spaces,
    /// quotes or control characters (a newline would add a line to it).
    pub fn check(&self) -> Result<(), ScenarioError> {
        for (flag, v) in [
            ("--time", &self.time),
            ("--mem", &self.mem),
            ("--partition", &self.partition),
            ("--account", &self.account),
        ] {
            if let Some(v) = v
                && (v.is_empty()
                    || v.chars().any(|c| {
                        c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | '\\' | '#')
                    }))
            {
                return Err(ScenarioError::invalid(
                    flag,
                    format!("{v:?} is not a Slurm value (no spaces, quotes or control characters)"),
                ));
            }
        }
        Ok(())
    }

    fn lines(&self) -> String {
        [
            ("time", &self.time),
            ("mem", &self.mem),
            ("partition", &self.partition),
            ("account", &self.account),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("#SBATCH --{k}={v}\n")))
        .collect()
    }
}

/// The scripts `--emit-slurm` writes into the sweep folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmScripts {
    /// `sweep.sbatch`: the array job, task i runs shard i.
    pub array: String,
    /// `merge.sbatch`: the merge, one task.
    pub merge: String,
    /// `submit.sh`: submits the array, then the merge with
    /// `--dependency=afterok:<array job id>`.
    pub submit: String,
}

/// The Slurm scripts of a sweep: an array of `shards` tasks of `threads`
/// cores each (task i runs shard i, from `SLURM_ARRAY_TASK_ID`), a merge
/// job, and a submit script that queues the merge to start once every
/// array task has succeeded (and cancels it if one fails). Logs go to
/// `<out>/logs/`.
pub fn slurm_scripts(
    sw: &Sweep,
    out: &Path,
    shards: u32,
    threads: u32,
    binary: &Path,
    res: &SlurmResources,
) -> SlurmScripts {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let q = |p: &Path| format!("'{}'", abs(p).display().to_string().replace('\'', "'\\''"));
    let logs = abs(&out.join("logs")).display().to_string();
    let name = &sw.raw.sweep.name;
    let (bin, file, dir) = (q(binary), q(&sw.file), q(out));
    let resources = res.lines();
    let array = format!(
        "#!/bin/bash\n\
         # contagion sweep `{name}`: {units} units in {shards} array tasks.\n\
         # Submit with {submit}: it queues this array, then the merge\n\
         # ({merge_script}) to run once every task has succeeded.\n\
         #SBATCH --job-name=contagion-{name}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={threads}\n\
         {resources}\
         #SBATCH --output={logs}/%A_%a.out\n\
         #SBATCH --error={logs}/%A_%a.err\n\
         set -euo pipefail\n\
         exec {bin} sweep {file} --out {dir} --threads {threads} --quiet\n",
        units = units(sw).len(),
        submit = q(&out.join("submit.sh")),
        merge_script = q(&out.join("merge.sbatch")),
        last = shards.max(1) - 1,
    );
    let merge = format!(
        "#!/bin/bash\n\
         # contagion sweep `{name}`: the merge (runs.parquet, charts) once the\n\
         # array is done. submit.sh queues it with --dependency=afterok.\n\
         #SBATCH --job-name=contagion-{name}-merge\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --kill-on-invalid-dep=yes\n\
         {resources}\
         #SBATCH --output={logs}/merge_%j.out\n\
         #SBATCH --error={logs}/merge_%j.err\n\
         set -euo pipefail\n\
         exec {bin} sweep {file} --out {dir} --merge --quiet\n",
    );
    let submit = format!(
        "#!/bin/bash\n\
         # contagion sweep `{name}`: queue the array job, then the merge job,\n\
         # which starts once every array task has succeeded (afterok) and is\n\
         # cancelled if one fails. Arguments are passed to the merge's sbatch\n\
         # (e.g. --wait to return when the merge has run).\n\
         set -euo pipefail\n\
         array=$(sbatch --parsable {array_script})\n\
         array=${{array%%;*}}\n\
         echo \"array job $array: {shards} tasks\"\n\
         merge=$(sbatch --parsable --dependency=afterok:\"$array\" \"$@\" {merge_script})\n\
         echo \"merge job ${{merge%%;*}}: after array job $array\"\n",
        array_script = q(&out.join("sweep.sbatch")),
        merge_script = q(&out.join("merge.sbatch")),
    );
    SlurmScripts {
        array,
        merge,
        submit,
    }
}
