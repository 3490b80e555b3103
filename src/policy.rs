//! Policy files: the thresholds and rules that turn scores into a review queue.
//!
//! Policy teams own these numbers, not the code: a threshold or a rule changes by editing a
//! versioned TOML file (`policies/default.toml` is the documented default), reviewed like any
//! other policy text, and the file's bytes can be checksummed into every run's manifest
//! ([`Policy::load_with_text`]). The people editing it are policy leads, not engineers, so every
//! mistake is reported with the file, the line and the key (`review.group_threshold`), in
//! words rather than serde's, and nothing is silently ignored: unknown keys are errors
//! (`deny_unknown_fields` on every table), as are values outside their range.
//!
//! The version is checked before anything else, so a file written for a newer format says so
//! instead of failing on its new keys.
//!
//! [`Policy::decide`] is a pure function of the policy and one entity's facts; it records
//! every threshold and rule that fired as a stable reason code, so a queue entry always says
//! why it is there. Acting without review is limited to known-hash matches and is off by
//! default; `decide` only marks such entities, it never acts.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::schema::EntityKind;

/// Policy file format this build reads (the file's `version`).
pub const POLICY_VERSION: u32 = 1;

/// Rules that a policy may let act without review.
pub const AUTO_ACTION_RULES: &[&str] = &["hash_match"];

/// Text of the built-in default policy, `policies/default.toml`, as compiled in.
pub const DEFAULT_POLICY_TEXT: &str = include_str!("../policies/default.toml");

/// A validated policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Policy file format; must be [`POLICY_VERSION`].
    pub version: u32,
    /// Short name, e.g. "default".
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub review: Review,
    pub rules: Rules,
    #[serde(default)]
    pub auto_action: AutoAction,
}

/// `[review]`: score thresholds and reviewer capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Groups scoring at least this enter review (0..=1).
    pub group_threshold: f64,
    /// Accounts scoring at least this enter review (0..=1).
    pub account_threshold: f64,
    /// Reviews the team can do per day (> 0).
    pub daily_capacity: usize,
    /// Groups with fewer current members are not flagged by threshold; rules still apply.
    pub min_group_size: u32,
    /// Reviewer hours per review, for expected review hours in sweeps (> 0).
    pub hours_per_review: f64,
}

/// `[rules]`: facts that send an entity to review whatever its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub hash_match_always_review: bool,
    pub violating_admin_always_review: bool,
    /// At least this many child-safety reports always enters review; absent = rule off.
    #[serde(default)]
    pub child_safety_reports_at_least: Option<u32>,
}

/// `[auto_action]`: rules that may act without review. Only [`AUTO_ACTION_RULES`] are allowed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoAction {
    #[serde(default)]
    pub rules: Vec<String>,
}

/// One entity's inputs to a decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Calibrated score in 0..=1.
    pub score: f64,
    /// Current members (groups only). A group without a count fails the size gate.
    pub members_now: Option<u32>,
    pub hash_match: bool,
    pub violating_admin: bool,
    pub child_safety_reports: u32,
}

/// Whether an entity enters review, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub flagged: bool,
    /// Stable reason codes, in order: threshold, rules, auto action.
    pub reasons: Vec<String>,
    /// A rule listed in `[auto_action]` fired; the entity may be actioned without review.
    pub auto_action: bool,
}

/// A policy file that cannot be used. Every variant but `Read` names the file, line and key.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{origin} line {line}: {}not valid TOML: {message}", near(.key))]
    Syntax { origin: String, line: usize, key: Option<String>, message: String },
    #[error("{origin} line {line}: version = {found}, but this build reads policy format version {POLICY_VERSION}")]
    Version { origin: String, line: usize, key: String, found: String },
    #[error("{origin} line {line}: unknown key {key}{}", unknown_hint(.key, .suggestion, .allowed))]
    UnknownKey { origin: String, line: usize, key: String, suggestion: Option<String>, allowed: Vec<String> },
    #[error("{origin} line {line}: {key} = {found} is not {expected}")]
    WrongType { origin: String, line: usize, key: String, found: String, expected: String },
    #[error("{origin} line {line}: {key} is missing")]
    Missing { origin: String, line: usize, key: String },
    #[error("{origin} line {line}: {key} = {value} {problem}")]
    OutOfRange { origin: String, line: usize, key: String, value: String, problem: String },
    #[error("{origin} line {line}: {key} lists \"{rule}\", which may not act without review (allowed: {})", AUTO_ACTION_RULES.join(", "))]
    AutoActionRule { origin: String, line: usize, key: String, rule: String },
    #[error("{origin} line {line}: {key} lists \"{rule}\" but rules.{rule}_always_review is false; a rule that is off cannot act")]
    AutoActionRuleOff { origin: String, line: usize, key: String, rule: String },
    #[error("{origin} line {line}: {key}: {message}")]
    Invalid { origin: String, line: usize, key: String, message: String },
}

