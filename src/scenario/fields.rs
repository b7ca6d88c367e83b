//! Fields of a scenario file addressed by dotted path, as sweep axes and
//! tests address them: `simulation.steps`,
//! `protocols.aave-like.collateral.ETH.liquidation_threshold`,
//! `populations.0.count`. Inside an array of tables a segment selects the
//! element whose `name`, `symbol`, `asset` or `base` equals it, or
//! the element at that index.

/// The item at `path` (a value or a section).
pub fn navigate<'v>(root: &'v mut toml::Value, path: &str) -> Result<&'v mut toml::Value, String> {
    let mut cur = root;
    for seg in path.split('.') {
        cur = step(cur, seg, path)?;
    }
    Ok(cur)
}

/// One segment down from `cur`.
fn step<'v>(
    cur: &'v mut toml::Value,
    seg: &str,
    path: &str,
) -> Result<&'v mut toml::Value, String> {
    match cur {
        toml::Value::Table(t) => t
            .get_mut(seg)
            .ok_or_else(|| format!("`{path}` is not in the base scenario (no `{seg}`)")),
        toml::Value::Array(items) => {
            let idx = match seg.parse::<usize>() {
                Ok(i) if i < items.len() => Some(i),
                _ => items.iter().position(|it| {
                    ["name", "symbol", "asset", "base"]
                        .iter()
                        .any(|k| it.get(k).and_then(|v| v.as_str()) == Some(seg))
                }),
            };
            let i = idx.ok_or_else(|| {
                format!("`{path}` is not in the base scenario (no element `{seg}`)")
            })?;
            Ok(&mut items[i])
        }
        _ => Err(format!("`{path}`: `{seg}` is below a value, not a table")),
    }
}

/// The value at `path`: an error names the first segment that is missing,
/// or says the path names a section.
pub fn lookup<'v>(root: &'v mut toml::Value, path: &str) -> Result<&'v mut toml::Value, String> {
    let cur = navigate(root, path)?;
    if cur.is_table() || cur.is_array() {
        return Err(format!("`{path}` is a section, not a value"));
    }
    Ok(cur)
}

/// The table that holds `path`'s last segment, and that segment.
pub fn parent<'v, 'p>(
    root: &'v mut toml::Value,
    path: &'p str,
) -> Result<(&'v mut toml::Table, &'p str), String> {
    let (up, key) = match path.rsplit_once('.') {
        Some((up, key)) => (Some(up), key),
        None => (None, path),
    };
    let holder = match up {
        Some(up) => navigate(root, up)?,
        None => root,
    };
    match holder {
        toml::Value::Table(t) => Ok((t, key)),
        _ => Err(format!("`{path}`: its parent is not a table")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_array_elements_by_name_and_index() {
        let mut v: toml::Value = toml::from_str(
            "[[protocols]]\nname = \"lend\"\n[[protocols.collateral]]\nasset = \"ETH\"\nliquidation_threshold = 0.8\n[[populations]]\ncount = 5",
        )
        .unwrap();
        *lookup(
            &mut v,
            "protocols.lend.collateral.ETH.liquidation_threshold",
        )
        .unwrap() = toml::Value::Float(0.7);
        assert_eq!(
            v["protocols"][0]["collateral"][0]["liquidation_threshold"].as_float(),
            Some(0.7)
        );
        assert!(lookup(&mut v, "populations.0.count").is_ok());
        let e = lookup(
            &mut v,
            "protocols.lend.collateral.BTC.liquidation_threshold",
        )
        .unwrap_err();
        assert!(e.contains("no element `BTC`"), "{e}");
        assert!(
            lookup(&mut v, "protocols.lend")
                .unwrap_err()
                .contains("a section")
        );
        let (t, key) = parent(&mut v, "protocols.lend.collateral.ETH.max_ltv").unwrap();
        assert_eq!(key, "max_ltv");
        assert!(t.contains_key("liquidation_threshold"));
        assert!(parent(&mut v, "protocols.nope.x").is_err());
    }
}
