use alloy_primitives::U256;

/// A task's id in `TaskManager` (ids start at 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub U256);

impl From<u64> for TaskId {
    fn from(id: u64) -> Self {
        Self(U256::from(id))
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A quality score as the chain stores it: basis points of `[0, 1]` (`0..=10_000`).
///
/// Validators agree on integers, not floats: every honest validator maps its evaluator's float to
/// the same integer as long as their floats differ by less than half a basis point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u16);

/// Why a value is not a [`Score`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// The float is NaN or outside `[0, 1]`.
    #[error("quality score {0} is not a number in [0, 1]")]
    OutOfRange(f64),
    /// The integer is above [`Score::MAX_BPS`].
    #[error("quality score {0} bps exceeds {max} bps", max = Score::MAX_BPS)]
    TooLarge(u16),
}

impl Score {
    /// `1.0` in basis points, the contract's `BPS`.
    pub const MAX_BPS: u16 = 10_000;

    /// Encodes a float in `[0, 1]`, rounding half away from zero to the nearest basis point.
    pub fn from_unit(value: f64) -> Result<Self, ScoreError> {
        if !(0.0..=1.0).contains(&value) {
            return Err(ScoreError::OutOfRange(value));
        }
        Ok(Self((value * f64::from(Self::MAX_BPS)).round() as u16))
    }

    /// Wraps basis points, at most [`Score::MAX_BPS`].
    pub const fn from_bps(bps: u16) -> Result<Self, ScoreError> {
        if bps > Self::MAX_BPS {
            return Err(ScoreError::TooLarge(bps));
        }
        Ok(Self(bps))
    }

    /// The score in basis points.
    pub const fn bps(self) -> u16 {
        self.0
    }

    /// The score as a float in `[0, 1]`.
    pub fn as_unit(self) -> f64 {
        f64::from(self.0) / f64::from(Self::MAX_BPS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_floats_round_to_the_nearest_basis_point() {
        assert_eq!(Score::from_unit(0.0).unwrap().bps(), 0);
        assert_eq!(Score::from_unit(1.0).unwrap().bps(), 10_000);
        assert_eq!(Score::from_unit(0.812_34).unwrap().bps(), 8123);
        assert_eq!(Score::from_unit(0.812_35).unwrap().bps(), 8124);
        assert!((Score::from_bps(2500).unwrap().as_unit() - 0.25).abs() < f64::EPSILON);
    }

    #[test]
    fn out_of_range_scores_are_rejected() {
        assert_eq!(Score::from_unit(1.01), Err(ScoreError::OutOfRange(1.01)));
        assert_eq!(Score::from_unit(-0.1), Err(ScoreError::OutOfRange(-0.1)));
        assert!(matches!(
            Score::from_unit(f64::NAN),
            Err(ScoreError::OutOfRange(_))
        ));
        assert_eq!(Score::from_bps(10_001), Err(ScoreError::TooLarge(10_001)));
    }
}