impl crate::ExitCode for PolicyError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

impl PolicyError {
    /// 1-based line the problem is on (a missing key: the line of its table's header, or 1).
    pub fn line(&self) -> Option<usize> {
        match self {
            PolicyError::Read { .. } => None,
            PolicyError::Syntax { line, .. }
            | PolicyError::Version { line, .. }
            | PolicyError::UnknownKey { line, .. }
            | PolicyError::WrongType { line, .. }
            | PolicyError::Missing { line, .. }
            | PolicyError::OutOfRange { line, .. }
            | PolicyError::AutoActionRule { line, .. }
            | PolicyError::AutoActionRuleOff { line, .. }
            | PolicyError::Invalid { line, .. } => Some(*line),
        }
    }

    /// Dotted key path, e.g. `review.group_threshold` or `auto_action.rules[1]`.
    pub fn key(&self) -> Option<&str> {
        match self {
            PolicyError::Read { .. } => None,
            PolicyError::Syntax { key, .. } => key.as_deref(),
            PolicyError::Version { key, .. }
            | PolicyError::UnknownKey { key, .. }
            | PolicyError::WrongType { key, .. }
            | PolicyError::Missing { key, .. }
            | PolicyError::OutOfRange { key, .. }
            | PolicyError::AutoActionRule { key, .. }
            | PolicyError::AutoActionRuleOff { key, .. }
            | PolicyError::Invalid { key, .. } => Some(key),
        }
    }
}

fn near(key: &Option<String>) -> String {
    key.as_ref().map(|k| format!("near {k}: ")).unwrap_or_default()
}

fn unknown_hint(key: &str, suggestion: &Option<String>, allowed: &[String]) -> String {
    let table = key.rsplit_once('.').map(|(t, _)| format!("{t}.")).unwrap_or_default();
    match suggestion {
        Some(s) => format!(" (did you mean {table}{s}?)"),
        None if allowed.is_empty() => String::new(),
        None => format!(" (allowed here: {})", allowed.join(", ")),
    }
}

impl Policy {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        Self::load_with_text(path).map(|(policy, _)| policy)
    }

    /// Like [`Policy::load`], also returning the file's text so the caller can checksum it.
    pub fn load_with_text(path: &Path) -> Result<(Policy, String), PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
        let policy = Self::parse(&text, &path.display().to_string())?;
        Ok((policy, text))
    }

    /// The built-in default policy (`policies/default.toml`).
    pub fn default_policy() -> Policy {
        Self::parse(DEFAULT_POLICY_TEXT, "policies/default.toml").expect("the built-in default policy is valid")
    }

    /// Parses and validates policy text; `origin` (usually the path) prefixes every error.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let doc = Doc { text, origin };
        let table = DeTable::parse(text).map_err(|e| doc.syntax_error(&e))?;
        let table = table.get_ref();
        doc.check_version(table)?;
        let policy: Policy = toml::from_str(text).map_err(|e| doc.serde_error(table, &e))?;
        doc.check_ranges(&policy, table)?;
        Ok(policy)
    }

    /// Decides whether one entity enters review. Pure: same policy and facts, same decision.
    pub fn decide(&self, entity: EntityKind, f: &Facts) -> Decision {
        let mut reasons = Vec::new();
        let threshold = match entity {
            EntityKind::Group => self.review.group_threshold,
            EntityKind::Account => self.review.account_threshold,
        };
        // A group of unknown size counts as empty: the size gate is not met.
        let big_enough = match entity {
            EntityKind::Group => f.members_now.unwrap_or(0) >= self.review.min_group_size,
            EntityKind::Account => true,
        };
        // NaN scores never pass.
        if big_enough && f.score >= threshold {
            reasons.push(format!("threshold:{}>={threshold:.2}", entity.as_str()));
        }
        let hash_rule = self.rules.hash_match_always_review && f.hash_match;
        if hash_rule {
            reasons.push("rule:hash_match".to_string());
        }
        if self.rules.violating_admin_always_review && f.violating_admin {
            reasons.push("rule:violating_admin".to_string());
        }
        if let Some(n) = self.rules.child_safety_reports_at_least {
            if f.child_safety_reports >= n {
                reasons.push(format!("rule:child_safety_reports>={n}"));
            }
        }
        let flagged = !reasons.is_empty();
        let auto_action = hash_rule && self.auto_action.rules.iter().any(|r| r == "hash_match");
        if auto_action {
            reasons.push("auto_action:hash_match".to_string());
        }
        Decision { flagged, reasons, auto_action }
    }
}

