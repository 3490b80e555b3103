//! groupwatch: finds networks sharing child-exploitation imagery on an end-to-end encrypted
//! messaging platform from metadata alone, and hands investigators a ranked, explained review
//! queue. Humans decide; groupwatch never acts on an account by itself.
//!
//! The library has one module per stage, in the order data flows through them:
//!
//! | module | stage |
//! |---|---|
//! | [`schema`] | the data contract (`data-schemas/*.toml`) in code |
//! | [`layout`] | finding an input dataset's files on disk |
//! | [`validate`] | checking every table against the contract; quarantine of bad rows |
//! | [`ingest`] | the as-of window: lazy scans, dense ids |
//! | [`replay`] | membership state at as-of from the event log |
//! | [`graph`] | CSR graphs and the algorithms on them (PageRank, Louvain, Fraudar, lockstep) |
//! | [`features`] | group and account features, the feature catalog |
//! | [`model`] | training, evaluation, calibration, scoring with reasons |
//! | [`policy`] | the policy team's thresholds and rules |
//! | [`run_folder`] | a finished run's folder: the typed manifest, the one lazy reader of its tables (report, sweep, explain, evaluate, the next run's clusters) |
//! | [`clusters`] | suspected networks: ties, clusters, roles, centrality, risk, stable ids |
//! | [`config`] | the settings of `run`, `train` and `features`: flags over an optional TOML file over the defaults, checked once |
//! | [`pipeline`] | the stages every command shares (validate → graphs), the `features` and `train` jobs |
//! | [`run`] | the nightly job: every stage, atomic run folder, manifest |
//! | [`report`] | `report.html`, the investigators' view of a run |
//! | [`sweep`] | a policy replayed over a run's facts at every threshold, and two policies compared |
//! | [`evaluate`] | a run's scores against a synthetic dataset's held-out truth |
//! | [`explain`] | the evidence of a finished run in the terminal |
//!
//! Beside the pipeline: [`synth`] generates a synthetic platform with planted networks and
//! known truth, [`convert`] maps real public datasets into the contract, [`io`] writes Parquet and places files atomically, and [`units`] holds the time units and id hash every stage shares. The `groupwatch`
//! binary is a thin command-line front end over these modules.
//!
//! ```no_run
//! use groupwatch::{synth, validate};
//! let out = std::path::PathBuf::from("/tmp/gw-demo");
//! let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
//! let cfg = synth::SynthConfig::new(synth::Scale::Tiny, 7, as_of, out.clone());
//! synth::generate(&cfg)?;
//! let report = validate::validate(&validate::ValidateConfig::new(out.join("input"), as_of))?;
//! assert!(report.is_usable());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod clusters;
pub mod config;
pub mod convert;
pub mod evaluate;
pub mod explain;
pub mod features;
pub mod graph;
pub mod ingest;
pub mod io;
pub mod layout;
pub mod model;
pub mod policy;
pub mod replay;
pub mod report;
pub mod pipeline;
pub mod run;
pub mod run_folder;
pub mod schema;
pub mod spill;
pub mod sweep;
pub mod synth;
pub mod units;
pub mod validate;

/// How a failure should end the process: bad input (exit 2) or an internal failure (exit 1).
pub trait ExitCode {
    fn is_bad_input(&self) -> bool;

    /// The process exit code: 2 bad input, 1 an internal failure (a kind may add its own).
    fn exit_code(&self) -> u8 {
        if self.is_bad_input() {
            2
        } else {
            1
        }
    }
}
