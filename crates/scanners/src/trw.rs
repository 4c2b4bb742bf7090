//! A sequential hypothesis test over one source's connection outcomes, in
//! the spirit of Threshold Random Walk (J. Jung, V. Paxson, A. Berger,
//! H. Balakrishnan, "Fast Portscan Detection Using Sequential Hypothesis
//! Testing", IEEE S&P 2004).
//!
//! A benign host's first connections to other hosts mostly succeed; a
//! scanner's mostly fail, because it probes addresses and ports that offer
//! nothing. Each outcome multiplies a likelihood ratio
//! Λ = P(outcomes | scanner) / P(outcomes | benign) by
//!
//! * `θ1 / θ0` for a success (below 1: evidence of a benign host),
//! * `(1 − θ1) / (1 − θ0)` for a failure (above 1: evidence of a scanner),
//!
//! and the walk stops when Λ ≥ η1 = β/α (scanner) or Λ ≤ η0 = (1−β)/(1−α)
//! (benign). With the paper's values (θ0 = 0.8, θ1 = 0.2, α = 0.01,
//! β = 0.99), a failure multiplies Λ by 4 and a success by ¼, η1 = 99 and
//! η0 ≈ 0.0101: four failures in a row call a scanner (4⁴ = 256 ≥ 99 while
//! 4³ = 64 is not) and four successes in a row a benign host.
//!
//! The walk is kept in logarithms, so a long mixed history neither overflows
//! nor underflows. The verdict sticks once reached; [`Trw::reset`] starts
//! over. What counts as an outcome is the caller's choice: the paper counts
//! only a source's first connection to each distinct address.

/// Where the walk stands after an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The likelihood ratio reached η1: the source is a scanner.
    Scanner,
    /// The likelihood ratio fell to η0: the source is benign.
    Benign,
    /// Not enough evidence either way yet.
    Pending,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Scanner => "scanner",
            Verdict::Benign => "benign",
            Verdict::Pending => "pending",
        }
    }
}

/// Why [`Trw::new`] refused its parameters.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrwError {
    /// The success probabilities must satisfy 0 < θ1 < θ0 < 1: a scanner
    /// succeeds less often than a benign host.
    #[error(
        "success probabilities must satisfy 0 < theta1 < theta0 < 1, got theta0 {theta0}, theta1 {theta1}"
    )]
    SuccessProbabilities { theta0: f64, theta1: f64 },
    /// The error targets must satisfy 0 < α < β < 1 (α: false positives
    /// allowed, β: detection probability wanted).
    #[error("error targets must satisfy 0 < alpha < beta < 1, got alpha {alpha}, beta {beta}")]
    ErrorTargets { alpha: f64, beta: f64 },
}

/// One source's Threshold Random Walk: its parameters and where it stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trw {
    /// ln(θ1/θ0), added per success.
    step_success: f64,
    /// ln((1−θ1)/(1−θ0)), added per failure.
    step_failure: f64,
    /// ln η1.
    upper: f64,
    /// ln η0.
    lower: f64,
    /// ln Λ so far.
    log_ratio: f64,
    verdict: Verdict,
}

impl Default for Trw {
    /// The paper's parameters: θ0 = 0.8, θ1 = 0.2, α = 0.01, β = 0.99.
    fn default() -> Self {
        Trw::from_valid(0.8, 0.2, 0.01, 0.99)
    }
}

impl Trw {
    /// A walk at Λ = 1.
    ///
    /// * `theta0`: probability that a benign host's connection succeeds.
    /// * `theta1`: probability that a scanner's connection succeeds.
    /// * `alpha`: the false-positive rate aimed for (benign called scanner).
    /// * `beta`: the detection rate aimed for (scanner called scanner).
    pub fn new(theta0: f64, theta1: f64, alpha: f64, beta: f64) -> Result<Self, TrwError> {
        // Written so that NaN fails every comparison and is refused.
        if !(0.0 < theta1 && theta1 < theta0 && theta0 < 1.0) {
            return Err(TrwError::SuccessProbabilities { theta0, theta1 });
        }
        if !(0.0 < alpha && alpha < beta && beta < 1.0) {
            return Err(TrwError::ErrorTargets { alpha, beta });
        }
        Ok(Trw::from_valid(theta0, theta1, alpha, beta))
    }

