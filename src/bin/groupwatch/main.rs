//! The `groupwatch` command line: parses flags ([`flags`]) into the library's typed jobs,
//! runs them, prints the result and picks the exit code (0 ok, 2 bad input or usage, 3 `run`
//! found its output folder locked by another run, 1 internal failure; 143/130 a run stopped
//! by SIGTERM/SIGINT, see `run::stop_on_signals`). All logic lives in the library.

mod flags;

use std::path::Path;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use indicatif::{ProgressBar, ProgressStyle};

use flags::*;
use groupwatch::pipeline;
use groupwatch::run::RunConfig;
use groupwatch::synth::{self, SynthConfig};
use groupwatch::validate::{self, ValidateConfig};

fn main() -> ExitCode {
    // The matches too: `run`, `train` and `features` ask which flags were given (flags.rs).
    let (cli, matches) = match Cli::command().try_get_matches().and_then(|m| Ok((Cli::from_arg_matches(&m)?, m))) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap: --help/--version are not errors; usage errors are bad input.
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    init_logging(&cli.global);
    if let Some(n) = cli.global.threads {
        // Polars reads this on first use; rayon's global pool is sized here.
        std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    match dispatch(cli.command, matches.subcommand().map_or(&matches, |(_, m)| m)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Ends a command on its result: bad input (and a locked output folder) print one message and
/// exit with the error's code; internal failures go up to `main`, which prints their causes.
fn finish<T, E>(result: Result<T, E>, show: impl FnOnce(T) -> anyhow::Result<()>) -> anyhow::Result<ExitCode>
where
    E: groupwatch::ExitCode + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(v) => show(v).map(|()| ExitCode::SUCCESS),
        Err(e) if e.exit_code() == 1 => Err(e.into()),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

/// The error and its causes on one line, each message once: many errors quote their cause in
/// their own message and also return it as `source()`, so printing the plain chain (`{:#}`)
/// would repeat it.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for msg in e.chain().map(|link| link.to_string()) {
        if msg.is_empty() || out.contains(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

fn init_logging(g: &GlobalArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&g.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match g.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_target(false).init(),
    }
}

/// Runs `job` under a spinner (drawn only when stderr is a terminal) that shows its stages.
fn with_spinner<T>(job: impl FnOnce(&dyn Fn(&str)) -> T) -> T {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("static template"));
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    let out = job(&|stage: &str| pb.set_message(stage.to_string()));
    pb.finish_and_clear();
    out
}

/// Ends a command on an error with nothing to show (bad flags, a bad policy or configuration
/// file, an unreadable input): as [`finish`] does.
fn fail<E: groupwatch::ExitCode + std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Result<ExitCode> {
    finish(Err::<(), _>(e), |_| Ok(()))
}

fn dispatch(cmd: Command, m: &ArgMatches) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Synth(a) => {
            let mut cfg = SynthConfig::new(a.scale, a.seed, a.as_of, a.out);
            cfg.preset = a.preset;
            cfg.window_days = a.window_days;
            cfg.accounts = a.accounts.unwrap_or(cfg.accounts);
            synth_cmd(&cfg)
        }
        Command::Validate(a) => {
            let cfg = ValidateConfig::new(a.input, a.as_of.unwrap_or_else(groupwatch::config::default_as_of));
            validate_cmd(&cfg, &a.quarantine, a.report_json.as_deref())
        }
        Command::Features(a) => {
            let job = match a.job(m) { Ok(job) => job, Err(e) => return fail(e) };
            finish(with_spinner(|p| pipeline::features(&job, p)), |s| {
                println!("{} groups and {} accounts -> {}", s.group_rows, s.account_rows, job.out.display());
                s.unavailable_features.iter().for_each(|u| println!("  unavailable (input table absent): {u}"));
                s.warnings.iter().for_each(|w| println!("  warning: {w}"));
                Ok(())
            })
        }
        Command::Train(a) => {
            let job = match a.job(m) { Ok(job) => job, Err(e) => return fail(e) };
            finish(with_spinner(|p| pipeline::train(&job, p)), |s| {
                if let (Some(rows), Some(path)) = (s.oof_rows, &job.oof_out) {
                    println!("out-of-fold scores: {rows} row(s) -> {}", path.display());
                }
                print!("{}", s.evaluation);
                s.warnings.iter().for_each(|w| println!("  warning: {w}"));
                let base = job.model_out.display();
                println!("model: {base}   evaluation: {base}.evaluation.md, {base}.evaluation.json");
                Ok(())
            })
        }
        Command::Run(a) => match a.run_config(m) {
            Ok(cfg) => run_cmd(&cfg),
            Err(e) => fail(e),
        },
        Command::Sweep(a) => sweep_cmd(&a),
        Command::Report(a) => finish(groupwatch::report::write_report(&a.run), |path| {
            println!("written: {}", path.display());
            Ok(())
        }),
        Command::Evaluate(a) => {
            use groupwatch::evaluate::{evaluate, EvaluateConfig};
            let cfg = EvaluateConfig { run_dir: a.run, truth_dir: a.truth, k: a.k, include_labelled: a.include_labelled };
            finish(evaluate(&cfg), |e| {
                print!("{}", e.markdown());
                match &a.json {
                    Some(p) => groupwatch::io::write_bytes(p, &serde_json::to_vec_pretty(&e)?),
                    None => Ok(()),
                }
            })
        }
        Command::Explain(a) => {
            use groupwatch::explain::{explain, Target};
            let t = &a.target;
            let target = match (t.cluster, t.group, t.account) {
                (Some(c), _, _) => Target::Cluster(c),
                (_, Some(g), _) => Target::Group(g),
                (_, _, Some(x)) => Target::Account(x),
                _ => unreachable!("clap requires one target"),
            };
            finish(explain(&a.run, target), |text| {
                print!("{text}");
                Ok(())
            })
        }
        Command::ConvertReddit(a) => {
            use groupwatch::convert::{reddit, RedditConfig};
            let cfg = RedditConfig { edges: a.edges, labels: a.labels, out: a.out, as_of: a.as_of, seed: a.seed, reveal: a.reveal };
            finish(reddit(&cfg), |c| {
                println!(
                    "{} accounts, {} groups, {} memberships ({} duplicate pairs dropped), labels: {} violating, {} benign, {} users unlabelled -> {}",
                    c.accounts, c.groups, c.memberships, c.duplicate_pairs, c.labels_violating, c.labels_benign, c.unlabelled_users, cfg.out.display()
                );
                Ok(())
            })
        }
        Command::Demo(a) => demo_cmd(&a),
    }
}

