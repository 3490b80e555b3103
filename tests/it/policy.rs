//! Policy files: the default loads, and every kind of mistake a policy lead can make is
//! reported with the file, the key and the right line.

use std::path::{Path, PathBuf};

use groupwatch::policy::{Decision, Facts, Policy, PolicyError, DEFAULT_POLICY_TEXT};
use groupwatch::schema::EntityKind;
use groupwatch::ExitCode;

/// A valid policy; line numbers below refer to it (line 1 is `version = 1`).
const GOOD: &str = r#"version = 1
name = "strict"
description = "test policy"

[review]
group_threshold = 0.4
account_threshold = 0.8
daily_capacity = 50
min_group_size = 5
hours_per_review = 0.5

[rules]
hash_match_always_review = true
violating_admin_always_review = false
child_safety_reports_at_least = 2

[auto_action]
rules = ["hash_match"]
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `GOOD` with the line holding `from` replaced by `to`.
fn edit(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

/// Loads `text` from a file and returns the error, checking it names file, key and line.
fn load_err(text: &str, key: &str, line: usize) -> (PolicyError, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.toml", text);
    let err = Policy::load(&path).expect_err("policy should be rejected");
    let msg = err.to_string();
    assert!(err.is_bad_input());
    assert_eq!(err.key(), Some(key), "{msg}");
    assert_eq!(err.line(), Some(line), "{msg}");
    assert!(msg.starts_with(&format!("{} line {line}: ", path.display())), "{msg}");
    assert!(msg.contains(key), "{msg}");
    (err, msg)
}

#[test]
fn default_policy_loads_from_file_and_built_in() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (p, text) = Policy::load_with_text(&root.join("policies/default.toml")).unwrap();
    assert_eq!(text, DEFAULT_POLICY_TEXT);
    assert_eq!(p, Policy::default_policy());
    assert_eq!((p.version, p.name.as_str()), (1, "default"));
    assert_eq!((p.review.group_threshold, p.review.account_threshold), (0.5, 0.7));
    assert_eq!((p.review.daily_capacity, p.review.min_group_size, p.review.hours_per_review), (200, 3, 0.25));
    assert!(p.rules.hash_match_always_review && p.rules.violating_admin_always_review);
    assert_eq!(p.rules.child_safety_reports_at_least, Some(3));
    assert!(p.auto_action.rules.is_empty(), "humans decide by default");
}

#[test]
fn good_policy_loads_and_round_trips() {
    let p = Policy::parse(GOOD, "good.toml").unwrap();
    assert_eq!(p.auto_action.rules, ["hash_match"]);
    let again = Policy::parse(&toml::to_string(&p).unwrap(), "again.toml").unwrap();
    assert_eq!(p, again);
}

#[test]
fn optional_keys_may_be_left_out() {
    let text = GOOD
        .replace("description = \"test policy\"\n", "")
        .replace("child_safety_reports_at_least = 2\n", "")
        .replace("[auto_action]\nrules = [\"hash_match\"]\n", "");
    let p = Policy::parse(&text, "minimal.toml").unwrap();
    assert_eq!(p.description, "");
    assert_eq!(p.rules.child_safety_reports_at_least, None);
    assert!(p.auto_action.rules.is_empty());
}

#[test]
fn unknown_key_is_named_with_a_suggestion() {
    let (_, msg) = load_err(&edit("group_threshold = 0.4", "group_treshold = 0.4"), "review.group_treshold", 6);
    assert!(msg.contains("unknown key"), "{msg}");
    assert!(msg.contains("did you mean review.group_threshold?"), "{msg}");
    // Top level, no near miss: the allowed keys are listed instead.
    let (_, msg) = load_err(&edit("name = \"strict\"", "name = \"strict\"\nowner = \"trust\""), "owner", 3);
    assert!(msg.contains("allowed here: ") && msg.contains("auto_action"), "{msg}");
    // An unknown table.
    load_err(&format!("{GOOD}\n[extras]\nx = 1\n"), "extras", 20);
}