/// The text being parsed, for turning byte offsets into lines and key paths.
struct Doc<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Doc<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// The source text of a value, shortened for a message.
    fn snippet(&self, span: &Range<usize>) -> String {
        let s = self.text.get(span.clone()).unwrap_or("").trim();
        match s.char_indices().nth(40) {
            Some((i, _)) => format!("{}...", &s[..i]),
            None => s.to_string(),
        }
    }

    fn syntax_error(&self, e: &toml::de::Error) -> PolicyError {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let line = self.line_of(offset);
        PolicyError::Syntax {
            origin: self.origin.to_string(),
            line,
            key: key_on_line(self.text, line),
            message: e.message().to_string(),
        }
    }

    fn check_version(&self, table: &DeTable) -> Result<(), PolicyError> {
        // A missing or non-integer version is left to serde's messages.
        let Some((_, v)) = table.iter().find(|(k, _)| k.get_ref() == "version") else { return Ok(()) };
        let DeValue::Integer(i) = v.get_ref() else { return Ok(()) };
        if i64::from_str_radix(i.as_str(), i.radix()).ok() == Some(POLICY_VERSION as i64) {
            return Ok(());
        }
        Err(PolicyError::Version {
            origin: self.origin.to_string(),
            line: self.line_of(v.span().start),
            key: "version".to_string(),
            found: self.snippet(&v.span()),
        })
    }

    /// Rewrites a serde error (unknown key, wrong type, missing key) for a policy lead.
    fn serde_error(&self, table: &DeTable, e: &toml::de::Error) -> PolicyError {
        let origin = self.origin.to_string();
        let msg = e.message();
        let span = e.span().unwrap_or(0..0);
        let line = self.line_of(span.start);
        if let Some(field) = between(msg, "missing field `", "`") {
            // The span is the enclosing table's header (or the inline table); none = top level.
            let (key, line) = match table_with_span(table, &span, "") {
                Some(t) => (format!("{t}.{field}"), line),
                None => (field.to_string(), 1),
            };
            return PolicyError::Missing { origin, line, key };
        }
        let key = path_at(table, span.start, "").unwrap_or_default();
        if let Some(name) = between(msg, "unknown field `", "`") {
            let allowed = backticked(msg.split_once("expected").map(|(_, r)| r).unwrap_or(""));
            let suggestion = closest(name, &allowed);
            return PolicyError::UnknownKey { origin, line, key, suggestion, allowed };
        }
        if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
            if let Some((_, expected)) = msg.rsplit_once(", expected ") {
                let found = self.snippet(&span);
                return PolicyError::WrongType { origin, line, key, found, expected: readable_type(expected) };
            }
        }
        PolicyError::Invalid { origin, line, key, message: msg.to_string() }
    }

    fn check_ranges(&self, p: &Policy, table: &DeTable) -> Result<(), PolicyError> {
        let out_of_range = |path: &[&str], problem: &str| {
            let v = value_at(table, path);
            let span = v.map(|v| v.span()).unwrap_or(0..0);
            PolicyError::OutOfRange {
                origin: self.origin.to_string(),
                line: self.line_of(span.start),
                key: path.join("."),
                value: self.snippet(&span),
                problem: problem.to_string(),
            }
        };
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !unit(p.review.group_threshold) {
            return Err(out_of_range(&["review", "group_threshold"], "is outside 0..1"));
        }
        if !unit(p.review.account_threshold) {
            return Err(out_of_range(&["review", "account_threshold"], "is outside 0..1"));
        }
        if p.review.daily_capacity == 0 {
            return Err(out_of_range(&["review", "daily_capacity"], "must be at least 1 review a day"));
        }
        let h = p.review.hours_per_review;
        if !(h.is_finite() && h > 0.0) {
            return Err(out_of_range(&["review", "hours_per_review"], "must be a number of hours above 0"));
        }
        if p.rules.child_safety_reports_at_least == Some(0) {
            return Err(out_of_range(
                &["rules", "child_safety_reports_at_least"],
                "would send every entity to review; use 1 or more, or remove the key to turn the rule off",
            ));
        }
        let rules = value_at(table, &["auto_action", "rules"]);
        for (i, rule) in p.auto_action.rules.iter().enumerate() {
            let span = match rules.map(|r| r.get_ref()) {
                Some(DeValue::Array(a)) => a.get(i).map(|e| e.span()),
                _ => None,
            };
            let line = self.line_of(span.or(rules.map(|r| r.span())).unwrap_or(0..0).start);
            let origin = self.origin.to_string();
            let key = "auto_action.rules".to_string();
            if !AUTO_ACTION_RULES.contains(&rule.as_str()) {
                return Err(PolicyError::AutoActionRule { origin, line, key, rule: rule.clone() });
            }
            if rule == "hash_match" && !p.rules.hash_match_always_review {
                return Err(PolicyError::AutoActionRuleOff { origin, line, key, rule: rule.clone() });
            }
        }
        Ok(())
    }
}

