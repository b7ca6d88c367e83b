//! Overlapping portfolios (docs/model.md §19): the family's per-path book
//! and its cascade against an independent computation written here from
//! the setup of Caccioli et al. (2014).

use contagion::Overrides;
use contagion::engine::World;
use contagion::scenario::family::{RawOverlapping, network};

use crate::common::*;

/// A small cell: 100 holders and assets, mean degree 3, leverage `lev`.
fn cell(lev: f64, paths: u32) -> String {
    format!(
        r#"
[simulation]
name = "cell"
steps = 1
paths = {paths}
seed = 5

[overlapping_portfolios]
holders = 100
assets = 100
mean_degree = 3.0
leverage = {lev}
"#
    )
}

fn params(lev: f64) -> RawOverlapping {
    RawOverlapping {
        holders: 100,
        assets: 100,
        mean_degree: 3.0,
        leverage: lev,
        alpha: 1.0536,
        contagion_share: 0.05,
    }
}

/// The cascade of Caccioli et al. written from the setup alone: holder h
/// of k assets holds 1/k of each (price 1) and owes 1 − 1/λ; asset j's
/// price is exp(−α·s_j/H_j), s_j its units sold, H_j its total holding.
/// `first` fails and is sold out; then, round after round, every holder
/// whose assets are worth less than its debt at the round's prices is sold
/// out. Returns how many failed.
fn cascade(holdings: &[Vec<u32>], m: usize, lev: f64, first: usize) -> usize {
    let alpha = 1.0536;
    let mut depth = vec![0.0; m];
    for h in holdings {
        for &j in h {
            depth[j as usize] += 1.0 / h.len() as f64;
        }
    }
    let mut sold = vec![0.0; m];
    let mut failed = vec![false; holdings.len()];
    let sell = |h: usize, sold: &mut Vec<f64>| {
        for &j in &holdings[h] {
            sold[j as usize] += 1.0 / holdings[h].len() as f64;
        }
    };
    failed[first] = true;
    sell(first, &mut sold);
    loop {
        let price: Vec<f64> = (0..m)
            .map(|j| {
                if depth[j] > 0.0 {
                    (-alpha * sold[j] / depth[j]).exp()
                } else {
                    1.0
                }
            })
            .collect();
        let new: Vec<usize> = (0..holdings.len())
            .filter(|&h| {
                !failed[h] && {
                    let k = holdings[h].len() as f64;
                    let worth: f64 = holdings[h].iter().map(|&j| price[j as usize] / k).sum();
                    worth < 1.0 - 1.0 / lev
                }
            })
            .collect();
        if new.is_empty() {
            break;
        }
        for h in new {
            failed[h] = true;
            sell(h, &mut sold);
        }
    }
    failed.iter().filter(|&&f| f).count()
}

/// On 120 paths of two cells, the engine's count of failed holders equals
/// the independent cascade's from the same network and the same first
/// failure (the first position the engine sold). The cells are chosen so
/// that both outcomes occur: some paths stop at a few failures, others
/// take most holders.
#[test]
fn the_cascade_matches_an_independent_computation() {
    for lev in [10.0, 12.0] {
        let sc = scenario(&cell(lev, 120), &Overrides::default());
        let (mut small, mut large) = (0, 0);
        for path in 0..120 {
            let own = sc.for_path(path).unwrap();
            let rec = World::new(&own).run_path(path).unwrap();
            let holdings = network(5, path, &params(lev));
            assert_eq!(own.book.len(), holdings.len());
            let first = rec.liquidations.position[0] as usize;
            let want = cascade(&holdings, 100, lev, first);
            assert_eq!(
                rec.summary.positions_liquidated as usize, want,
                "leverage {lev}, path {path}"
            );
            if want < 5 {
                small += 1;
            } else {
                large += 1;
            }
        }
        assert!(
            small > 5 && large > 5,
            "leverage {lev}: {small} small, {large} large"
        );
    }
}