#[test]
fn threshold_outside_unit_interval() {
    let (err, msg) = load_err(&edit("group_threshold = 0.4", "group_threshold = 1.5"), "review.group_threshold", 6);
    assert!(matches!(err, PolicyError::OutOfRange { .. }));
    assert!(msg.ends_with("review.group_threshold = 1.5 is outside 0..1"), "{msg}");
    load_err(&edit("account_threshold = 0.8", "account_threshold = -0.1"), "review.account_threshold", 7);
    load_err(&edit("account_threshold = 0.8", "account_threshold = nan"), "review.account_threshold", 7);
}

#[test]
fn other_ranges() {
    load_err(&edit("daily_capacity = 50", "daily_capacity = 0"), "review.daily_capacity", 8);
    load_err(&edit("hours_per_review = 0.5", "hours_per_review = 0"), "review.hours_per_review", 10);
    load_err(&edit("child_safety_reports_at_least = 2", "child_safety_reports_at_least = 0"), "rules.child_safety_reports_at_least", 15);
}

#[test]
fn wrong_type() {
    let (err, msg) = load_err(&edit("daily_capacity = 50", "daily_capacity = \"many\""), "review.daily_capacity", 8);
    assert!(matches!(err, PolicyError::WrongType { .. }));
    assert!(msg.ends_with("review.daily_capacity = \"many\" is not a whole number of 0 or more"), "{msg}");
    let (_, msg) = load_err(&edit("min_group_size = 5", "min_group_size = -1"), "review.min_group_size", 9);
    assert!(msg.contains("= -1 is not a whole number"), "{msg}");
    let (_, msg) = load_err(&edit("hash_match_always_review = true", "hash_match_always_review = \"yes\""), "rules.hash_match_always_review", 13);
    assert!(msg.contains("true or false"), "{msg}");
    load_err(&edit("rules = [\"hash_match\"]", "rules = [\"hash_match\", 3]"), "auto_action.rules[1]", 18);
}

#[test]
fn auto_action_only_for_hash_match() {
    let (err, msg) = load_err(&edit("rules = [\"hash_match\"]", "rules = [\"hash_match\",\n  \"violating_admin\"]"), "auto_action.rules", 19);
    assert!(matches!(err, PolicyError::AutoActionRule { ref rule, .. } if rule == "violating_admin"));
    assert!(msg.contains("\"violating_admin\", which may not act without review"), "{msg}");
    // hash_match may act only while its rule is on.
    let text = edit("hash_match_always_review = true", "hash_match_always_review = false");
    let (err, _) = load_err(&text, "auto_action.rules", 18);
    assert!(matches!(err, PolicyError::AutoActionRuleOff { .. }));
}

#[test]
fn version_other_than_1() {
    let (err, msg) = load_err(&edit("version = 1", "version = 2"), "version", 1);
    assert!(matches!(err, PolicyError::Version { .. }));
    assert!(msg.ends_with("version = 2, but this build reads policy format version 1"), "{msg}");
    // Checked before keys: a newer file's new keys do not hide the real problem.
    let newer = edit("version = 1", "\nversion = 2").replace("[rules]", "[rules]\nnew_rule = true");
    load_err(&newer, "version", 2);
}

#[test]
fn toml_syntax_error() {
    let (err, msg) = load_err(&edit("group_threshold = 0.4", "group_threshold = 0.4 0.5"), "review.group_threshold", 6);
    assert!(matches!(err, PolicyError::Syntax { .. }));
    assert!(msg.contains("not valid TOML"), "{msg}");
    load_err(&edit("[rules]", "[rules"), "rules", 12);
    load_err(&edit("daily_capacity = 50", "daily_capacity = 50\ndaily_capacity = 60"), "review.daily_capacity", 9);
}

