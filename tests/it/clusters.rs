//! Networks (`groupwatch run`'s clusters stage), `groupwatch explain` and reviewer decisions:
//!
//! - two violating cliques that share members only through one large benign group stay two
//!   clusters, whether that group is flagged or not;
//! - cluster ids persist across two consecutive as-of dates where the network persists;
//! - cluster ids in the scores tables equal cluster_members; every new output table conforms
//!   to its schema; centrality is 0..1 with a 1 in every cluster;
//! - explain on a cluster, a group, an account, and an unknown id (exit 2);
//! - review decisions become labels (directly and through a previous run's cluster);
//! - quality on a `small` dataset against its truth: purity and completeness of each planted
//!   network's best-matching cluster, networks recovered as one cluster, benign entities in
//!   violating clusters (camouflaged networks apart), printed and held to floors.
use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use common::{as_of, groupwatch, synth};
use groupwatch::clusters::{self, Input};
use groupwatch::features::{self, Context, FeatureConfig};
use groupwatch::ingest::{self, ev, method, MembershipEvent, Window, WindowSpec, NONE};
use groupwatch::model::score::Scores;
use groupwatch::schema::{Contract, EntityKind};
use groupwatch::synth::Scale;
use polars::prelude::*;


fn read(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).finish().unwrap()
}

