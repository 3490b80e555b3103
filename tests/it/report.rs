//! report.html (`groupwatch report`), in a real headless browser:
//!
//! - on a tiny generated dataset after `groupwatch run`, the page renders, is self-contained
//!   (no external reference, no script) and byte-identical when rendered again;
//! - Debian's chromium loads it without console errors or network requests, the top cluster's
//!   section is there and its numbers equal clusters.parquet and cluster_members.parquet (read
//!   by pyarrow in `tests/oracle/report_browser.py`), and screenshots are non-empty PNGs;
//! - a folder that is not a run is bad input (exit 2).
//!
//! Without chromium the browser part is skipped with a loud message, unless `CI` is set: then
//! it fails. `GROUPWATCH_CHROMIUM` names another binary; `GROUPWATCH_KEEP_REPORT=DIR` keeps the
//! page and the screenshots.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{as_of, groupwatch, python_oracle, synth};
use groupwatch::synth::Scale;


fn ok(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{cmd:?} failed ({}):\n{}\n{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GROUPWATCH_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

fn render(run: &Path) -> Vec<u8> {
    ok(groupwatch().args(["report", "--run", run.to_str().unwrap()]));
    std::fs::read(run.join("report.html")).unwrap()
}

#[test]
fn report_loads_in_chromium_and_shows_the_parquet_numbers() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, 5);
    let out = d.path().join("runs");
    ok(groupwatch().args(["run", "--input", d.path().join("input").to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", &as_of().to_string()]));
    let run = out.join(format!("run={}", as_of()));
    for table in ["clusters", "cluster_members", "cluster_edges", "cluster_timeline"] {
        assert!(run.join(format!("{table}.parquet")).is_file(), "run wrote no {table}.parquet");
    }

    let html = render(&run);
    assert_eq!(html, render(&run), "two renderings of one run folder differ");
    let text = String::from_utf8(html).expect("UTF-8 page");
    assert!(text.contains("default-src 'none'"), "no Content-Security-Policy");
    for external in ["<script", "<link", " src=\"", "href=\"http", "url(", "@import"] {
        assert!(!text.contains(external), "page references {external:?}: not self-contained");
    }
    assert!(text.contains("class=\"cluster\""), "no cluster section");

    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but chromium is missing: .ci/run must `apt-get install -y chromium`");
        eprintln!("\n!!!!!!!!!! SKIPPED the browser part of tests/it/report.rs: chromium is not installed (apt-get install -y chromium) !!!!!!!!!!\n");
        return;
    };
    let shots = d.path().join("browser");
    let summary = python_oracle("report_browser.py", &[browser.to_str().unwrap(), run.to_str().unwrap(), shots.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&summary).expect("browser script prints JSON");
    assert_eq!(v["problems"], serde_json::json!([]));
    for name in ["report-top.png", "report-cluster.png"] {
        let png = std::fs::read(shots.join(name)).unwrap();
        assert!(png.len() > 1000 && png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: {} bytes, not a PNG", png.len());
        // Width and height from the IHDR chunk: a real picture, not a blank 1x1.
        let (w, h) = (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
        assert!(w >= 800 && h >= 300, "{name} is {w}x{h}");
    }
    if let Some(keep) = std::env::var_os("GROUPWATCH_KEEP_REPORT") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for name in ["report-top.png", "report-cluster.png"] {
            std::fs::copy(shots.join(name), keep.join(name)).unwrap();
        }
        std::fs::copy(run.join("report.html"), keep.join("report.html")).unwrap();
    }
}

#[test]
fn a_folder_that_is_not_a_run_is_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let o = groupwatch().args(["report", "--run", d.path().to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("manifest.json is missing"));
    let o = groupwatch().args(["report", "--run", d.path().join("absent").to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}
