//! Every feature in `data-schemas/feature_catalog.toml` carries a `reason`: a short phrase an
//! investigator reads in a review queue, with `{value}` where the formatted value goes.

/// (entity, name, unit, reason) of every `[[feature]]` entry in the catalog file on disk.
fn catalog_reasons() -> Vec<(String, String, String, String)> {
    crate::common::catalog_entries()
        .iter()
        .map(|f| {
            let s = |k: &str| {
                f.get(k)
                    .and_then(|x| x.as_str())
                    .unwrap_or_else(|| panic!("feature entry without string {k}: {f:?}"))
                    .to_string()
            };
            (s("entity"), s("name"), s("unit"), s("reason"))
        })
        .collect()
}

#[test]
fn every_catalog_entry_has_a_reason_with_one_placeholder() {
    let entries = catalog_reasons();
    assert!(!entries.is_empty(), "no [[feature]] entries");
    let mut problems = Vec::new();
    for (entity, name, _, reason) in &entries {
        if reason.trim().is_empty() {
            problems.push(format!("{entity} {name}: empty reason"));
            continue;
        }
        let n = reason.matches("{value}").count();
        if n != 1 {
            problems.push(format!("{entity} {name}: {{value}} appears {n} times in {reason:?}"));
        }
        let len = reason.chars().count();
        if len >= 90 {
            problems.push(format!("{entity} {name}: reason is {len} characters: {reason:?}"));
        }
        // No other braces: the code fills in only {value}.
        if reason.replace("{value}", "").contains(['{', '}']) {
            problems.push(format!("{entity} {name}: stray brace in {reason:?}"));
        }
    }
    assert!(problems.is_empty(), "catalog reasons:\n{}", problems.join("\n"));
}

#[test]
fn compiled_catalog_carries_the_reasons_of_the_file() {
    let file: Vec<(String, String, String, String)> = catalog_reasons();
    let compiled: Vec<(String, String, String, String)> = groupwatch::features::catalog_entries()
        .iter()
        .map(|e| (e.entity.to_string(), e.name.clone(), e.unit.clone(), e.reason.clone()))
        .collect();
    assert_eq!(compiled, file);
}

#[test]
fn reason_text_fills_in_the_formatted_value() {
    let entries = groupwatch::features::catalog_entries();
    assert!(!entries.is_empty());
    let mut problems = Vec::new();
    let mut shares = 0;
    for e in entries {
        let text = e.reason_text(Some(0.5));
        let value = e.format_value(Some(0.5));
        if text.contains('{') || text.contains('}') {
            problems.push(format!("{} {}: unfilled placeholder in {text:?}", e.entity, e.name));
        }
        if !text.contains(&value) {
            problems.push(format!("{} {}: {text:?} lacks the value {value:?}", e.entity, e.name));
        }
        if e.unit == "share" {
            shares += 1;
            if !text.contains("50 %") {
                problems.push(format!("{} {}: share reason {text:?} lacks \"50 %\"", e.entity, e.name));
            }
        }
        let missing = e.reason_text(None);
        if missing.contains('{') {
            problems.push(format!("{} {}: unfilled placeholder in {missing:?}", e.entity, e.name));
        }
    }
    assert!(shares > 0, "no entries with unit \"share\"");
    assert!(problems.is_empty(), "reason texts:\n{}", problems.join("\n"));
}