fn run(input: &Path, out: &Path, date: NaiveDate) -> PathBuf {
    let o = groupwatch()
        .args(["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", &date.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "run failed:\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    out.join(format!("run={date}"))
}

fn u64s(df: &DataFrame, c: &str) -> Vec<Option<u64>> {
    df.column(c).unwrap().u64().unwrap().iter().collect()
}

fn strs(df: &DataFrame, c: &str) -> Vec<String> {
    df.column(c).unwrap().str().unwrap().iter().map(|s| s.unwrap_or_default().to_string()).collect()
}

/// cluster id → (kind, id) members.
fn members(run: &Path) -> BTreeMap<u64, BTreeSet<(String, u64)>> {
    let df = read(&run.join("cluster_members.parquet"));
    let mut out: BTreeMap<u64, BTreeSet<(String, u64)>> = BTreeMap::new();
    for ((c, k), e) in u64s(&df, "cluster_id").into_iter().zip(strs(&df, "entity_kind")).zip(u64s(&df, "entity_id")) {
        out.entry(c.unwrap()).or_default().insert((k, e.unwrap()));
    }
    out
}

fn group_set(m: &BTreeSet<(String, u64)>) -> Vec<u64> {
    m.iter().filter(|(k, _)| k == "group").map(|x| x.1).collect()
}

// ---------------------------------------------------------------- constructed window

/// A window with the given groups (member account indices), every member added 10 days
/// before as-of (no lockstep), no other tables.
fn window(groups: &[Vec<u32>], n_accounts: usize) -> Window {
    let spec = WindowSpec { as_of: as_of(), window_days: 30 };
    let now = spec.now_ms();
    let day = ingest::MS_PER_DAY;
    let mut w = Window { now_ms: now, start_ms: spec.start_ms(), ..Default::default() };
    w.accounts.ids = (0..n_accounts as u64).map(|i| 10_000 + i).collect();
    w.accounts.known = vec![true; n_accounts];
    w.accounts.created_ms = vec![Some(now - 400 * day); n_accounts];
    w.accounts.is_business = vec![Some(false); n_accounts];
    w.accounts.about = vec![None; n_accounts];
    w.accounts.photo = vec![None; n_accounts];
    let ng = groups.len();
    w.groups.ids = (0..ng as u64).map(|i| 500 + i).collect();
    w.groups.known = vec![true; ng];
    w.groups.created_ms = vec![Some(now - 200 * day); ng];
    w.groups.creator = groups.iter().map(|m| m[0]).collect();
    w.groups.subject = vec![None; ng];
    w.groups.description = vec![None; ng];
    w.groups.photo = vec![None; ng];
    for (g, ms) in groups.iter().enumerate() {
        for &a in ms {
            w.memberships.push(MembershipEvent {
                group: g as u32,
                ts: now - 10 * day + i64::from(a) * 1000,
                account: a,
                event: ev::JOIN,
                method: method::ADDED,
                link: NONE,
                actor: NONE,
            });
        }
    }
    w.memberships.sort();
    w
}

/// Clusters of `w` with `flagged` groups flagged (score 0.9, the rest 0.1) and no account flagged.
fn clusters_of(w: &Window, flagged: &[bool]) -> Vec<clusters::Cluster> {
    let st = groupwatch::replay::replay(w);
    let ctx = Context::build(w, &st, &FeatureConfig::default());
    let (gtab, atab) = features::tabular(w, &st, &ctx);
    let scores = |t: &features::FeatureTable, entity: EntityKind, hi: &dyn Fn(u32) -> bool| Scores {
        features: Vec::new(),
        entity,
        method: groupwatch::model::score::ScoreMethod::Model,
        ids: t.ids.clone(),
        score: t.rows.iter().map(|&i| if hi(i) { 0.9 } else { 0.1 }).collect(),
        reasons: vec![Vec::new(); t.ids.len()],
    };
    let gs = scores(&gtab, EntityKind::Group, &|g| flagged[g as usize]);
    let as_ = scores(&atab, EntityKind::Account, &|_| false);
    let gflag: Vec<bool> = gtab.rows.iter().map(|&g| flagged[g as usize]).collect();
    let aflag = vec![false; atab.rows.len()];
    let inp = Input {
        w,
        st: &st,
        ctx: &ctx,
        gtab: &gtab,
        atab: &atab,
        gscores: &gs,
        ascores: &as_,
        group_flagged: &gflag,
        account_flagged: &aflag,
        account_threshold: 0.5,
    };
    clusters::build(&inp)
}

#[test]
fn two_cliques_sharing_only_a_large_benign_group_stay_two_clusters() {
    // Cliques A (accounts 0..10 in groups 0, 1, 2) and B (accounts 10..20 in groups 3, 4, 5);
    // a 220-member benign group 6 holds all of them and 200 others.
    let a: Vec<u32> = (0..10).collect();
    let b: Vec<u32> = (10..20).collect();
    let big: Vec<u32> = (0..220).collect();
    let groups = vec![a.clone(), a.clone(), a, b.clone(), b.clone(), b, big];
    let w = window(&groups, 220);
    let sets = |cs: &[clusters::Cluster]| -> BTreeSet<Vec<u32>> { cs.iter().map(|c| c.groups.iter().map(|g| g.0).collect()).collect() };

    let cs = clusters_of(&w, &[true, true, true, true, true, true, false]);
    assert_eq!(sets(&cs), [vec![0, 1, 2], vec![3, 4, 5]].into_iter().collect());
    // The cliques' members are concentrated there (3 of their 4 groups): pulled in only at
    // half the account threshold, which their 0.1 scores miss; nobody is an admin.
    assert!(cs.iter().all(|c| c.accounts.is_empty()), "{:?}", cs.iter().map(|c| c.accounts.len()).collect::<Vec<_>>());

    // Even flagged, the large group ties to neither clique (Jaccard 10/220).
    let cs = clusters_of(&w, &[true; 7]);
    assert_eq!(sets(&cs), [vec![0, 1, 2], vec![3, 4, 5], vec![6]].into_iter().collect());

    // Control: one account more in both cliques is not a tie either (1 shared member < 3),
    // three are.
    let mut groups2 = groups.clone();
    for g in 3..6 {
        groups2[g].extend([0, 1, 2]);
        groups2[g].sort();
    }
    let cs = clusters_of(&window(&groups2, 220), &[true, true, true, true, true, true, false]);
    assert_eq!(sets(&cs), [vec![0, 1, 2, 3, 4, 5]].into_iter().collect());
    // Ranks are 1..n, risks within 0..1, centrality scaled to the cluster's maximum.
    for c in &cs {
        assert!((0.0..=1.0).contains(&c.risk));
        let max = c.groups.iter().map(|g| g.1).chain(c.accounts.iter().map(|a| a.2)).fold(0.0, f64::max);
        assert!((max - 1.0).abs() < 1e-12);
    }
}

// ---------------------------------------------------------------- runs on generated data

fn tiny(seed: u64) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, seed);
    let input = d.path().join("input");
    (d, input)
}

