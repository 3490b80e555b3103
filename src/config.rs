//! One configuration for the commands that read a window (`run`, `train`, `features`):
//! command-line flags over an optional TOML file (`--config FILE`) over the defaults below,
//! merged once into a checked [`Config`].
//!
//! Why: a nightly job's settings belong in a file under version control, not in a crontab
//! line, and training settings (`max_negatives`, `tabular_only`) had no flag on `run` at all.
//! Each default is written once: the window's here, the Hamming threshold's in
//! [`FeatureConfig::default`], training's in [`TrainConfig::default`]; the flags' help shows
//! those same values. A key the file does not know is an error naming the file, line and key, so a
//! misspelt setting never silently falls back to its default.
//!
//! ```toml
//! window_days = 30
//! hamming_threshold = 31
//! policy = "policies/default.toml"   # relative to this file's folder
//!
//! [train]
//! seed = 1
//! min_positives = 20
//! ```

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::features::FeatureConfig;
use crate::model::TrainConfig;

/// Days in the window.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;

/// The as-of date without `--as-of` (or `as_of` in the file), for every command that reads a
/// dataset: yesterday (UTC), the last complete day.
pub fn default_as_of() -> NaiveDate {
    chrono::Utc::now().date_naive() - chrono::Days::new(1)
}

/// Settings as given, by flags or by a file: `None` where not given.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A TOML date (`as_of = 2026-11-24`) or a string (`as_of = "2026-11-24"`).
    #[serde(default, deserialize_with = "date")]
    pub as_of: Option<NaiveDate>,
    pub window_days: Option<u32>,
    pub hamming_threshold: Option<u32>,
    /// The policy file (`run`); in a file, relative to the file's folder.
    pub policy: Option<PathBuf>,
    #[serde(default)]
    pub train: TrainSettings,
}

/// `[train]`: the training settings of [`TrainConfig`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Reviews per day: precision is reported in the top this many. `run` defaults to its
    /// policy's daily capacity.
    pub capacity: Option<usize>,
    pub seed: Option<u64>,
    pub min_positives: Option<usize>,
    pub max_negatives: Option<usize>,
    pub tabular_only: Option<bool>,
}

fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Date {
        Text(NaiveDate),
        Toml(toml::value::Datetime),
    }
    match Date::deserialize(d)? {
        Date::Text(day) => Ok(Some(day)),
        Date::Toml(t) => match (t.date, t.time) {
            (Some(day), None) => NaiveDate::from_ymd_opt(i32::from(day.year), u32::from(day.month), u32::from(day.day))
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("{t} is not a date"))),
            _ => Err(serde::de::Error::custom(format!("{t} is not a date (write it as 2026-11-24)"))),
        },
    }
}

/// A configuration that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// Not TOML, an unknown key (the message names it), or a value of the wrong type.
    #[error("configuration file {}{}: {message}", path.display(), line.map_or(String::new(), |l| format!(" line {l}")))]
    File { path: PathBuf, line: Option<usize>, message: String },
    #[error("{key} = {value} {problem} ({origin})")]
    Invalid { key: &'static str, value: String, problem: &'static str, origin: String },
}

impl crate::ExitCode for ConfigError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

impl Settings {
    /// Reads a configuration file; a relative `policy` path is taken from the file's folder.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let mut s: Settings = toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            line: e.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
            message: e.message().trim().to_string(),
        })?;
        if let (Some(p), Some(dir)) = (&s.policy, path.parent()) {
            if p.is_relative() {
                s.policy = Some(dir.join(p));
            }
        }
        Ok(s)
    }

    /// These settings, with `lower`'s where these have none (flags over a file).
    pub fn over(self, lower: Settings) -> Settings {
        let t = self.train;
        let l = lower.train;
        Settings {
            as_of: self.as_of.or(lower.as_of),
            window_days: self.window_days.or(lower.window_days),
            hamming_threshold: self.hamming_threshold.or(lower.hamming_threshold),
            policy: self.policy.or(lower.policy),
            train: TrainSettings {
                capacity: t.capacity.or(l.capacity),
                seed: t.seed.or(l.seed),
                min_positives: t.min_positives.or(l.min_positives),
                max_negatives: t.max_negatives.or(l.max_negatives),
                tabular_only: t.tabular_only.or(l.tabular_only),
            },
        }
    }

    /// The defaults where nothing was given, checked. `origin` says where the settings came
    /// from, for the error messages ("flags and config.toml").
    pub fn resolve(self, origin: &str) -> Result<Config, ConfigError> {
        let d = TrainConfig::default();
        let invalid = |key, value: String, problem| ConfigError::Invalid { key, value, problem, origin: origin.to_string() };
        let c = Config {
            as_of: self.as_of.unwrap_or_else(default_as_of),
            window_days: self.window_days.unwrap_or(DEFAULT_WINDOW_DAYS),
            hamming_threshold: self.hamming_threshold.unwrap_or(FeatureConfig::default().hamming_threshold),
            policy: self.policy,
            capacity: self.train.capacity,
            seed: self.train.seed.unwrap_or(d.seed),
            min_positives: self.train.min_positives.unwrap_or(d.min_positives),
            max_negatives: self.train.max_negatives.unwrap_or(d.max_negatives),
            tabular_only: self.train.tabular_only.unwrap_or(d.tabular_only),
        };
        if c.window_days == 0 {
            return Err(invalid("window_days", "0".into(), "is not a window: at least 1 day"));
        }
        if c.hamming_threshold > 256 {
            return Err(invalid("hamming_threshold", c.hamming_threshold.to_string(), "is more than a PDQ hash's 256 bits"));
        }
        if c.capacity == Some(0) {
            return Err(invalid("capacity", "0".into(), "reviews a day: at least 1"));
        }
        if c.max_negatives == 0 {
            return Err(invalid("max_negatives", "0".into(), "leaves nothing to train on: at least 1"));
        }
        Ok(c)
    }
}