fn synth_cmd(cfg: &SynthConfig) -> anyhow::Result<ExitCode> {
    let summary = with_spinner(|p| {
        p(&format!("generating {:?} dataset in {}", cfg.scale, cfg.out.display()));
        synth::generate(cfg)
    });
    finish(summary, |s| {
        let (groups, bad, nets, secs) = (s.groups, s.violating_groups, s.networks, s.seconds);
        println!("generated {} accounts, {groups} groups ({bad} violating in {nets} networks) in {secs:.1} s -> {}", cfg.accounts, cfg.out.display());
        if let (Some(l), Some(g)) = (s.labelled_networks, s.violating_group_labels) {
            println!("  {l} of {nets} networks carry labels; {g} violating group labels");
        }
        for (table, rows) in &s.rows {
            println!("  {table:<14} {rows:>12} rows in {:>5} file(s)", s.files.get(table).copied().unwrap_or(0));
        }
        Ok(())
    })
}

fn validate_cmd(cfg: &ValidateConfig, quarantine: &Path, json: Option<&Path>) -> anyhow::Result<ExitCode> {
    let report = with_spinner(|p| {
        p(&format!("validating {}", cfg.input.display()));
        validate::validate(cfg)
    });
    let report = match report { Ok(r) => r, Err(e) => return fail(e) };
    print!("{report}");
    let mut df = report.quarantine_frame()?;
    groupwatch::io::write_parquet(&mut df, quarantine).map_err(|e| e.context("writing the quarantine file"))?;
    println!("quarantine: {} row(s) written to {}", report.quarantine.len(), quarantine.display());
    if let Some(path) = json {
        groupwatch::io::write_bytes(path, &serde_json::to_vec_pretty(&report)?).map_err(|e| e.context(format!("writing {}", path.display())))?;
    }
    tracing::info!(tables = report.tables.len(), quarantined = report.quarantine.len(), fatal = report.fatal.len(), "validation finished");
    Ok(if report.is_usable() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn run_cmd(cfg: &RunConfig) -> anyhow::Result<ExitCode> {
    // SIGTERM/SIGINT remove the staging folder and exit 143/130.
    groupwatch::run::stop_on_signals().map_err(|e| anyhow::anyhow!("installing the SIGTERM/SIGINT handler: {e}"))?;
    finish(with_spinner(|p| groupwatch::run::run(cfg, p)), |s| {
        let (g, gf, a, af) = (s.groups_scored, s.groups_flagged, s.accounts_scored, s.accounts_flagged);
        println!("run complete: {g} groups ({gf} flagged), {a} accounts ({af} flagged) -> {}", s.run_dir.display());
        match s.top_cluster {
            Some(top) => println!("  {} suspected network(s) in clusters.parquet; the top one: cluster {top}", s.clusters),
            None => println!("  no suspected networks (nothing flagged)"),
        }
        s.warnings.iter().for_each(|w| println!("  warning: {w}"));
        Ok(())
    })
}

fn sweep_cmd(a: &SweepArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::policy::Policy;
    use groupwatch::sweep;
    let policies = (|| Ok::<_, groupwatch::policy::PolicyError>((a.policy.as_deref().map(Policy::load).transpose()?, a.compare.as_deref().map(Policy::load).transpose()?)))();
    let (policy, other) = match policies { Ok(p) => p, Err(e) => return fail(e) };
    let policy = policy.or_else(|| sweep::applied_policy(&a.run)).unwrap_or_else(Policy::default_policy);
    let result = (|| -> Result<(), sweep::SweepError> {
        let s = sweep::sweep(&a.run, &policy, a.steps)?;
        let files = sweep::write_sweep(&s, a.out.as_deref())?;
        print!("{}", sweep::summary(&s));
        println!("written: {files:?}");
        if let Some(b) = &other {
            let c = sweep::compare(&a.run, &policy, b)?;
            let path = sweep::write_comparison(&c, a.out.as_deref())?;
            print!("{}", sweep::compare_summary(&c));
            println!("written: {}", path.display());
        }
        Ok(())
    })();
    finish(result, Ok)
}

/// `synth` (or the dataset generated before), `validate`, `run` and `sweep` in a row, then
/// where everything is.
fn demo_cmd(a: &DemoArgs) -> anyhow::Result<ExitCode> {
    let as_of: chrono::NaiveDate = DEFAULT_AS_OF.parse().expect("constant date");
    let mut cfg = SynthConfig::new(a.scale, a.seed, as_of, a.out.clone());
    cfg.preset = a.preset;
    if a.out.join("synth.json").exists() {
        println!("reusing the dataset already generated in {}", a.out.display());
    } else if synth_cmd(&cfg)? != ExitCode::SUCCESS {
        return Ok(ExitCode::from(2));
    }
    let vdir = a.out.join("validate");
    let code = validate_cmd(&ValidateConfig::new(a.out.join("input"), as_of), &vdir.join("quarantine.parquet"), Some(&vdir.join("report.json")))?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let mut rcfg = RunConfig::new(a.out.join("input"), a.out.join("runs"), as_of);
    rcfg.config.seed = a.seed;
    let code = run_cmd(&rcfg)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let run = rcfg.run_dir();
    let top = groupwatch::run_folder::RunFolder::open(&run).and_then(|r| r.top_cluster()).ok().flatten();
    println!();
    let code = sweep_cmd(&SweepArgs { run: run.clone(), policy: None, compare: None, out: None, steps: groupwatch::sweep::DEFAULT_STEPS })?;
    let (out, run) = (a.out.display(), run.display());
    println!("\ndemo dataset: {out}/input   ground truth: {out}/truth");
    println!("validation report: {}/report.json", vdir.display());
    println!("run outputs (features, scores, hash matches, model, manifest.json): {run}");
    println!("threshold sweep for the policy team: {run}/sweep.svg (and sweep.csv, sweep.parquet)");
    println!("suspected networks: {run}/clusters.parquet (members, timeline and edges in cluster_members, cluster_timeline, cluster_edges)");
    println!("the investigators' report (open in a browser, no network needed): {run}/report.html");
    if let Some(top) = top {
        println!("the top network's evidence: groupwatch explain --run {run} --cluster {top}");
    }
    Ok(code)
}