#[test]
fn outputs_conform_ids_agree_and_persist_across_consecutive_dates() {
    let (d, input) = tiny(41);
    let out = d.path().join("runs");
    let before = as_of().pred_opt().unwrap();
    let r1 = run(&input, &out, before);
    let r2 = run(&input, &out, as_of());

    let contract = Contract::get();
    for r in [&r1, &r2] {
        for t in ["clusters", "cluster_members", "cluster_timeline", "cluster_edges", "group_scores", "account_scores"] {
            let df = read(&r.join(format!("{t}.parquet")));
            let problems = contract.table(t).check_output(&df);
            assert!(problems.is_empty(), "{t}: {problems:?}");
        }
        // cluster_id in the scores = cluster_members, entity by entity.
        let m = members(r);
        assert!(!m.is_empty(), "no clusters in {}", r.display());
        let mut from_members: BTreeMap<(String, u64), u64> = BTreeMap::new();
        for (c, es) in &m {
            for e in es {
                assert!(from_members.insert(e.clone(), *c).is_none(), "{e:?} in two clusters");
            }
        }
        let mut from_scores: BTreeMap<(String, u64), u64> = BTreeMap::new();
        for (kind, table, key) in [("group", "group_scores", "group_id"), ("account", "account_scores", "account_id")] {
            let df = read(&r.join(format!("{table}.parquet")));
            for (id, c) in u64s(&df, key).into_iter().zip(u64s(&df, "cluster_id")) {
                if let Some(c) = c {
                    from_scores.insert((kind.to_string(), id.unwrap()), c);
                }
            }
        }
        assert_eq!(from_scores, from_members);
        // clusters.parquet agrees with its members; ranks 1..n; timeline and edges name
        // known clusters only; centrality in 0..1 with a 1 per cluster.
        let cl = read(&r.join("clusters.parquet"));
        let ids: BTreeSet<u64> = u64s(&cl, "cluster_id").into_iter().flatten().collect();
        assert_eq!(ids, m.keys().copied().collect());
        let mut ranks: Vec<u64> = u64s(&cl, "rank").into_iter().flatten().collect();
        ranks.sort();
        assert_eq!(ranks, (1..=cl.height() as u64).collect::<Vec<_>>());
        for (i, c) in u64s(&cl, "cluster_id").into_iter().enumerate() {
            let es = &m[&c.unwrap()];
            assert_eq!(u64s(&cl, "n_groups")[i].unwrap() as usize, es.iter().filter(|e| e.0 == "group").count());
            assert_eq!(u64s(&cl, "n_accounts")[i].unwrap() as usize, es.iter().filter(|e| e.0 == "account").count());
        }
        for t in ["cluster_timeline", "cluster_edges"] {
            let df = read(&r.join(format!("{t}.parquet")));
            assert!(u64s(&df, "cluster_id").into_iter().flatten().all(|c| ids.contains(&c)), "{t}");
        }
        let edges = read(&r.join("cluster_edges.parquet"));
        let mut per: BTreeMap<u64, usize> = BTreeMap::new();
        u64s(&edges, "cluster_id").into_iter().flatten().for_each(|c| *per.entry(c).or_default() += 1);
        assert!(per.values().all(|&n| n <= clusters::MAX_EDGES_PER_CLUSTER));
        let cm = read(&r.join("cluster_members.parquet"));
        let cent: Vec<f64> = cm.column("centrality").unwrap().f64().unwrap().iter().flatten().collect();
        assert!(cent.iter().all(|c| (0.0..=1.0).contains(c)));
        let mut top: BTreeMap<u64, f64> = BTreeMap::new();
        for (c, x) in u64s(&cm, "cluster_id").into_iter().zip(&cent) {
            let t = top.entry(c.unwrap()).or_default();
            *t = t.max(*x);
        }
        assert!(top.values().all(|&t| (t - 1.0).abs() < 1e-9), "{top:?}");
    }

    // Stability: a cluster of the second run that reuses an id of the first overlaps it by
    // at least the matching threshold; persisting networks keep their ids; new ids carry the
    // second run's date.
    let (m1, m2) = (members(&r1), members(&r2));
    let mut kept = 0;
    for (id, es) in &m2 {
        match m1.get(id) {
            Some(old) => {
                kept += 1;
                assert!(clusters::jaccard(&group_set(es), &group_set(old)) >= clusters::MATCH_MIN_JACCARD, "cluster {id}");
            }
            None => assert_eq!(id / 1_000_000, 20261124, "fresh id {id} is not from the run date"),
        }
    }
    // Every first-run cluster whose groups are (nearly) all still clustered together kept its id.
    for (id, old) in &m1 {
        let og = group_set(old);
        let best = m2.iter().map(|(nid, es)| (clusters::jaccard(&og, &group_set(es)), *nid)).fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
        if best.0 >= 0.9 {
            assert_eq!(best.1, *id, "a persisting network lost its id");
        }
    }
    assert!(kept > 0, "no cluster kept its id across consecutive dates");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(r2.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["networks"]["ids_kept_from_previous_run"].as_u64().unwrap() as usize, kept);
    assert!(manifest["networks"]["previous_run"].as_str().unwrap().ends_with(&format!("run={before}")));

    // explain: a cluster, a group, an account; unknown ids are bad input.
    let top = u64s(&read(&r2.join("clusters.parquet")), "cluster_id")[0].unwrap();
    let explain = |args: &[&str]| groupwatch().args(["explain", "--run", r2.to_str().unwrap()]).args(args).output().unwrap();
    let o = explain(&["--cluster", &top.to_string()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for needle in ["rank 1 of", "risk", "top reasons", "timeline", "key accounts by centrality", "hash-bank matches"] {
        assert!(text.contains(needle), "cluster explain lacks {needle:?}:\n{text}");
    }
    let g = group_set(&m2[&top])[0];
    let o = explain(&["--group", &g.to_string()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains(&format!("group {g}: score")) && text.contains(&format!("in cluster {top}")), "{text}");
    let acc = read(&r2.join("account_scores.parquet"));
    let a = u64s(&acc, "account_id")[0].unwrap();
    let o = explain(&["--account", &a.to_string()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains(&format!("account {a}: score")) && text.contains("reasons"), "{text}");
    for args in [["--cluster", "7"], ["--group", "18446744073709551615"], ["--account", "3"]] {
        let o = explain(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is not in this run"), "{args:?}: {err}");
    }
    let o = groupwatch().args(["explain", "--run", d.path().join("nope").to_str().unwrap(), "--cluster", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));

    // The sweep counts networks per threshold: never more than the run's clusters, and
    // non-increasing in the threshold.
    let o = groupwatch().args(["sweep", "--run", r2.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sw = read(&r2.join("sweep.parquet"));
    let nets: Vec<u64> = sw.column("networks").unwrap().u64().unwrap().iter().flatten().collect();
    assert!(nets.windows(2).all(|p| p[0] >= p[1]));
    assert!(nets[0] as usize <= m2.len() && nets[0] > 0);
}

/// Writes `review_decisions.parquet` into the input folder.
fn write_decisions(input: &Path, rows: &[(&str, u64, &str, i64)]) {
    let df = df!(
        "entity_kind" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "entity_id" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "decision" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "reviewer" => rows.iter().map(|_| "reviewer-7").collect::<Vec<_>>(),
        "ts" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    )
    .unwrap();
    let mut df = df.lazy().with_column(col("ts").cast(DataType::Datetime(TimeUnit::Milliseconds, None))).collect().unwrap();
    ParquetWriter::new(std::fs::File::create(input.join("review_decisions.parquet")).unwrap()).finish(&mut df).unwrap();
}

/// (kind, id) → (label, ts ms) from a run's labels.parquet.
fn labels(run: &Path) -> BTreeMap<(String, u64), (String, i64)> {
    let df = read(&run.join("labels.parquet"));
    let ts: Vec<i64> = df.column("ts").unwrap().cast(&DataType::Int64).unwrap().i64().unwrap().iter().map(|t| t.unwrap()).collect();
    strs(&df, "entity_kind")
        .into_iter()
        .zip(u64s(&df, "entity_id"))
        .zip(strs(&df, "label"))
        .zip(ts)
        .map(|(((k, i), l), t)| ((k, i.unwrap()), (l, t)))
        .collect()
}

#[test]
fn review_decisions_become_labels() {
    let (d, input) = tiny(42);
    let out = d.path().join("runs");
    let before = as_of().pred_opt().unwrap();
    let r1 = run(&input, &out, before);
    let l1 = labels(&r1);
    let m1 = members(&r1);
    // A cluster of the first run, a group outside it with no label, an account labelled
    // violating (dismissed now), and a cluster id no run knows.
    let (&cid, cm) = m1.iter().next().expect("a cluster in the first run");
    let cgroups = group_set(cm);
    let gs = read(&r1.join("group_scores.parquet"));
    let free_group = u64s(&gs, "group_id").into_iter().flatten().find(|g| !l1.contains_key(&("group".to_string(), *g)) && !cgroups.contains(g)).unwrap();
    let violating_account = l1.iter().find(|(k, v)| k.0 == "account" && v.0 == "violating").map(|(k, _)| k.1).unwrap();
    let ts = WindowSpec { as_of: as_of(), window_days: 30 }.now_ms() - 3_600_000;
    write_decisions(
        &input,
        &[("group", free_group, "confirmed", ts), ("account", violating_account, "dismissed", ts), ("cluster", cid, "confirmed", ts), ("cluster", 99, "dismissed", ts)],
    );
    let o = groupwatch().args(["validate", "--input", input.to_str().unwrap(), "--quarantine", d.path().join("q.parquet").to_str().unwrap()]).output().unwrap();
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && report.contains("review_decisions"), "the validator does not see the table:\n{report}");

    let r2 = run(&input, &out, as_of());
    let l2 = labels(&r2);
    assert_eq!(l2[&("group".to_string(), free_group)], ("violating".to_string(), ts));
    assert_eq!(l2[&("account".to_string(), violating_account)], ("benign".to_string(), ts));
    for g in &cgroups {
        assert_eq!(l2[&("group".to_string(), *g)], ("violating".to_string(), ts), "group {g} of cluster {cid}");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(r2.join("manifest.json")).unwrap()).unwrap();
    let applied = &manifest["review_decisions"]["applied"];
    assert_eq!(applied["decisions"], 4);
    assert_eq!(applied["unresolved_clusters"], 1);
    assert_eq!(applied["group_labels_from_clusters"].as_u64().unwrap() as usize, cgroups.len());
    assert!(manifest["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("review decision(s) on clusters")));
    // Training saw them: violating group labels grew by the newly confirmed groups.
    let model1: serde_json::Value = serde_json::from_slice(&std::fs::read(r1.join("model.json")).unwrap()).unwrap();
    let model2: serde_json::Value = serde_json::from_slice(&std::fs::read(r2.join("model.json")).unwrap()).unwrap();
    let newly = std::iter::once(free_group).chain(cgroups.iter().copied()).filter(|g| l1.get(&("group".to_string(), *g)).is_none_or(|l| l.0 != "violating")).count();
    let count = |m: &serde_json::Value| m["group"]["labels_violating"].as_u64();
    if let (Some(a), Some(b)) = (count(&model1), count(&model2)) {
        assert!(b >= a + newly as u64 - 1, "violating group labels {a} -> {b}, {newly} newly confirmed");
    }
    // `train` and `features` prepare the window as `run` does: the same decisions apply (the
    // cluster ones need run folders, so both are counted as not applied there).
    let (model, feats) = (d.path().join("model.json"), d.path().join("features"));
    let day = as_of().to_string();
    for args in [
        vec!["train", "--input", input.to_str().unwrap(), "--model-out", model.to_str().unwrap(), "--as-of", &day, "--min-positives", "5"],
        vec!["features", "--input", input.to_str().unwrap(), "--out", feats.to_str().unwrap(), "--as-of", &day],
    ] {
        let o = groupwatch().args(&args).output().unwrap();
        assert!(o.status.success(), "{}: {}", args[0], String::from_utf8_lossy(&o.stderr));
    }
    let evaluation: serde_json::Value = serde_json::from_slice(&std::fs::read(d.path().join("model.json.evaluation.json")).unwrap()).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(feats.join("features.json")).unwrap()).unwrap();
    for applied in [&evaluation["review_decisions"], &summary["review_decisions"]] {
        assert_eq!((applied["decisions"].as_u64(), applied["group_labels"].as_u64(), applied["account_labels"].as_u64()), (Some(4), Some(1), Some(1)), "{applied}");
        assert_eq!(applied["unresolved_clusters"], 2, "{applied}");
    }
}

// ---------------------------------------------------------------- quality on small data

#[test]
fn planted_networks_are_recovered_on_small_data() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Small, None, 1);
    let r = run(&d.path().join("input"), &d.path().join("runs"), as_of());
    let tg = read(&d.path().join("truth/groups.parquet"));
    let ta = read(&d.path().join("truth/accounts.parquet"));
    // Planted entities per network, and which networks are camouflaged.
    let mut planted: BTreeMap<u64, BTreeSet<(String, u64)>> = BTreeMap::new();
    let mut camo: BTreeMap<u64, bool> = BTreeMap::new();
    let camo_g: Vec<bool> = tg.column("camouflaged").unwrap().bool().unwrap().iter().map(|b| b.unwrap()).collect();
    for ((g, n), c) in u64s(&tg, "group_id").into_iter().zip(u64s(&tg, "network")).zip(camo_g) {
        if let Some(n) = n {
            planted.entry(n).or_default().insert(("group".into(), g.unwrap()));
            camo.insert(n, c);
        }
    }
    for (a, n) in u64s(&ta, "account_id").into_iter().zip(u64s(&ta, "network")) {
        planted.entry(n.unwrap()).or_default().insert(("account".into(), a.unwrap()));
    }
    let mut network_of: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for (n, es) in &planted {
        for e in es {
            network_of.insert(e.clone(), *n);
        }
    }
    let m = members(&r);
    println!("network camouflaged groups accounts | best cluster: size purity completeness group_completeness");
    let mut recovered = [0usize; 2];
    let mut total = [0usize; 2];
    for (n, es) in &planted {
        let c = usize::from(camo[n]);
        total[c] += 1;
        let best = m.iter().map(|(cid, ms)| (ms.intersection(es).count(), *cid)).max().filter(|b| b.0 > 0);
        let ng = es.iter().filter(|e| e.0 == "group").count();
        let Some((hit, cid)) = best else {
            println!("{n} {} {ng} {} | none", camo[n], es.len() - ng);
            continue;
        };
        let ms = &m[&cid];
        let purity = hit as f64 / ms.len() as f64;
        let completeness = hit as f64 / es.len() as f64;
        let ghit = ms.iter().filter(|e| e.0 == "group" && es.contains(e)).count();
        let gcomp = ghit as f64 / ng as f64;
        println!("{n} {} {ng} {} | {} {purity:.2} {completeness:.2} {gcomp:.2}", camo[n], es.len() - ng, ms.len());
        if gcomp >= 0.5 && purity >= 0.5 {
            recovered[c] += 1;
        }
    }
    // Benign entities in violating clusters (clusters with a planted group).
    let (mut benign, mut in_violating) = (0usize, 0usize);
    for ms in m.values() {
        if ms.iter().any(|e| e.0 == "group" && network_of.contains_key(e)) {
            in_violating += ms.len();
            benign += ms.iter().filter(|e| !network_of.contains_key(*e)).count();
        }
    }
    let share = benign as f64 / in_violating.max(1) as f64;
    println!(
        "recovered as one cluster: {}/{} plain, {}/{} camouflaged; benign entities in violating clusters: {benign}/{in_violating} ({:.1} %); clusters: {}",
        recovered[0], total[0], recovered[1], total[1], share * 100.0, m.len()
    );
    // Floors near what is measured (7 Dec 2026: 6/6 plain, 1/2 camouflaged, 5.5 % benign), so
    // a real regression fails: at most one plain network missed, a camouflaged one found, and
    // violating clusters at most 15 % benign.
    assert!(recovered[0] * 6 >= total[0] * 5, "{}/{} plain networks recovered", recovered[0], total[0]);
    assert!(total[1] == 0 || recovered[1] >= 1, "no camouflaged network recovered of {}", total[1]);
    assert!(share <= 0.15, "violating clusters are {:.1} % benign entities", share * 100.0);
}
