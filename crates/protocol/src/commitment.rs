use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;

use crate::{Score, TaskId};

/// What a commitment is bound to besides its payload: the chain and the `TaskManager` deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitmentDomain {
    /// The chain id (`block.chainid`).
    pub chain_id: u64,
    /// The `TaskManager` address.
    pub task_manager: Address,
}

/// A commit–reveal commitment:
/// `keccak256(abi.encode(chainid, taskManager, taskId, sender, payloadHash, salt))`, as
/// `Commitments.commitment` in the contracts computes it. A commitment copied from another node,
/// task, contract or chain does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment(pub B256);

impl Commitment {
    /// Computes the commitment of `sender` to `payload_hash` for `task`.
    pub fn new(
        domain: CommitmentDomain,
        task: TaskId,
        sender: Address,
        payload_hash: B256,
        salt: B256,
    ) -> Self {
        let encoded = (
            U256::from(domain.chain_id),
            domain.task_manager,
            task.0,
            sender,
            payload_hash,
            salt,
        )
            .abi_encode();
        Self(keccak256(encoded))
    }
}

/// The payload hash of an operator's output: `keccak256(output)`.
pub fn output_payload_hash(output: &[u8]) -> B256 {
    keccak256(output)
}

/// The payload hash of a validator's scores: `keccak256(abi.encode(uint16[] scores))`.
pub fn scores_payload_hash(scores: &[Score]) -> B256 {
    let bps: Vec<u16> = scores.iter().map(|s| s.bps()).collect();
    keccak256(bps.abi_encode())
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{address, b256};

    use super::*;

    // Reference values computed with `cast keccak` and `cast abi-encode`, independently of this code.
    const DOMAIN: CommitmentDomain = CommitmentDomain {
        chain_id: 31337,
        task_manager: address!("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
    };
    const OPERATOR: Address = address!("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");

    #[test]
    fn scores_hash_matches_solidity_abi_encoding() {
        let scores = [Score::from_bps(8000).unwrap()];
        assert_eq!(
            scores_payload_hash(&scores),
            b256!("0x37b0f522bbb15a036799ab0debdaf28cc60df80757d0018004218418d03e0249")
        );
    }

    #[test]
    fn commitment_matches_solidity_abi_encoding() {
        let payload = output_payload_hash(b"A way to pay for model output by its scored quality.");
        let salt = keccak256(b"salt");
        let c = Commitment::new(DOMAIN, TaskId::from(1), OPERATOR, payload, salt);
        assert_eq!(
            c.0,
            b256!("0xf14d9fd23235e3b6c8a72ef198cb5062018774541b89f2322f22c8adb2bf0228")
        );
    }

    #[test]
    fn commitment_is_bound_to_chain_contract_task_and_sender() {
        let payload = output_payload_hash(b"output");
        let salt = keccak256(b"salt");
        let base = Commitment::new(DOMAIN, TaskId::from(1), OPERATOR, payload, salt);
        let other_chain = CommitmentDomain {
            chain_id: 1,
            ..DOMAIN
        };
        let other_contract = CommitmentDomain {
            task_manager: Address::ZERO,
            ..DOMAIN
        };
        assert_ne!(
            base,
            Commitment::new(other_chain, TaskId::from(1), OPERATOR, payload, salt)
        );
        assert_ne!(
            base,
            Commitment::new(other_contract, TaskId::from(1), OPERATOR, payload, salt)
        );
        assert_ne!(
            base,
            Commitment::new(DOMAIN, TaskId::from(2), OPERATOR, payload, salt)
        );
        assert_ne!(
            base,
            Commitment::new(DOMAIN, TaskId::from(1), Address::ZERO, payload, salt)
        );
    }
}
