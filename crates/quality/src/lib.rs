//! Quality evaluators for poq validators.
//!
//! A validator turns each (prompt, response) pair into a quality score in `[0, 1]` that every honest
//! validator reproduces within a documented tolerance. The evaluators (sentence-transformers style
//! bi-encoder, BERT/DeBERTa cross-encoder, LLM log-likelihood judge and a calibrated composite with
//! degeneracy checks) land with the quality-evaluators issue; this crate depends on no other poq crate.
