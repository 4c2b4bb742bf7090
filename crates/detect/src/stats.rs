//! The count-aware score and the small running estimators baselines use.

/// Signed square root of the Poisson deviance of `observed` against
/// `expected`, divided by the square root of the dispersion (variance /
/// mean).
///
/// For large counts this is `(x - m) / sqrt(D m)`, the familiar z-score; for
/// counts near zero it stays close to the normal quantile of the exact
/// Poisson tail (one source where 0.01 are expected scores about 2.7, five
/// score 7.2), where a plain z-score would be infinite. `expected` must be
/// positive (callers floor it).
pub fn deviance_score(observed: f64, expected: f64, dispersion: f64) -> f64 {
    let x = observed.max(0.0);
    let m = expected.max(f64::MIN_POSITIVE);
    let dev = if x > 0.0 {
        2.0 * (x * (x / m).ln() - (x - m))
    } else {
        2.0 * m
    };
    let z = dev.max(0.0).sqrt() / dispersion.max(f64::MIN_POSITIVE).sqrt();
    if x >= m { z } else { -z }
}

/// The per-step weight of an exponentially weighted mean with the given
/// half-life in steps.
pub fn ewma_rate(half_life_steps: f64) -> f64 {
    1.0 - 0.5f64.powf(1.0 / half_life_steps.max(1.0))
}

/// The weight a running estimate gives its `n`-th observation (counting
/// from zero): a plain mean while young, an exponentially weighted one once
/// `1/n` falls below `rate`. Young estimates thus are not dominated by their
/// starting value.
pub fn step_weight(n: u64, rate: f64) -> f64 {
    (1.0 / (n as f64 + 1.0)).max(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_matches_gaussian_for_large_counts() {
        let z = deviance_score(1100.0, 1000.0, 1.0);
        assert!((z - 3.1).abs() < 0.1, "{z}");
        // Dispersion 4 halves it.
        let z4 = deviance_score(1100.0, 1000.0, 4.0);
        assert!((z4 - z / 2.0).abs() < 1e-9);
    }

    #[test]
    fn score_is_finite_and_sensible_near_zero() {
        let one = deviance_score(1.0, 0.01, 1.0);
        assert!((2.5..3.0).contains(&one), "{one}");
        let five = deviance_score(5.0, 0.01, 1.0);
        assert!((7.0..7.5).contains(&five), "{five}");
        let burst = deviance_score(300.0, 0.003, 1.0);
        assert!(burst.is_finite() && burst > 50.0, "{burst}");
        assert!(deviance_score(0.0, 2.0, 1.0) < 0.0);
        assert_eq!(deviance_score(3.0, 3.0, 1.0), 0.0);
    }

    #[test]
    fn score_rises_with_the_count() {
        let mut last = f64::NEG_INFINITY;
        for x in 0..200 {
            let z = deviance_score(f64::from(x), 7.5, 1.3);
            assert!(z > last);
            last = z;
        }
    }

    #[test]
    fn weights() {
        assert!((ewma_rate(1.0) - 0.5).abs() < 1e-12);
        let r = ewma_rate(100.0);
        assert!(((1.0 - r).powi(100) - 0.5).abs() < 1e-9);
        assert_eq!(step_weight(0, r), 1.0);
        assert_eq!(step_weight(3, r), 0.25);
        assert_eq!(step_weight(1_000_000, r), r);
    }
}
