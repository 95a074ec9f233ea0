//! What every poq daemon shares with the contracts.
//!
//! - [`TaskId`] and [`Score`]: the on-chain task id and the fixed-point quality score (basis points);
//! - [`Commitment`]: the commit–reveal hash, byte for byte the one `TaskManager` checks, binding the
//!   chain, the contract, the task and the sender.

mod commitment;
mod types;

pub use commitment::{Commitment, CommitmentDomain, output_payload_hash, scores_payload_hash};
pub use types::{Score, ScoreError, TaskId};
