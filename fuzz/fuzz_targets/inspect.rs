//! Feeds arbitrary bytes to the verifier's entry point. `inspect` catches panics itself, but
//! libFuzzer's panic hook aborts first, so a panic inside goblin is still reported as a
//! crash; libFuzzer's RSS limit and timeout catch runaway allocations and hangs.
#![no_main]

use release_orchestrator::inspect;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(found) = inspect::inspect(data) {
        // What is inspected goes into manifest.json: it must always serialise.
        serde_json::to_string(&found).expect("an inspection serialises");
    }
    // `verify` reads every binary's dependency list (`.dep-v0`) from the same bytes.
    let _ = inspect::deplist::dependency_list(data);
});