/// The text between `start` and the next `end` in `s`.
fn between<'s>(s: &'s str, start: &str, end: &str) -> Option<&'s str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// Every name in backticks in `s`.
fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// The allowed name closest to a misspelt one, if it is plausibly a typo.
fn closest(name: &str, allowed: &[String]) -> Option<String> {
    allowed
        .iter()
        .map(|a| (edit_distance(name, a), a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// serde's type names in a policy lead's words.
fn readable_type(expected: &str) -> String {
    match expected {
        "usize" | "u32" | "u64" => "a whole number of 0 or more".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a boolean" => "true or false".to_string(),
        "a string" => "text in double quotes".to_string(),
        "a sequence" => "a list such as [\"hash_match\"]".to_string(),
        e if e.starts_with("struct ") => "a table".to_string(),
        e => e.to_string(),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end
}

/// Key path of the innermost key or value covering byte `offset`.
fn path_at(table: &DeTable, offset: usize, prefix: &str) -> Option<String> {
    for (k, v) in table.iter() {
        let path = join(prefix, k.get_ref());
        if let Some(p) = path_in_value(v, offset, &path) {
            return Some(p);
        }
        if covers(&k.span(), offset) || covers(&v.span(), offset) {
            return Some(path);
        }
    }
    None
}

fn path_in_value(v: &Spanned<DeValue>, offset: usize, path: &str) -> Option<String> {
    match v.get_ref() {
        DeValue::Table(t) => path_at(t, offset, path),
        DeValue::Array(a) => a.iter().enumerate().find_map(|(i, e)| {
            let p = format!("{path}[{i}]");
            path_in_value(e, offset, &p).or_else(|| covers(&e.span(), offset).then_some(p))
        }),
        _ => None,
    }
}

/// Key path of the table whose value span is exactly `span` (its header or inline braces).
fn table_with_span(table: &DeTable, span: &Range<usize>, prefix: &str) -> Option<String> {
    table.iter().find_map(|(k, v)| {
        let DeValue::Table(t) = v.get_ref() else { return None };
        let path = join(prefix, k.get_ref());
        if v.span() == *span {
            Some(path)
        } else {
            table_with_span(t, span, &path)
        }
    })
}

fn value_at<'t, 'i>(table: &'t DeTable<'i>, path: &[&str]) -> Option<&'t Spanned<DeValue<'i>>> {
    let (first, rest) = path.split_first()?;
    let (_, v) = table.iter().find(|(k, _)| k.get_ref() == first)?;
    match (rest.is_empty(), v.get_ref()) {
        (true, _) => Some(v),
        (false, DeValue::Table(t)) => value_at(t, rest),
        _ => None,
    }
}

/// Best-effort key path for a syntax error, from the text alone (the document did not parse):
/// the nearest `[table]` header above plus the key assigned on the line.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let this = strip_comment(lines.get(line.checked_sub(1)?)?);
    if this.starts_with('[') {
        return Some(this.trim_matches(|c| c == '[' || c == ']' || c == ' ').to_string()).filter(|k| !k.is_empty());
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| strip_comment(l))
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']' || c == ' ').to_string())
        .unwrap_or_default();
    let key = this.split_once('=').map(|(k, _)| k.trim()).unwrap_or("");
    let bare = |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-. ".contains(c));
    if bare(key) {
        Some(join(&table, &key.replace(' ', "")))
    } else {
        Some(table).filter(|t| !t.is_empty())
    }
}

fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(score: f64, members: Option<u32>) -> Facts {
        Facts { score, members_now: members, ..Facts::default() }
    }

    #[test]
    fn group_threshold_needs_min_size() {
        let p = Policy::default_policy();
        let d = p.decide(EntityKind::Group, &facts(0.5, Some(3)));
        assert_eq!(d, Decision { flagged: true, reasons: vec!["threshold:group>=0.50".into()], auto_action: false });
        assert!(!p.decide(EntityKind::Group, &facts(0.9, Some(2))).flagged);
        assert!(!p.decide(EntityKind::Group, &facts(0.9, None)).flagged);
        assert!(!p.decide(EntityKind::Group, &facts(0.49, Some(100))).flagged);
    }

    #[test]
    fn account_threshold_ignores_members() {
        let p = Policy::default_policy();
        assert_eq!(p.decide(EntityKind::Account, &facts(0.7, None)).reasons, ["threshold:account>=0.70"]);
        assert!(!p.decide(EntityKind::Account, &facts(0.69, None)).flagged);
        assert!(!p.decide(EntityKind::Account, &facts(f64::NAN, None)).flagged);
    }

    #[test]
    fn rules_apply_below_threshold_and_size() {
        let p = Policy::default_policy();
        let f = Facts { score: 0.1, members_now: Some(1), hash_match: true, violating_admin: true, child_safety_reports: 3 };
        let d = p.decide(EntityKind::Group, &f);
        assert!(d.flagged && !d.auto_action);
        assert_eq!(d.reasons, ["rule:hash_match", "rule:violating_admin", "rule:child_safety_reports>=3"]);
        let below = Facts { score: 0.1, child_safety_reports: 2, ..Facts::default() };
        assert!(!p.decide(EntityKind::Account, &below).flagged);
    }

    #[test]
    fn every_reason_in_order_then_auto_action() {
        let mut p = Policy::default_policy();
        p.auto_action.rules = vec!["hash_match".into()];
        let f = Facts { score: 0.95, members_now: Some(10), hash_match: true, violating_admin: true, child_safety_reports: 7 };
        let d = p.decide(EntityKind::Group, &f);
        assert_eq!(
            d.reasons,
            [
                "threshold:group>=0.50",
                "rule:hash_match",
                "rule:violating_admin",
                "rule:child_safety_reports>=3",
                "auto_action:hash_match"
            ]
        );
        assert!(d.flagged && d.auto_action);
        // Without a hash match nothing is auto-actioned, however high the score.
        assert!(!p.decide(EntityKind::Group, &Facts { hash_match: false, ..f }).auto_action);
    }

    #[test]
    fn switched_off_rules_do_not_fire() {
        let mut p = Policy::default_policy();
        p.rules = Rules { hash_match_always_review: false, violating_admin_always_review: false, child_safety_reports_at_least: None };
        let f = Facts { score: 0.0, members_now: Some(10), hash_match: true, violating_admin: true, child_safety_reports: 99 };
        assert_eq!(p.decide(EntityKind::Account, &f), Decision::default());
    }

    #[test]
    fn min_group_size_zero_admits_unknown_size() {
        let mut p = Policy::default_policy();
        p.review.min_group_size = 0;
        assert!(p.decide(EntityKind::Group, &facts(0.6, None)).flagged);
    }

    #[test]
    fn syntax_error_key_from_text() {
        let text = "version = 1\n[review]\ngroup_threshold = 0.5 0.6\n";
        assert_eq!(key_on_line(text, 3).as_deref(), Some("review.group_threshold"));
        assert_eq!(key_on_line("[review\n", 1).as_deref(), Some("review"));
    }

    #[test]
    fn typo_suggestions() {
        let allowed = vec!["group_threshold".to_string(), "daily_capacity".to_string()];
        assert_eq!(closest("group_treshold", &allowed).as_deref(), Some("group_threshold"));
        assert_eq!(closest("colour", &allowed), None);
    }
}