/// The checked configuration of `run`, `train` or `features`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The window ends at the end of this UTC day.
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub hamming_threshold: u32,
    /// The policy file (`run`); the built-in default policy when `None`.
    pub policy: Option<PathBuf>,
    /// Reviews per day for the training figures; `None`: the command's default (`train`
    /// [`TrainConfig::default`]'s, `run` its policy's daily capacity).
    pub capacity: Option<usize>,
    pub seed: u64,
    pub min_positives: usize,
    pub max_negatives: usize,
    pub tabular_only: bool,
}

impl Config {
    /// Every default, with the window ending on `as_of`.
    pub fn defaults(as_of: NaiveDate) -> Config {
        Settings { as_of: Some(as_of), ..Settings::default() }.resolve("defaults").expect("the defaults are valid")
    }

    /// The training settings, with `capacity` when none was given.
    pub fn train(&self, capacity: usize) -> TrainConfig {
        TrainConfig {
            capacity: self.capacity.unwrap_or(capacity),
            seed: self.seed,
            min_positives: self.min_positives,
            max_negatives: self.max_negatives,
            tabular_only: self.tabular_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("groupwatch.toml");
        std::fs::write(&path, text).unwrap();
        (d, path)
    }

    #[test]
    fn flags_over_the_file_over_the_defaults() {
        let (d, path) = file("as_of = 2026-11-20\nwindow_days = 14\npolicy = \"p.toml\"\n[train]\nseed = 5\nmax_negatives = 1000\ntabular_only = true\n");
        let from_file = Settings::from_file(&path).unwrap();
        assert_eq!(from_file.policy, Some(d.path().join("p.toml")), "relative to the file");
        let flags = Settings { window_days: Some(7), train: TrainSettings { seed: Some(9), ..Default::default() }, ..Default::default() };
        let c = flags.over(from_file).resolve("test").unwrap();
        assert_eq!((c.as_of, c.window_days, c.hamming_threshold), (NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(), 7, 31));
        let t = c.train(123);
        assert_eq!((t.capacity, t.seed, t.min_positives, t.max_negatives, t.tabular_only), (123, 9, TrainConfig::default().min_positives, 1000, true));

        let (_d, path) = file("as_of = \"2026-11-21\"\n");
        assert_eq!(Settings::from_file(&path).unwrap().as_of, NaiveDate::from_ymd_opt(2026, 11, 21));
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let c = Config::defaults(day);
        assert_eq!((c.window_days, c.hamming_threshold, c.policy.clone(), c.capacity), (30, 31, None, None));
        let t = c.train(TrainConfig::default().capacity);
        let d = TrainConfig::default();
        assert_eq!((t.capacity, t.seed, t.min_positives, t.max_negatives, t.tabular_only), (d.capacity, d.seed, d.min_positives, d.max_negatives, d.tabular_only));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_and_key() {
        let (_d, path) = file("window_days = 30\nwindow_dayz = 7\n");
        let e = Settings::from_file(&path).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("groupwatch.toml line 2") && msg.contains("window_dayz"), "{msg}");
        assert_eq!(crate::ExitCode::exit_code(&e), 2);

        let (_d, path) = file("[train]\nseeds = 3\n");
        let msg = Settings::from_file(&path).unwrap_err().to_string();
        assert!(msg.contains("line 2") && msg.contains("seeds"), "{msg}");

        let (_d, path) = file("window_days = \"thirty\"\n");
        assert!(Settings::from_file(&path).unwrap_err().to_string().contains("line 1"));

        let e = Settings { window_days: Some(0), ..Default::default() }.resolve("flags").unwrap_err();
        assert!(e.to_string().contains("window_days = 0") && e.to_string().contains("(flags)"), "{e}");
        let e = Settings { hamming_threshold: Some(300), ..Default::default() }.resolve("flags").unwrap_err();
        assert!(e.to_string().contains("hamming_threshold = 300"), "{e}");
    }
}
