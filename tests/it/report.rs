//! `report.html` (issue 16): one self-contained page per run folder, with
//! every chart the run drew inline as SVG, the figures of summary.json and
//! the scenario's own notes; the same bytes for the same run.

use std::path::Path;

use crate::common::*;

/// A thousands-grouped whole number, written here independently of the
/// report's own formatter.
fn grouped(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().rev().enumerate() {
        if i > 0 && i % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.chars().rev().collect()
}

/// The `data-file` of every figure, in order, each checked to hold one
/// inline `<svg>` element and nothing else.
pub fn figures(html: &str) -> Vec<String> {
    let mut files = Vec::new();
    for part in html.split("<figure data-file=\"").skip(1) {
        let (file, rest) = part.split_once("\">").expect("a closed attribute");
        assert!(rest.starts_with("<svg "), "{file}: not an inline SVG");
        let body = &rest[..rest.find("</figure>").expect("a closed figure")];
        assert_eq!(body.matches("<svg ").count(), 1, "{file}");
        assert!(body.contains("</svg><figcaption>"), "{file}");
        files.push(file.to_string());
    }
    files
}

/// Every file under `dir/charts`, as `charts/<name>`, sorted.
pub fn chart_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("charts"))
        .unwrap()
        .map(|e| format!("charts/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    v.sort();
    v
}

/// What a report must never hold: a script, or anything it would fetch.
pub fn assert_self_contained(html: &str) {
    assert!(!html.contains("<script"), "a script");
    for attr in [" src=", " href=", "url("] {
        assert!(
            !html.contains(attr),
            "`{attr}`: the page would load something"
        );
    }
    // The only URL is the SVG namespace, which is a name, not a fetch.
    let urls = html.matches("://").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, namespaces, "a URL besides the SVG namespace");
}

const NOTES: &str = "#:schema ../schema/scenario.json\n# A small test market.\n#\n# Source: a <made-up> note & its figures.\n\n";

#[test]
fn a_runs_report_holds_every_chart_its_figures_and_its_notes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), format!("{NOTES}{SMALL}")).unwrap();
    let out = cli(dir.path(), &["run", "s.toml", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = dir.path().join("output/small");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_self_contained(&html);

    // Every chart the run wrote, once, in SVG.
    let mut shown = figures(&html);
    shown.sort();
    assert_eq!(shown, chart_files(&run));
    assert!(shown.len() >= 5, "{shown:?}");

    // The figures are summary.json's.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let lar = summary["headline"]["lar95_liquidated_value"]
        .as_f64()
        .unwrap();
    assert!(lar > 1000.0, "the check needs a sizeable figure: {lar}");
    assert!(
        html.contains(&format!("<td>{}</td>", grouped(lar))),
        "LaR95 {lar} is not in the report"
    );
    let p = &summary["protocols"][0];
    assert_eq!(p["protocol"], "lend");
    assert!(html.contains("<table id=\"protocol-lend\">"));
    let ci = &p["bad_debt_tail_ci"]["var"];
    let (lo, hi) = (ci["lo"].as_f64().unwrap(), ci["hi"].as_f64().unwrap());
    assert!(lo <= p["bad_debt"]["var99"].as_f64().unwrap() + 1e-9 && lo <= hi);

    // The scenario's notes, escaped, without the schema directive.
    assert!(
        html.contains("A small test market.\n\nSource: a &lt;made-up&gt; note &amp; its figures.")
    );
    assert!(!html.contains("#:schema"));
    // Provenance: the commit of this build.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let commit = manifest["git_commit"].as_str().unwrap();
    assert!(html.contains(&format!("<td>git commit</td><td>{commit}</td>")));
}

#[test]
fn a_report_is_the_same_bytes_for_the_same_run_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SMALL).unwrap();
    let mut reports = Vec::new();
    for (name, threads) in [("a", "1"), ("b", "2")] {
        let out = std::process::Command::new(bin())
            .current_dir(dir.path())
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args([
                "run",
                "s.toml",
                "--quiet",
                "--threads",
                threads,
                "--out",
                name,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        reports.push(std::fs::read(dir.path().join(name).join("report.html")).unwrap());
    }
    assert!(reports[0] == reports[1], "the reports differ");
}