#[test]
fn missing_key_points_at_its_table() {
    let (err, msg) = load_err(&edit("min_group_size = 5\n", ""), "review.min_group_size", 5);
    assert!(matches!(err, PolicyError::Missing { .. }));
    assert!(msg.ends_with("review.min_group_size is missing"), "{msg}");
    let no_rules = GOOD.split("[rules]").next().unwrap().to_string() + "[auto_action]\nrules = []\n";
    load_err(&no_rules, "rules", 1);
}

#[test]
fn unreadable_file() {
    let err = Policy::load(Path::new("/nonexistent/policy.toml")).unwrap_err();
    assert!(matches!(err, PolicyError::Read { .. }) && err.is_bad_input());
    assert!(err.to_string().contains("/nonexistent/policy.toml"));
}

#[test]
fn decisions() {
    let p = Policy::parse(GOOD, "good.toml").unwrap();
    let group = |score, members, hash_match, reports| Facts {
        score,
        members_now: Some(members),
        hash_match,
        violating_admin: true, // rule switched off in GOOD
        child_safety_reports: reports,
    };
    let decide = |f: Facts| p.decide(EntityKind::Group, &f);
    assert_eq!(decide(group(0.3, 10, false, 0)), Decision::default());
    assert_eq!(decide(group(0.4, 5, false, 1)).reasons, ["threshold:group>=0.40"]);
    assert!(!decide(group(0.9, 4, false, 0)).flagged, "below min_group_size");
    assert_eq!(decide(group(0.1, 1, false, 2)).reasons, ["rule:child_safety_reports>=2"]);
    let d = decide(group(0.9, 50, true, 2));
    assert_eq!(d.reasons, ["threshold:group>=0.40", "rule:hash_match", "rule:child_safety_reports>=2", "auto_action:hash_match"]);
    assert!(d.flagged && d.auto_action);

    let account = Facts { score: 0.8, members_now: None, ..Facts::default() };
    assert_eq!(p.decide(EntityKind::Account, &account).reasons, ["threshold:account>=0.80"]);
    // The default policy never auto-actions.
    let d = Policy::default_policy().decide(EntityKind::Account, &Facts { hash_match: true, ..account });
    assert_eq!(d.reasons, ["threshold:account>=0.70", "rule:hash_match"]);
    assert!(!d.auto_action);
}

/// The sweep replays one run at many thresholds and relies on this: raising a threshold never
/// flags an entity it did not flag before, whatever the facts and the rules (checked on
/// seeded random facts, NaN scores and missing group sizes included).
#[test]
fn the_decision_is_monotone_in_the_threshold() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let base = Policy::parse(GOOD, "good.toml").unwrap();
    for _ in 0..20_000 {
        let f = Facts {
            score: if rng.gen_bool(0.05) { f64::NAN } else { rng.gen_range(0.0..=1.0) },
            members_now: rng.gen_bool(0.9).then(|| rng.gen_range(0..20)),
            hash_match: rng.gen_bool(0.1),
            violating_admin: rng.gen_bool(0.1),
            child_safety_reports: rng.gen_range(0..4),
        };
        let (lo, hi) = { let (a, b): (f64, f64) = (rng.gen_range(0.0..=1.0), rng.gen_range(0.0..=1.0)); (a.min(b), a.max(b)) };
        let mut p = base.clone();
        p.rules.violating_admin_always_review = rng.gen_bool(0.5);
        for entity in [EntityKind::Group, EntityKind::Account] {
            let at = |t: f64| {
                let mut q = p.clone();
                (q.review.group_threshold, q.review.account_threshold) = (t, t);
                q.decide(entity, &f)
            };
            let (loose, strict) = (at(lo), at(hi));
            assert!(!strict.flagged || loose.flagged, "{entity:?} {f:?}: flagged at {hi} but not at {lo}");
            assert!(strict.reasons.len() <= loose.reasons.len());
        }
    }
}
