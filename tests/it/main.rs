//! The integration tests, one binary (`cargo test --test it`): one module per theme, as
//! docs/testing.md groups them, and one shared helper (`common`: running the binary,
//! generating a dataset, calling a Python oracle). A test file of its own under `tests/` would
//! be a test binary of its own, linking polars again; add a module here instead.
//!
//! One process runs every module's tests on the harness's threads, so a test must not change
//! process-wide state (environment variables, the current directory, a global thread pool or
//! tracing subscriber, signal dispositions, resource limits): set them on the `Command` it
//! runs (`.env`, `.current_dir`, `--threads`, `pre_exec`) instead. Shared fixtures are
//! per process (`validate`'s pristine dataset).
//!
//! One module: `cargo test --test it run::`; one test: `cargo test --test it
//! run::a_killed_run_leaves_the_previous_run_intact -- --exact`.

mod common;

// Oracles: the same quantity computed independently, in Python.
mod evaluate;
mod features;
mod graph_oracle;
mod metrics_oracle;
mod model;

// The contract and the inputs.
mod contract;
mod ingest;
mod synth;
mod validate;

// The nightly job and its outputs.
mod clusters;
mod detection;
mod policy;
mod reasons;
mod run;
mod sweep;

// The investigators' page, the notebooks, real data.
mod notebooks;
mod reddit;
mod report;