/// The book of path p: one position per holder with an asset, 1/k of each
/// of its k assets, owing 1 − 1/λ; each venue's depth is its asset's total
/// holding; the mean degree is near μ_b; and path p's book is the same
/// whatever the number of paths.
#[test]
fn each_path_draws_its_own_network() {
    let sc = scenario(&cell(10.0, 40), &Overrides::default());
    let mut degrees = Vec::new();
    for path in [0u32, 7, 39] {
        let own = sc.for_path(path).unwrap();
        let holdings = network(5, path, &params(10.0));
        let book = &own.book;
        let mut depth = vec![0.0; 100];
        for (i, held) in holdings.iter().enumerate() {
            let r = book.coll_range(i);
            let assets: Vec<u32> = r.clone().map(|k| book.coll_asset[k]).collect();
            assert_eq!(&assets, held);
            for k in r {
                assert!((book.coll_units[k] - 1.0 / held.len() as f64).abs() < 1e-15);
                depth[book.coll_asset[k] as usize] += book.coll_units[k];
            }
            assert!((book.debt[i] - 0.9).abs() < 1e-15);
            degrees.push(held.len() as f64);
        }
        for (j, d) in depth.iter().enumerate() {
            let reserve = own.pools[j].base_reserve;
            assert!((reserve - if *d > 0.0 { *d } else { 1.0 }).abs() < 1e-12);
        }
        // The same path in a run of 1,000 paths.
        let more = scenario(&cell(10.0, 1000), &Overrides::default());
        assert_eq!(more.for_path(path).unwrap().book, own.book);
    }
    // Degrees of holders with an asset: Poisson(3) given ≥ 1, mean
    // 3/(1 − e^−3) = 3.157.
    let mean = degrees.iter().sum::<f64>() / degrees.len() as f64;
    assert!((mean - 3.157).abs() < 0.35, "{mean}");
    // Two paths differ.
    assert_ne!(sc.for_path(1).unwrap().book, sc.for_path(2).unwrap().book);
}

#[test]
fn the_family_is_validated() {
    assert_rejected(
        &edit(
            &cell(10.0, 1),
            &[Edit::Set("overlapping_portfolios.leverage", val("1.0"))],
        ),
        &["overlapping_portfolios.leverage"],
    );
    assert_rejected(
        &edit(
            &cell(10.0, 1),
            &[Edit::Set("overlapping_portfolios.mean_degree", val("0.0"))],
        ),
        &["overlapping_portfolios.mean_degree"],
    );
    assert_rejected(
        &edit(
            &cell(10.0, 1),
            &[Edit::Push("assets", table("symbol = \"X\"\nprice = 1.0"))],
        ),
        &["assets", "generated"],
    );
}

/// `max_cascade_rounds` is raised to at least N + 1 (docs/model.md §19),
/// on path 0's scenario and on every other path's; a larger one is kept.
#[test]
fn the_family_never_cuts_a_cascade_short() {
    let capped = edit(
        &cell(10.0, 4),
        &[Edit::Add("simulation.max_cascade_rounds", val("1"))],
    );
    let sc = scenario(&capped, &Overrides::default());
    assert_eq!(sc.max_cascade_rounds, 101);
    assert_eq!(sc.for_path(3).unwrap().max_cascade_rounds, 101);
    let wide = edit(
        &cell(10.0, 4),
        &[Edit::Add("simulation.max_cascade_rounds", val("500"))],
    );
    assert_eq!(
        scenario(&wide, &Overrides::default()).max_cascade_rounds,
        500
    );
}

/// N = M = 1000 unless written (docs/model.md §19): 1,000 generated assets
/// beside the debt asset, and the holders with at least one asset (about
/// 1000·(1 − e^−3) = 950 at mean degree 3). A scenario that is no family
/// is its own scenario on every path.
#[test]
fn the_family_defaults_to_a_thousand_holders_and_assets() {
    let text = "[simulation]\nname = \"d\"\nsteps = 1\npaths = 2\n\n\
                [overlapping_portfolios]\nmean_degree = 3.0\nleverage = 10.0\n";
    let sc = scenario(text, &Overrides::default());
    assert_eq!(sc.assets.len(), 1001);
    let n = sc.book.len();
    assert!((900..=1000).contains(&n), "{n} holders with an asset");
    let plain = scenario(SMALL, &Overrides::default());
    assert!(matches!(
        plain.for_path(5).unwrap(),
        std::borrow::Cow::Borrowed(_)
    ));
}

