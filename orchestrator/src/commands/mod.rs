//! One module per command: each runs the stages it needs and renders its own results.

pub mod audit;
pub mod ci;
pub mod dist;
pub mod doctor;
pub mod init;
pub mod keygen;
pub mod merge;
pub mod plan;
pub mod rebuild_check;
pub mod size;
pub mod verify;
