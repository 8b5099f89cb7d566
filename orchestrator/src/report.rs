//! Stage 6, report: what a `dist` run made, as a table on stdout (or JSON with `--json`)
//! and as dist/REPORT.md for release notes. Both list every target of the run: those that
//! failed (or never started) with why. Each other command renders its own results
//! beside its data (commands/*); the shared pieces are in ui.

use crate::model::AssetKind;
use crate::package::manifest::Manifest;
use crate::ui::{cell, human_size, short, table};

/// The results of a `dist` run: one row per binary, and one per target without an archive.
pub fn print_dist(manifest: &Manifest, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(manifest).expect("the manifest serialises")
        );
        return;
    }
    let mut rows = Vec::new();
    for artifact in &manifest.artifacts {
        for asset in artifact.assets.iter().filter(|a| a.kind == AssetKind::Executable) {
            let (linkage, arch) = match &asset.inspection {
                Some(i) => (i.linkage.to_string(), i.arch.clone()),
                None => ("-".into(), "-".into()),
            };
            rows.push(vec![
                artifact.target_triples.join(","),
                asset.name.clone(),
                arch,
                linkage,
                human_size(asset.size),
                artifact.name.clone(),
                human_size(artifact.size),
                short(&artifact.checksums["sha256"]).to_string(),
                artifact.smoke.to_string(),
            ]);
        }
    }
    for failed in &manifest.failed {
        // The archive column says why there is none; the other columns have nothing to show.
        let none = format!("none, {}: {}", failed.status.to_string().to_uppercase(), failed.reason);
        let mut row = vec![failed.target.to_string()];
        row.extend(["-", "-", "-", "-"].map(String::from));
        row.push(none);
        row.extend(["-", "-", "-"].map(String::from));
        rows.push(row);
    }
    print!(
        "{}",
        table(
            &[
                "target",
                "binary",
                "arch",
                "linkage",
                "size",
                "archive",
                "archive size",
                "sha256",
                "smoke run"
            ],
            &rows
        )
    );
}

/// dist/REPORT.md: a Markdown table to paste into release notes, one row per archive.
pub fn release_notes(manifest: &Manifest) -> String {
    let mut out = format!(
        "## {} {}\n\nBuilt from commit `{}` with profile `{}`. Verify downloads with `sha256sum -c SHA256SUMS`.\n\n",
        manifest.app_name,
        manifest.app_version,
        short(&manifest.commit),
        manifest.profile
    );
    out += "| target | archive | size | linkage | sha256 |\n|---|---|---:|---|---|\n";
    for artifact in &manifest.artifacts {
        let mut linkage: Vec<String> = artifact
            .assets
            .iter()
            .filter_map(|a| a.inspection.as_ref())
            .map(|i| match i.needed.is_empty() {
                true => i.linkage.to_string(),
                false => format!("{} ({})", i.linkage, i.needed.join(", ")),
            })
            .collect();
        linkage.dedup();
        out += &format!(
            "| {} | [{name}]({name}) | {} | {} | `{}` |\n",
            artifact.target_triples.join(", "),
            human_size(artifact.size),
            linkage.join("; "),
            short(&artifact.checksums["sha256"]),
            name = artifact.name,
        );
    }
    if !manifest.failed.is_empty() {
        out += "\n### Targets without an archive\n\n| target | status | reason |\n|---|---|---|\n";
        for failed in &manifest.failed {
            out += &format!("| {} | {} | {} |\n", failed.target, failed.status, cell(&failed.reason));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_notes_have_one_row_per_archive() {
        let json = r#"{"format_version":1,"dist_version":"0.1.0","app_name":"app","app_version":"1.0.0",
            "commit":"0123456789abcdef","source_date_epoch":1,"profile":"dist","artifacts":[{
            "name":"app-1.0.0-x86_64-pc-windows-msvc.zip","kind":"executable-zip",
            "target_triples":["x86_64-pc-windows-msvc"],"format":"zip","route":"msvc","size":204800,
            "checksums":{"sha256":"a4c7692e32462345db198e904e45a4e4"},"input_sha256":"x","smoke":"not run (no runner): this host cannot execute it","assets":[
            {"name":"app.exe","path":"app.exe","kind":"executable","size":1,"sha256":"y","inspection":{
            "format":"pe","arch":"x86_64","linkage":"dynamic","interpreter":null,
            "needed":["KERNEL32.dll","ntdll.dll"],"stripped":true,"size":1}}]}]}"#;
        let manifest: Manifest = serde_json::from_str(json).unwrap();
        let notes = release_notes(&manifest);
        assert!(
            notes.starts_with("## app 1.0.0\n\nBuilt from commit `0123456789ab`"),
            "{notes}"
        );
        assert!(notes.ends_with(
            "| x86_64-pc-windows-msvc | [app-1.0.0-x86_64-pc-windows-msvc.zip](app-1.0.0-x86_64-pc-windows-msvc.zip) | 200.0 KiB | dynamic (KERNEL32.dll, ntdll.dll) | `a4c7692e3246` |\n"
        ), "{notes}");
    }
}
