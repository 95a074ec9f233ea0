//! Llama-family generation for poq operators.
//!
//! The operator's model runner: quantized GGUF and safetensors Llama / Mistral / Mixtral on candle,
//! tokenizers rebuilt from GGUF metadata, chat templates and seeded sampling, plus an OpenAI-compatible
//! HTTP backend. It lands with the inference issue; this crate depends on no other poq crate.
