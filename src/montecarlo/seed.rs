//! Seeding (docs/model.md §6): path p draws from a generator seeded by (seed, p)
//! alone, so path p is the same whatever the thread count or number of paths.
//! The book draws from its own stream of the same seed.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator of a path: Xoshiro256++ (fast, 256-bit state, and its output
/// is fixed by the `rand_xoshiro` crate, unlike `rand`'s `SmallRng`).
pub type PathRng = Xoshiro256PlusPlus;

/// SplitMix64's finaliser: a bijection on u64 with full avalanche.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const PATH_STREAM: u64 = 0x7061_7468; // "path"
const BOOK_STREAM: u64 = 0x626f_6f6b; // "book"
const PERP_STREAM: u64 = 0x7065_7270; // "perp"
const VAULT_STREAM: u64 = 0x7661_756c; // "vaul"
const KEEPER_STREAM: u64 = 0x6b65_6570; // "keep"
const OWNER_STREAM: u64 = 0x6f77_6e72; // "ownr"
const GOVERNANCE_STREAM: u64 = 0x766f_7465; // "vote"
const DEFAULT_STREAM: u64 = 0x6466_6c74; // "dflt"
const FAMILY_STREAM: u64 = 0x666d_6c79; // "fmly"

fn stream(seed: u64, domain: u64, index: u64) -> PathRng {
    let s = splitmix64(splitmix64(seed ^ splitmix64(domain)).wrapping_add(index));
    PathRng::seed_from_u64(s)
}

/// The generator of path `path` under master seed `seed`.
pub fn path_rng(seed: u64, path: u32) -> PathRng {
    stream(seed, PATH_STREAM, path as u64)
}

/// The generator that draws the initial book.
pub fn book_rng(seed: u64) -> PathRng {
    stream(seed, BOOK_STREAM, 0)
}

/// The generator that draws the perpetual-futures accounts (a stream of
/// its own, so adding perps leaves the lending book unchanged).
pub fn perp_rng(seed: u64) -> PathRng {
    stream(seed, PERP_STREAM, 0)
}

/// The generator that draws the CDPs' vault populations (a stream of its
/// own, so adding a CDP leaves the other books unchanged).
pub fn vault_rng(seed: u64) -> PathRng {
    stream(seed, VAULT_STREAM, 0)
}

/// The generator of path `path`'s keepers (whose transactions land): a
/// stream apart from the path's prices, so the same paths run under
/// either auction design, whatever the keepers draw.
pub fn keeper_rng(seed: u64, path: u32) -> PathRng {
    stream(seed, KEEPER_STREAM, path as u64)
}

/// The generator of the CDPs' vault owners: index 0 draws which vaults'
/// owners act (at validation), index 1 + path whose transactions land on
/// that path; a stream apart from the prices, the books and the keepers.
pub fn owner_rng(seed: u64, index: u64) -> PathRng {
    stream(seed, OWNER_STREAM, index)
}

/// The generator of path `path`'s governance votes: a stream apart from
/// the prices, so the same paths run under any governance.
pub fn governance_rng(seed: u64, path: u32) -> PathRng {
    stream(seed, GOVERNANCE_STREAM, path as u64)
}

/// The generator of path `path`'s scripted defaults drawn at random: a
/// stream apart from the prices, so adding one moves no price.
pub fn default_rng(seed: u64, path: u32) -> PathRng {
    stream(seed, DEFAULT_STREAM, path as u64)
}

/// The generator of path `path`'s book in a scenario family whose book is
/// part of the path (`scenario::family`).
pub fn family_rng(seed: u64, path: u32) -> PathRng {
    stream(seed, FAMILY_STREAM, path as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_differ_by_path_and_seed_and_repeat_exactly() {
        let draw = |mut r: PathRng| -> [u64; 4] { std::array::from_fn(|_| r.random()) };
        assert_eq!(draw(path_rng(1, 7)), draw(path_rng(1, 7)));
        assert_ne!(draw(path_rng(1, 7)), draw(path_rng(1, 8)));
        assert_ne!(draw(path_rng(1, 7)), draw(path_rng(2, 7)));
        assert_ne!(draw(path_rng(1, 0)), draw(book_rng(1)));
        assert_ne!(draw(path_rng(1, 3)), draw(keeper_rng(1, 3)));
        assert_ne!(draw(keeper_rng(1, 3)), draw(keeper_rng(1, 4)));
        assert_ne!(draw(vault_rng(1)), draw(book_rng(1)));
    }
}
