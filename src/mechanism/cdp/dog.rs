//! How much of an unsafe vault goes to auction (makerdao/dss
//! `src/dog.sol`, `bark`). Amounts in stablecoin unless named units.

/// What `bark` takes from a vault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bite {
    /// Normalised debt taken (`dart`).
    pub dart: f64,
    /// Collateral units taken (`dink`).
    pub dink: f64,
    /// Debt confiscated, `dart·rate` (`due`): what the surplus buffer owes
    /// until the auction pays it.
    pub due: f64,
    /// What the auction must raise, `due·chop` (`tab`).
    pub tab: f64,
}

/// The vault's part an auction takes, or None when dog.sol refuses
/// (`liquidation-limit-hit`, `dusty-auction-from-partial-liquidation`,
/// `null-auction`):
/// - `room = min(Hole − Dirt, hole − dirt)`; both must be positive and
///   `room ≥ dust`;
/// - `dart = min(art, room/rate/chop)`;
/// - if `art > dart`: the whole vault goes when the rest would be dusty
///   (`(art − dart)·rate < dust`); otherwise the part must not be dusty
///   (`dart·rate ≥ dust`);
/// - `dink = ink·dart/art > 0`.
#[allow(clippy::too_many_arguments)]
pub fn bark(
    ink: f64,
    art: f64,
    rate: f64,
    chop: f64,
    dust: f64,
    global_room: f64,
    type_room: f64,
) -> Option<Bite> {
    if global_room <= 0.0 || type_room <= 0.0 {
        return None;
    }
    let room = global_room.min(type_room);
    if room < dust {
        return None;
    }
    let mut dart = art.min(room / rate / chop);
    if art > dart {
        if (art - dart) * rate < dust {
            dart = art;
        } else if dart * rate < dust {
            return None;
        }
    }
    let dink = ink * dart / art;
    if dink <= 0.0 {
        return None;
    }
    let due = dart * rate;
    Some(Bite {
        dart,
        dink,
        due,
        tab: due * chop,
    })
}

/// dog.sol's test: a vault is unsafe when `ink·spot < art·rate`, with
/// `spot = price / liquidation ratio`.
pub fn unsafe_vault(ink: f64, art: f64, rate: f64, price: f64, mat: f64) -> bool {
    ink * (price / mat) < art * rate
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn with_room_the_whole_vault_goes_with_its_penalty() {
        // 10 ETH, 1,000 normalised debt at rate 1.1: due 1,100, tab 1,243.
        let b = bark(10.0, 1000.0, 1.1, 1.13, 100.0, INF, INF).unwrap();
        assert_eq!((b.dart, b.dink), (1000.0, 10.0));
        assert!((b.due - 1100.0).abs() < 1e-9 && (b.tab - 1243.0).abs() < 1e-9);
    }

    #[test]
    fn a_limit_takes_part_unless_the_rest_or_the_part_is_dust() {
        // Room 565 at rate 1 and chop 1.13: dart 500 of 1,000; half the ink.
        let b = bark(10.0, 1000.0, 1.0, 1.13, 100.0, 565.0, INF).unwrap();
        assert!((b.dart - 500.0).abs() < 1e-9 && (b.dink - 5.0).abs() < 1e-9);
        assert!((b.tab - 565.0).abs() < 1e-9);
        // The smaller of the two rooms binds.
        let b = bark(10.0, 1000.0, 1.0, 1.13, 100.0, 1e6, 113.0 * 4.0).unwrap();
        assert!((b.dart - 400.0).abs() < 1e-9);
        // A rest of 50 < dust 100: the whole vault goes, over the limit.
        let b = bark(10.0, 1000.0, 1.0, 1.13, 100.0, 1073.5, INF).unwrap();
        assert_eq!(b.dart, 1000.0);
        // Room 100 buys a part of 88.5 < dust, with a rest of 911.5:
        // refused.
        assert_eq!(bark(10.0, 1000.0, 1.0, 1.13, 100.0, INF, 100.0), None);
        // Room below dust, or none left: refused.
        assert_eq!(bark(10.0, 1000.0, 1.0, 1.0, 100.0, 99.0, INF), None);
        assert_eq!(bark(10.0, 1000.0, 1.0, 1.0, 0.0, 0.0, INF), None);
        assert_eq!(bark(10.0, 1000.0, 1.0, 1.0, 0.0, INF, -1.0), None);
        // No collateral to auction: refused.
        assert_eq!(bark(0.0, 1000.0, 1.0, 1.0, 0.0, INF, INF), None);
    }

    /// With a rate index of 1.25 (debt = 1.25 × normalised debt) and the
    /// limits and dust met exactly.
    #[test]
    fn the_rate_index_scales_room_rest_and_part() {
        // Room 550 at chop 1.1 buys 550/1.1 = 500 of debt: 400 normalised.
        let b = bark(10.0, 1000.0, 1.25, 1.1, 100.0, 550.0, INF).unwrap();
        assert!((b.dart - 400.0).abs() < 1e-9 && (b.dink - 4.0).abs() < 1e-12);
        assert!((b.due - 500.0).abs() < 1e-9 && (b.tab - 550.0).abs() < 1e-9);
        // A rest of 90 owes 112.5 ≥ dust: a part, not the whole vault.
        let b = bark(10.0, 1000.0, 1.25, 1.0, 100.0, 1137.5, INF).unwrap();
        assert!((b.dart - 910.0).abs() < 1e-9);
        // A rest owing exactly dust is not dusty.
        let b = bark(10.0, 1000.0, 1.25, 1.0, 100.0, 1150.0, INF).unwrap();
        assert_eq!(b.dart, 920.0);
        // Room exactly dust buys a part owing exactly dust: allowed.
        let b = bark(10.0, 1000.0, 1.25, 1.0, 100.0, 100.0, INF).unwrap();
        assert_eq!(b.dart, 80.0);
        // A part of 90 owes 112.5 ≥ dust: allowed.
        let b = bark(10.0, 1000.0, 1.25, 1.0, 100.0, 112.5, INF).unwrap();
        assert!((b.dart - 90.0).abs() < 1e-9);
        // Room below dust is refused even where the rest would be dusty
        // (which would otherwise send the whole vault).
        assert_eq!(bark(10.0, 150.0, 1.0, 1.0, 100.0, 99.0, INF), None);
    }

    #[test]
    fn unsafe_means_collateral_at_spot_below_the_debt() {
        // 1 ETH at 150 with mat 1.5: spot 100; debt 100 is safe, 100.01 not.
        assert!(!unsafe_vault(1.0, 100.0, 1.0, 150.0, 1.5));
        assert!(unsafe_vault(1.0, 100.01, 1.0, 150.0, 1.5));
        assert!(unsafe_vault(1.0, 91.0, 1.1, 150.0, 1.5));
    }
}