    fn from_valid(theta0: f64, theta1: f64, alpha: f64, beta: f64) -> Self {
        Trw {
            step_success: (theta1 / theta0).ln(),
            step_failure: ((1.0 - theta1) / (1.0 - theta0)).ln(),
            upper: (beta / alpha).ln(),
            lower: ((1.0 - beta) / (1.0 - alpha)).ln(),
            log_ratio: 0.0,
            verdict: Verdict::Pending,
        }
    }

    /// Takes one connection outcome and returns the verdict so far.
    pub fn observe(&mut self, success: bool) -> Verdict {
        if self.verdict != Verdict::Pending {
            return self.verdict;
        }
        self.log_ratio += if success {
            self.step_success
        } else {
            self.step_failure
        };
        if self.log_ratio >= self.upper {
            self.verdict = Verdict::Scanner;
        } else if self.log_ratio <= self.lower {
            self.verdict = Verdict::Benign;
        }
        self.verdict
    }

    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The likelihood ratio Λ so far.
    pub fn likelihood_ratio(&self) -> f64 {
        self.log_ratio.exp()
    }

    /// The upper threshold η1 = β/α.
    pub fn eta1(&self) -> f64 {
        self.upper.exp()
    }

    /// The lower threshold η0 = (1−β)/(1−α).
    pub fn eta0(&self) -> f64 {
        self.lower.exp()
    }

    /// The verdict on `ok` successes and `failed` failures taken together:
    /// ln Λ = ok·ln(θ1/θ0) + failed·ln((1−θ1)/(1−θ0)) against ln η1 and
    /// ln η0. Since Λ is a product of per-outcome ratios it depends only on
    /// the counts, so counts kept per day and summed give the same answer
    /// wherever they were cut. (Unlike [`Self::observe`], this is the
    /// verdict at the end of the sequence, not the first threshold crossed
    /// on the way: the order of the outcomes is not kept.)
    pub fn judge(&self, ok: u64, failed: u64) -> Verdict {
        let log_ratio = ok as f64 * self.step_success + failed as f64 * self.step_failure;
        if log_ratio >= self.upper {
            Verdict::Scanner
        } else if log_ratio <= self.lower {
            Verdict::Benign
        } else {
            Verdict::Pending
        }
    }

    /// How many failures in a row reach η1: the fewest attempts after which
    /// a source whose first contacts all fail is called a scanner.
    pub fn failures_to_detect(&self) -> u64 {
        // step_failure > 0 and upper > 0 for valid parameters.
        (self.upper / self.step_failure).ceil().max(1.0) as u64
    }

