//! `contagion validate`: check a scenario without running it, optionally
//! exporting its book.

use std::path::Path;

use contagion::{Overrides, RunError, Scenario, ScenarioError};

/// A line on positions already below health factor 1 at step 0, if any.
pub(crate) fn unhealthy_line(sc: &Scenario) -> Option<String> {
    use contagion::scenario::raw::UnhealthyPolicy;
    let u = sc.unhealthy;
    (u.positions > 0).then(|| {
        let what = match sc.resolved.simulation.unhealthy_positions {
            UnhealthyPolicy::Drop => "dropped from the book",
            _ => "kept: they are liquidated at step 1; set simulation.unhealthy_positions = \"refuse\" or \"drop\" to change that",
        };
        format!(
            "warning: {} positions ({:.0} USD of debt) are below health factor 1 at step 0 ({what})",
            u.positions, u.debt_usd
        )
    })
}

/// Write the book of `sc` to `file` (Parquet or CSV by extension), under a
/// temporary name renamed into place, never over an existing file without
/// `force`.
fn export_book(sc: &Scenario, file: &Path, force: bool) -> Result<(), RunError> {
    use contagion::OutputError;
    if file.is_dir() {
        return Err(ScenarioError::invalid(
            "--export-book",
            format!("{} is a folder; name a file", file.display()),
        )
        .into());
    }
    if file.exists() && !force {
        return Err(OutputError::Exists(file.to_path_buf()).into());
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".into());
    let tmp = file.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let parquet = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let written = if parquet {
        let meta = contagion::output::manifest::Manifest::new(sc).to_json();
        contagion::output::parquet::write_frame(
            &tmp,
            contagion::output::parquet::book_frame(sc),
            &meta,
        )
        .map(|_| ())
    } else {
        let mut text = String::from("id,protocol,asset,units,debt\n");
        let b = &sc.book;
        for i in 0..b.len() {
            let protocol = &sc.protocols[b.protocol[i] as usize].name;
            for k in b.coll_range(i) {
                let asset = &sc.assets[b.coll_asset[k] as usize].symbol;
                text.push_str(&format!(
                    "{i},{protocol},{asset},{},{}\n",
                    b.coll_units[k], b.debt[i]
                ));
            }
        }
        std::fs::write(&tmp, text).map_err(|e| OutputError::io(&tmp, e))
    };
    let done =
        written.and_then(|()| std::fs::rename(&tmp, file).map_err(|e| OutputError::io(file, e)));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(done?)
}

pub(crate) fn validate(path: &Path, export: Option<&Path>, force: bool) -> Result<(), RunError> {
    let sc = Scenario::load(path, &Overrides::default())?;
    if let Some(file) = export {
        export_book(&sc, file, force)?;
    }
    let cdps = if sc.cdps.is_empty() {
        String::new()
    } else {
        format!(
            ", CDPs: {} ({} vaults)",
            sc.cdps.len(),
            sc.cdps.iter().map(|c| c.vaults.len()).sum::<usize>()
        )
    };
    println!(
        "{}: valid — scenario `{}`, {} assets, {} pools, {} protocols, {} perp markets, {} positions, {} liquidators{cdps}, {} steps × {} paths",
        path.display(),
        sc.name,
        sc.assets.len(),
        sc.pools.len(),
        sc.protocols.len(),
        sc.perps.len(),
        sc.book.len(),
        sc.liquidators.len(),
        sc.steps,
        sc.paths
    );
    if let Some(line) = unhealthy_line(&sc) {
        println!("{line}");
    }
    Ok(())
}
