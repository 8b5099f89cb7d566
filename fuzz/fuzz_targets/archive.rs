//! Feeds arbitrary bytes to the archive reader as a .tar.gz, .tar.xz, .tar.zst or .zip (the
//! first byte chooses), and every regular file it yields to the inspector, as `verify` does.
#![no_main]

use release_orchestrator::model::ArchiveFormat;
use release_orchestrator::{inspect, package::read as archive};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else { return };
    let format = match choice % 4 {
        0 => ArchiveFormat::TarGz,
        1 => ArchiveFormat::TarXz,
        2 => ArchiveFormat::Zip,
        _ => ArchiveFormat::TarZst,
    };
    let _ = archive::read_from(std::io::Cursor::new(bytes), format, |_, member| {
        let _ = inspect::inspect(member);
    });
});