/// Each of the section's bounds (docs/model.md §19) refuses the value just
/// outside it, naming the field, and accepts the value on it; each section
/// the family generates is refused when written.
#[test]
fn the_family_bounds_refuse_just_outside_and_accept_on_them() {
    let with = |k: &str, v: &str| {
        let path = format!("overlapping_portfolios.{k}");
        edit(
            &cell(10.0, 1),
            &[if ["alpha", "contagion_share"].contains(&k) {
                Edit::Add(&path, val(v))
            } else {
                Edit::Set(&path, val(v))
            }],
        )
    };
    for (k, v) in [
        ("holders", "0"),
        ("holders", "100001"),
        ("assets", "0"),
        ("assets", "100001"),
        ("mean_degree", "-1.0"),
        ("mean_degree", "100.5"),
        ("mean_degree", "nan"),
        ("leverage", "0.5"),
        ("leverage", "inf"),
        ("alpha", "0.0"),
        ("alpha", "100.5"),
        ("contagion_share", "0.0"),
        ("contagion_share", "1.01"),
    ] {
        assert_rejected(&with(k, v), &[&format!("overlapping_portfolios.{k}")]);
    }
    for (k, v) in [
        ("mean_degree", "100.0"),
        ("leverage", "1.0001"),
        ("alpha", "100.0"),
        ("contagion_share", "1.0"),
    ] {
        scenario(&with(k, v), &Overrides::default());
    }
    // The largest sides: 100,000 holders of one asset, and as many assets.
    let wide = edit(
        &cell(10.0, 1),
        &[
            Edit::Set("overlapping_portfolios.holders", val("100000")),
            Edit::Set("overlapping_portfolios.assets", val("1")),
            Edit::Set("overlapping_portfolios.mean_degree", val("1.0")),
        ],
    );
    assert_eq!(scenario(&wide, &Overrides::default()).book.len(), 100_000);
    let many = edit(
        &cell(10.0, 1),
        &[
            Edit::Set("overlapping_portfolios.holders", val("1")),
            Edit::Set("overlapping_portfolios.assets", val("100000")),
            Edit::Set("overlapping_portfolios.mean_degree", val("1.0")),
        ],
    );
    scenario(&many, &Overrides::default());
    let market = "[[pools]]\nbase = \"A0\"\nquote = \"A1\"\nbase_reserve = 1.0\n";
    for (section, text) in [
        ("pools", market.to_string()),
        (
            "protocols",
            "[[protocols]]\nname = \"p\"\nkind = \"lending\"\ndebt_asset = \"A0\"\n\
             collateral = [{ asset = \"A1\", liquidation_threshold = 0.8, \
             liquidation_bonus = 0.05, max_ltv = 0.7 }]\n"
                .into(),
        ),
        (
            "positions",
            "[[positions]]\nprotocol = \"p\"\ndebt = 1.0\ncollateral = { A0 = 1.0 }\n".into(),
        ),
        (
            "populations",
            "[[populations]]\nprotocol = \"p\"\ncount = 2\ncollateral_asset = \"A0\"\n\
             size_usd = { dist = \"fixed\", value = 1.0 }\n\
             health_factor = { dist = \"uniform\", min = 1.1, max = 1.2 }\n"
                .into(),
        ),
    ] {
        assert_rejected(
            &format!("{}\n{text}", cell(10.0, 1)),
            &[section, "generated"],
        );
    }
    assert_rejected(
        &format!("positions_file = \"book.csv\"\n{}", cell(10.0, 1)),
        &["positions_file", "generated"],
    );
}

