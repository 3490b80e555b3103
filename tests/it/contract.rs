//! The contract exists three times: the human page (../shared/spec/data-contract.md), the
//! schema files (data-schemas/*.toml) and the code that loads them. These tests fail if one
//! changes without the others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use groupwatch::schema::{Contract, Direction, LogicalType};

fn contract_doc() -> String {
    let path = std::env::var_os("GROUPWATCH_CONTRACT_DOC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/data-contract.md"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read the contract page {} ({e}); set GROUPWATCH_CONTRACT_DOC", path.display())
    })
}

/// A column as the page describes it.
#[derive(Debug, PartialEq, Eq)]
struct DocColumn {
    ty: String,
    values: Vec<String>,
    range: Option<(i64, i64)>,
    nullable: bool,
}

/// Input tables of the page: name → (required, columns in order).
fn doc_inputs(doc: &str) -> BTreeMap<String, (bool, Vec<(String, DocColumn)>)> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, bool)> = None;
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            let mut parts = h.split_whitespace();
            let name = parts.next().unwrap().to_string();
            let required = h.contains("(required)");
            assert!(required || h.contains("(optional)"), "heading without (required)/(optional): {h}");
            out.insert(name.clone(), (required, Vec::new()));
            current = Some((name, required));
            continue;
        }
        if line.starts_with("## ") {
            current = None;
        }
        let Some((name, _)) = &current else { continue };
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() < 4 || cells[0] == "column" || cells[0].starts_with("---") {
            continue;
        }
        let ty_text = cells[1];
        let values: Vec<String> = ty_text.split('`').skip(1).step_by(2).map(str::to_string).collect();
        let (ty, range) = if ty_text.starts_with("enum") {
            ("enum".to_string(), None)
        } else if let Some(r) = ty_text.strip_prefix("small int ") {
            let (lo, hi) = r.split_once("..=").unwrap();
            ("small_int".to_string(), Some((lo.parse().unwrap(), hi.parse().unwrap())))
        } else {
            (ty_text.to_string(), None)
        };
        let nullable = match cells[2] {
            "yes" => true,
            "no" => false,
            other => panic!("{name}.{}: null column says {other:?}", cells[0]),
        };
        out.get_mut(name).unwrap().1.push((cells[0].to_string(), DocColumn { ty, values, range, nullable }));
    }
    out
}

#[test]
fn input_tables_agree_with_the_contract_page() {
    let doc = contract_doc();
    let docs = doc_inputs(&doc);
    let contract = Contract::get();
    // Tables marked `extension` go beyond the page and are documented in their schema file.
    let code: BTreeSet<&str> = contract.inputs().filter(|t| !t.extension).map(|t| t.table.as_str()).collect();
    let page: BTreeSet<&str> = docs.keys().map(String::as_str).collect();
    assert_eq!(code, page, "input tables differ between data-schemas/ and the page");
    for t in contract.inputs().filter(|t| !t.extension) {
        let (required, cols) = &docs[&t.table];
        assert_eq!(t.required, *required, "{}: required differs", t.table);
        let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        let schema_names: Vec<&str> = t.column_names().collect();
        assert_eq!(schema_names, names, "{}: columns differ (names or order)", t.table);
        for (name, dc) in cols {
            let c = t.column(name).unwrap();
            let where_ = format!("{}.{}", t.table, name);
            assert_eq!(c.ty.name(), dc.ty, "{where_}: type differs");
            assert_eq!(c.nullable, dc.nullable, "{where_}: nullability differs");
            if c.ty == LogicalType::Enum {
                assert_eq!(c.values, dc.values, "{where_}: enum values differ");
            }
            if let Some((lo, hi)) = dc.range {
                assert_eq!((c.min, c.max), (Some(lo), Some(hi)), "{where_}: range differs");
            }
        }
    }
}

#[test]
fn primary_keys_agree_with_the_contract_page() {
    let doc = contract_doc();
    let line = doc.lines().find(|l| l.contains("Primary keys (")).expect("primary key sentence");
    let page: BTreeSet<String> = line.split('`').skip(1).step_by(2).map(str::to_string).collect();
    let code: BTreeSet<String> = Contract::get()
        .inputs()
        .filter_map(|t| t.primary_key.as_ref().map(|k| format!("{}.{k}", t.table)))
        .collect();
    assert_eq!(code, page);
}

#[test]
fn output_tables_agree_with_the_contract_page() {
    let doc = contract_doc();
    let section = doc.split("## Output tables").nth(1).expect("output section");
    let mut page = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() == 3 && cells[0] != "table" && !cells[0].starts_with("---") {
            page.insert(cells[0].to_string(), cells[2].to_string());
        }
    }
    let contract = Contract::get();
    let code: BTreeSet<&str> = contract.outputs().filter(|t| !t.extension).map(|t| t.table.as_str()).collect();
    assert_eq!(code, page.keys().map(String::as_str).collect(), "output tables differ");
    // Every plainly named column of "must hold at least" is a column of the schema file.
    for (table, must) in &page {
        let schema = contract.table(table);
        let mut depth = 0;
        let mut items = vec![String::new()];
        for ch in must.chars() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(String::new());
                    continue;
                }
                _ => {}
            }
            items.last_mut().unwrap().push(ch);
        }
        for item in items {
            let item = item.trim();
            let word: String = item.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            let rest = &item[word.len()..];
            let plain = rest.is_empty() || rest.starts_with(" (") || rest.starts_with(" and ");
            if plain && !word.is_empty() {
                assert!(schema.column(&word).is_some(), "{table}: the page names column {word:?}, data-schemas/ lacks it");
            }
        }
    }
}

#[test]
fn schema_files_on_disk_are_the_ones_compiled_in() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data-schemas");
    let mut on_disk = BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        // The feature catalog is not a table schema (tests/it/features.rs checks it).
        if p.extension().is_some_and(|x| x == "toml") && p.file_stem().is_some_and(|s| s != "feature_catalog") {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            let parsed = groupwatch::schema::parse_schema(&stem, &std::fs::read_to_string(&p).unwrap()).unwrap();
            assert_eq!(parsed.columns.len(), Contract::get().table(&stem).columns.len());
            on_disk.insert(stem);
        }
    }
    let compiled: BTreeSet<String> = Contract::get().tables().iter().map(|t| t.table.clone()).collect();
    assert_eq!(on_disk, compiled, "a schema file is not compiled in (src/schema.rs SCHEMA_FILES)");
    assert!(Contract::get().inputs().all(|t| t.direction == Direction::Input));
    // Extensions are few and each says so in its description or columns.
    let ext: BTreeSet<&str> = Contract::get().tables().iter().filter(|t| t.extension).map(|t| t.table.as_str()).collect();
    assert_eq!(ext, ["cluster_edges", "cluster_timeline", "oof_scores", "review_decisions"].into_iter().collect());
}
