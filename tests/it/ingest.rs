//! Ingest accepts every physical encoding the contract allows and gives the same features.

use crate::common;


use common::{python_oracle, synth};
use groupwatch::synth::Scale;

fn features(input: &std::path::Path, out: &std::path::Path) {
    let o = common::groupwatch()
        .args(["features", "--as-of", "2026-11-24", "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

#[test]
fn other_physical_encodings_give_identical_features() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, Some(1_500), 21);
    let recoded = d.path().join("recoded");
    python_oracle("recode_dataset.py", &[d.path().join("input").to_str().unwrap(), recoded.to_str().unwrap()]);
    // The recoding really changed the physical types.
    let arrow = {
        use polars::prelude::*;
        let f = std::fs::File::open(recoded.join("accounts/part-a00000.parquet")).unwrap();
        ParquetReader::new(f).schema().unwrap()
    };
    assert!(format!("{:?}", arrow.get("photo_pdq").unwrap().dtype).contains("FixedSizeBinary"));
    assert!(format!("{:?}", arrow.get("created_at").unwrap().dtype).contains("Microsecond"));
    let (a, b) = (d.path().join("f1"), d.path().join("f2"));
    features(&d.path().join("input"), &a);
    features(&recoded, &b);
    for t in ["group_features.parquet", "account_features.parquet"] {
        assert!(std::fs::read(a.join(t)).unwrap() == std::fs::read(b.join(t)).unwrap(), "{t} differs");
    }
}
