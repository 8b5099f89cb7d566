//! The integration tests: one test binary, one module per subject, and one harness that
//! every module shares (running the real xtask binary, fixture workspaces, reading archives
//! back). Run one module with `cargo test -p xtask --test it -- verify::`.
//!
//! All tests run as threads of this one process, in parallel: no test changes the
//! process's working directory or environment (settings go on each child's `Command`), and
//! tests that build share nothing that a parallel build could change under them (see the
//! harness on target directories).

mod harness;

mod apple_link;
mod audit;
mod bad_input;
mod bench;
mod dist;
mod emulator;
mod facts;
mod faults;
mod init;
mod integrity;
mod interrupt;
mod keep_going;
mod macos;
mod matrix;
mod msvc;
mod packaging;
mod provenance;
mod provision;
mod reproducible;
mod settings;
mod size_mode;
mod split;
mod supply_chain;
mod universal;
mod verify;
mod wheels;
