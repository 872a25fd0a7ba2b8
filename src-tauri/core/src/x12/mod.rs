//! ASC X12 005010: reading 837 claim files and writing their answers.
//!
//! The reader is our own streaming one rather than `x12-types` (see
//! `BENCHMARKS.md` for the measurement): intake needs every segment's
//! position and each element's fault for the 999, and bounded memory on any
//! file, which a parser that builds the whole typed tree before answering
//! cannot give.

pub mod ack;
pub mod model;
pub mod parse;
pub mod reader;
pub mod remit;
pub mod rules;
pub mod write837;