    /// Back to Λ = 1 and [`Verdict::Pending`], keeping the parameters.
    pub fn reset(&mut self) {
        self.log_ratio = 0.0;
        self.verdict = Verdict::Pending;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn paper_thresholds() {
        let t = Trw::default();
        assert!(close(t.eta1(), 99.0));
        assert!(close(t.eta0(), 0.01 / 0.99));
        assert_eq!(Trw::new(0.8, 0.2, 0.01, 0.99), Ok(t));
    }

    #[test]
    fn four_failures_make_a_scanner() {
        let mut t = Trw::default();
        for expected in [4.0, 16.0, 64.0] {
            assert_eq!(t.observe(false), Verdict::Pending);
            assert!(close(t.likelihood_ratio(), expected));
        }
        assert_eq!(t.observe(false), Verdict::Scanner);
        assert!(close(t.likelihood_ratio(), 256.0));
        // Sticky: a later success changes nothing.
        assert_eq!(t.observe(true), Verdict::Scanner);
    }

    #[test]
    fn four_successes_make_a_benign_host() {
        let mut t = Trw::default();
        for _ in 0..3 {
            assert_eq!(t.observe(true), Verdict::Pending);
        }
        assert_eq!(t.observe(true), Verdict::Benign);
        t.reset();
        assert_eq!((t.verdict(), t.likelihood_ratio()), (Verdict::Pending, 1.0));
    }

    #[test]
    fn successes_cancel_failures() {
        // Each success undoes one failure, so alternating never decides.
        let mut t = Trw::default();
        for i in 0..1000 {
            assert_eq!(t.observe(i % 2 == 0), Verdict::Pending);
        }
        // Three failures, a success, two failures: Λ goes 4, 16, 64, 16,
        // 64, 256, so the sixth outcome calls the scanner.
        let mut t = Trw::default();
        let outcomes = [false, false, false, true, false, false];
        let verdicts: Vec<Verdict> = outcomes.iter().map(|&s| t.observe(s)).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Scanner));
        assert!(verdicts[..5].iter().all(|v| *v == Verdict::Pending));
    }

    #[test]
    fn stricter_alpha_needs_more_failures() {
        // η1 = 0.99 / 0.0001 = 9900: 4^6 = 4096 < 9900 <= 4^7.
        let mut t = Trw::new(0.8, 0.2, 0.0001, 0.99).unwrap_or_default();
        let n = (1..=20).find(|_| t.observe(false) == Verdict::Scanner);
        assert_eq!(n, Some(7));
    }

    #[test]
    fn judging_counts_agrees_with_walking_them() {
        let t = Trw::default();
        assert_eq!(t.failures_to_detect(), 4);
        assert_eq!(
            Trw::new(0.8, 0.2, 0.0001, 0.99)
                .unwrap_or_default()
                .failures_to_detect(),
            7
        );
        // For every count pair, walking the successes first and then the
        // failures without stopping ends where `judge` says.
        for ok in 0..12u64 {
            for failed in 0..12u64 {
                let mut log_ratio = 0.0f64;
                for i in 0..ok + failed {
                    log_ratio += if i < ok {
                        t.step_success
                    } else {
                        t.step_failure
                    };
                }
                let want = if log_ratio >= t.upper {
                    Verdict::Scanner
                } else if log_ratio <= t.lower {
                    Verdict::Benign
                } else {
                    Verdict::Pending
                };
                assert_eq!(t.judge(ok, failed), want, "{ok} ok, {failed} failed");
            }
        }
        // With the paper's values each success cancels a failure, so the
        // verdict is that of the difference: 4 more failures, scanner; 4
        // more successes, benign.
        assert_eq!(t.judge(0, 0), Verdict::Pending);
        assert_eq!(t.judge(0, 4), Verdict::Scanner);
        assert_eq!(t.judge(0, 3), Verdict::Pending);
        assert_eq!(t.judge(10, 14), Verdict::Scanner);
        assert_eq!(t.judge(10, 13), Verdict::Pending);
        assert_eq!(t.judge(4, 0), Verdict::Benign);
        assert_eq!(t.judge(5, 1), Verdict::Benign);
        assert_eq!(t.judge(5, 2), Verdict::Pending);
    }

    #[test]
    fn refuses_bad_parameters() {
        assert!(matches!(
            Trw::new(0.2, 0.8, 0.01, 0.99),
            Err(TrwError::SuccessProbabilities { .. })
        ));
        assert!(matches!(
            Trw::new(1.0, 0.2, 0.01, 0.99),
            Err(TrwError::SuccessProbabilities { .. })
        ));
        assert!(matches!(
            Trw::new(0.8, 0.2, 0.99, 0.01),
            Err(TrwError::ErrorTargets { .. })
        ));
        assert!(matches!(
            Trw::new(0.8, 0.2, f64::NAN, 0.99),
            Err(TrwError::ErrorTargets { .. })
        ));
    }
}
