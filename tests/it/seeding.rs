//! Seeding (docs/model.md §6, §10): the generators are seeded through
//! SplitMix64, and every seed, path, book and perp book gets a stream of
//! its own. These tests kill the mutants cargo-mutants found surviving in
//! src/montecarlo/seed.rs (docs/testing.md).

use contagion::Overrides;
use contagion::montecarlo::seed::{book_rng, path_rng, perp_rng, splitmix64};
use rand::Rng;

/// SplitMix64's output against the reference implementation
/// (Vigna, xoshiro.di.unimi.it/splitmix64.c): from the state
/// 1477776061723855037 it yields 1985237415132408290, 2979275885539914483
/// and 13511426838097143398. `splitmix64(z)` is one step from state z
/// (add the golden gamma, then mix), so the k-th output is
/// `splitmix64(s + (k − 1)·γ)`.
#[test]
fn splitmix64_matches_the_reference_outputs() {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    let s: u64 = 1_477_776_061_723_855_037;
    let want = [
        1_985_237_415_132_408_290u64,
        2_979_275_885_539_914_483,
        13_511_426_838_097_143_398,
    ];
    for (k, w) in want.iter().enumerate() {
        let state = s.wrapping_add(GAMMA.wrapping_mul(k as u64));
        assert_eq!(splitmix64(state), *w, "output {k}");
    }
}

/// Different master seeds give different streams for paths, the book and
/// the perp book, and the streams are not degenerate (a generator left at
/// its all-zero default state returns 0 forever).
#[test]
fn every_seed_and_stream_draws_its_own_numbers() {
    let mut firsts = Vec::new();
    for seed in 0..32u64 {
        for mut rng in [
            path_rng(seed, 0),
            path_rng(seed, 1),
            book_rng(seed),
            perp_rng(seed),
        ] {
            let (a, b) = (rng.next_u64(), rng.next_u64());
            assert!(a != 0 || b != 0, "seed {seed}: a degenerate stream");
            firsts.push(a);
        }
    }
    let n = firsts.len();
    firsts.sort_unstable();
    firsts.dedup();
    assert_eq!(firsts.len(), n, "two streams start with the same number");
}

/// A generated book and a generated perp book come out different under two
/// seeds, and each holds positions of different sizes (lognormal draws).
#[test]
fn generated_books_follow_the_seed() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/perp-adl.toml"),
    )
    .unwrap();
    let load = |seed: u64| {
        contagion::Scenario::from_toml(
            &text,
            "perp-adl.toml",
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"),
            &Overrides {
                paths: Some(1),
                seed: Some(seed),
            },
        )
        .unwrap()
    };
    let (a, b) = (load(1), load(2));
    assert!(a.book.len() > 1 && a.perp_book.accounts() > 1);
    assert_ne!(
        a.book.debt, b.book.debt,
        "the lending book follows the seed"
    );
    assert_ne!(
        a.perp_book.margin, b.perp_book.margin,
        "so does the perp book"
    );
    let distinct = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s.dedup();
        s.len()
    };
    assert!(distinct(&a.book.debt) > a.book.len() / 2);
    assert!(distinct(&a.perp_book.margin) > a.perp_book.margin.len() / 2);
}
