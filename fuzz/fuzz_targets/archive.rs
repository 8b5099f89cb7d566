//! Feeds arbitrary bytes to the archive reader as a .tar.gz, .tar.xz, .tar.zst or .zip (the
//! first byte chooses), and every regular file it yields to the inspector, as `verify` does.
#![no_main]

use release_orchestrator::{inspect, package::read as archive};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else { return };
    let kind = match choice % 4 {
        0 => archive::Kind::TarGz,
        1 => archive::Kind::TarXz,
        2 => archive::Kind::Zip,
        _ => archive::Kind::TarZst,
    };
    let _ = archive::read_from(std::io::Cursor::new(bytes), kind, |_, member| {
        let _ = inspect::inspect(member);
    });
});