/// A sweep over leverage × mean degree on the family writes, per run,
/// the share of paths with at least 5% of the holders failed (counted
/// here from the run's paths files), a 95% interval around it, and the
/// mean share failed over those paths; and the two heatmaps.
#[test]
fn a_family_sweep_writes_contagion_per_cell() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cell.toml"), cell(10.0, 40)).unwrap();
    std::fs::write(
        dir.path().join("sweep.toml"),
        r#"
[sweep]
name = "grid"
scenario = "cell.toml"
design = "grid"
paths_per_unit = 40
record_paths = 0
book = "per_run"

[[axes]]
field = "overlapping_portfolios.leverage"
values = [5.0, 12.0]

[[axes]]
field = "overlapping_portfolios.mean_degree"
values = [1.5, 3.0]
"#,
    )
    .unwrap();
    let out = cli(dir.path(), &["sweep", "sweep.toml", "--out", "o", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = dir.path().join("o");
    let runs = read(&o.join("runs.parquet"));
    let (p, lo, hi) = (
        f64s(&runs, "contagion_probability"),
        f64s(&runs, "contagion_probability_lo"),
        f64s(&runs, "contagion_probability_hi"),
    );
    let extent = f64_opts(&runs, "contagion_extent_mean");
    let mut seen_both = (false, false);
    for r in 0..4 {
        let part = o
            .join("paths")
            .join(format!("run-{r:05}"))
            .join("part-0000.parquet");
        let mine: Vec<f64> = u32s(&read(&part), "positions_liquidated")
            .into_iter()
            .map(|f| f as f64 / 100.0)
            .collect();
        assert_eq!(mine.len(), 40);
        let hits: Vec<f64> = mine.iter().copied().filter(|&x| x >= 0.05).collect();
        assert_eq!(p[r], hits.len() as f64 / 40.0, "run {r}");
        assert!(lo[r] <= p[r] && p[r] <= hi[r] && hi[r] - lo[r] < 0.35);
        match extent[r] {
            Some(e) => {
                let want = hits.iter().sum::<f64>() / hits.len() as f64;
                assert!((e - want).abs() < 1e-12);
                seen_both.0 = true;
            }
            None => {
                assert!(hits.is_empty());
                seen_both.1 = true;
            }
        }
    }
    assert!(seen_both.0, "some cell has contagions");
    for f in [
        "heatmap_contagion_probability.png",
        "heatmap_contagion_extent.png",
    ] {
        assert!(o.join("charts").join(f).exists(), "{f}");
    }
}

/// A family's paths are the same bytes on one thread and on two, and path
/// p is the same in a run of 10 paths as in one of 20 (each path builds
/// its own network from its own stream).
#[test]
fn family_runs_are_deterministic_whatever_the_threads_or_the_paths() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(&cell(12.0, 20), &Overrides::default());
    let one = run_into(&sc, dir.path(), "one", Some(1));
    let two = run_into(&sc, dir.path(), "two", Some(2));
    for f in ["paths.parquet", "liquidations.parquet"] {
        assert_eq!(
            std::fs::read(one.out.join(f)).unwrap(),
            std::fs::read(two.out.join(f)).unwrap(),
            "{f}"
        );
    }
    let ten = scenario(&cell(12.0, 10), &Overrides::default());
    let short = run_into(&ten, dir.path(), "ten", Some(2));
    let a = u32s(
        &read(&one.out.join("paths.parquet")),
        "positions_liquidated",
    );
    let b = u32s(
        &read(&short.out.join("paths.parquet")),
        "positions_liquidated",
    );
    assert_eq!(a[..10], b[..]);
    assert!(a.iter().any(|&x| x != a[0]), "paths differ: {a:?}");
    // Each path of the run is its own scenario's path, as a world built on
    // `for_path` alone runs it.
    for (path, &got) in (0u32..).zip(&a) {
        let own = sc.for_path(path).unwrap();
        let rec = World::new(&own).run_path(path).unwrap();
        assert_eq!(got, rec.summary.positions_liquidated, "path {path}");
    }
}

/// A family draws each path's book afresh, so a cut of path 0's book and a
/// sweep holding the base book fixed would not mean what they say: both
/// are refused, naming what to do, and the run writes nothing.
#[test]
fn cuts_and_a_fixed_book_are_refused_for_a_family() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cell.toml"), cell(10.0, 4)).unwrap();
    let out = cli(
        dir.path(),
        &["run", "cell.toml", "--cut", "funds:A00", "--out", "o", "-q"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--cut"), "{err}");
    assert!(!dir.path().join("o").exists());
    std::fs::write(
        dir.path().join("sweep.toml"),
        "[sweep]\nname = \"g\"\nscenario = \"cell.toml\"\n\n[[axes]]\nfield = \"overlapping_portfolios.leverage\"\nvalues = [5.0, 12.0]\n",
    )
    .unwrap();
    let out = cli(dir.path(), &["sweep", "sweep.toml", "--out", "s", "-q"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("per_run") && err.contains("axes[0].field"),
        "{err}"
    );
}
