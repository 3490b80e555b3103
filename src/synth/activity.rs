//! Accounts, the hash bank, account-side activity (1:1 forwarding, reports, blocks) and the
//! labels table.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::groups::GroupStats;
use super::networks::{account_stream, Role};
use super::sink::{AccountRows, BlockRows, Counts, ForwardRows, LabelRows, Layout, Ms, ReportRows, Sink};
use super::vocab::{country, phrase, Register};
use super::{
    exp, lognormal, object_id, pdq_hex, perturb_pdq, poisson, random_pdq, rng_for, Stream, World,
    MS_PER_DAY,
};
use crate::io::{col, frame, write_parquet_staged as write_parquet};

/// Writes `hash_bank.parquet` (a single-file table) and returns the bank's hashes.
pub(crate) fn write_hash_bank(w: &World, input: &Path, counts: &mut Counts) -> anyhow::Result<Vec<[u8; 32]>> {
    let n = w.plan.bank_size;
    let mut hashes = Vec::with_capacity(n);
    let (mut pdq, mut bank, mut added) = (vec![], vec![], vec![]);
    for i in 0..n {
        let mut rng = rng_for(w.seed, Stream::HashBank, i as u64);
        let h = super::random_pdq(&mut rng);
        pdq.push(pdq_hex(&h));
        bank.push(if rng.gen_bool(0.6) { "bank_a" } else { "bank_b" });
        added.push(rng.gen_bool(0.9).then(|| w.end_ms - rng.gen_range(MS_PER_DAY..1825 * MS_PER_DAY)));
        hashes.push(h);
    }
    let mut df = frame(vec![col::strs("pdq", pdq), col::static_strs("bank", bank), col::opt_times("added_at", added)?])?;
    write_parquet(&mut df, &input.join("hash_bank.parquet"))?;
    counts.rows.insert("hash_bank".into(), n as u64);
    counts.files.insert("hash_bank".into(), 1);
    Ok(hashes)
}

/// Fills `w.account_created` and writes the accounts table.
pub(crate) fn write_accounts(w: &mut World, bank: &[[u8; 32]], input: &Path, counts: &mut Counts) -> anyhow::Result<()> {
    w.account_created = creation_times(w, |i| w.plan.accounts.get(&i).and_then(|a| a.created_ms));
    let w = &*w;
    write_account_table(w, input, counts, |i, rows| account_row(w, bank, i, rows))
}

/// Every account's creation time: the one `planned` gives it, else its base creation time.
pub(crate) fn creation_times(w: &World, planned: impl Fn(u32) -> Option<i64> + Sync) -> Vec<i64> {
    (0..w.n_accounts as u32)
        .into_par_iter()
        .map(|i| planned(i).unwrap_or_else(|| account_stream(w.seed, i, w.end_ms).0))
        .collect()
}

/// Writes the accounts table in fixed chunks (in parallel, in index order), `row` once per
/// account.
pub(crate) fn write_account_table(
    w: &World,
    input: &Path,
    counts: &mut Counts,
    row: impl Fn(u32, &mut AccountRows) + Sync,
) -> anyhow::Result<()> {
    let mut sink = Sink::<AccountRows>::new(input, "a", Layout::Parts, 1_000_000);
    const CHUNK: usize = 50_000;
    let starts: Vec<usize> = (0..w.n_accounts).step_by(CHUNK).collect();
    for batch in starts.chunks(20) {
        let mut outs: Vec<AccountRows> = batch
            .par_iter()
            .map(|&s| {
                let mut rows = AccountRows::default();
                for i in s..(s + CHUNK).min(w.n_accounts) {
                    row(i as u32, &mut rows);
                }
                rows
            })
            .collect();
        for rows in &mut outs {
            sink.extend(rows)?;
        }
    }
    sink.finish(counts)
}

fn account_row(w: &World, bank: &[[u8; 32]], i: u32, rows: &mut AccountRows) {
    let (_, mut rng) = account_stream(w.seed, i, w.end_ms);
    let planned = w.plan.accounts.get(&i);
    let country = rng.gen_bool(0.97).then(|| country(&mut rng));
    let is_business = if rng.gen_bool(0.1) { None } else { Some(rng.gen_bool(0.03)) };
    let violating_text = planned.is_some_and(|p| p.violating_text);
    let about = if violating_text {
        Some(phrase(&mut rng, Register::Violating, 1, 6))
    } else {
        rng.gen_bool(0.45).then(|| phrase(&mut rng, Register::Benign, 1, 6))
    };
    let photo = match planned {
        Some(p) if p.bank_photo.is_some() => {
            let (b, bits) = p.bank_photo.expect("checked");
            Some(pdq_hex(&perturb_pdq(&bank[b % bank.len()], bits, &mut rng)))
        }
        Some(p) if p.no_photo => None,
        _ if rng.gen_bool(0.001) => {
            // A near miss: similar to a bank entry but beyond the matching threshold.
            let b = rng.gen_range(0..bank.len());
            Some(pdq_hex(&perturb_pdq(&bank[b], rng.gen_range(40..=60), &mut rng)))
        }
        _ => rng.gen_bool(0.75).then(|| pdq_hex(&random_pdq(&mut rng))),
    };
    rows.push(w.account_id(i), Ms(w.account_created[i as usize]), country, is_business, about, photo);
}

const OBJ_ACTION_1TO1: u64 = 6;
const OBJ_MEDIA_1TO1: u64 = 7;
const OBJ_VIRAL: u64 = 4;

fn neighbour(rng: &mut impl Rng, n: usize, i: u32) -> u32 {
    if rng.gen_bool(0.8) {
        let off: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng);
        ((i as i64 + (off * 200.0) as i64).rem_euclid(n as i64)) as u32
    } else {
        rng.gen_range(0..n as u32)
    }
}

/// Account-side activity in the window: 1:1 forwarding (sized so that about 90 % of all
/// forward rows go to 1:1 chats, as on the platform), stray reports and blocks.
pub(crate) fn write_account_activity(w: &World, stats: &GroupStats, input: &Path, counts: &mut Counts) -> anyhow::Result<()> {
    let one_to_one_so_far = stats.forward_rows - stats.group_forward_rows;
    let wanted = (stats.group_forward_rows * 9).saturating_sub(one_to_one_so_far);
    // Actions average about 1.3 destinations.
    let actions_per_account = wanted as f64 / 1.3 / w.n_accounts as f64;
    let viral_pool = (w.n_accounts as u64 / 20).max(100);
    let budget = 4_000_000;
    let mut forwards = Sink::<ForwardRows>::new(input, "a", Layout::DayPartitions, budget);
    let mut reports = Sink::<ReportRows>::new(input, "a", Layout::DayPartitions, budget);
    let mut blocks = Sink::<BlockRows>::new(input, "a", Layout::DayPartitions, budget);
    const CHUNK: usize = 20_000;
    let starts: Vec<usize> = (0..w.n_accounts).step_by(CHUNK).collect();
    for batch in starts.chunks(20) {
        let mut outs: Vec<(ForwardRows, ReportRows, BlockRows)> = batch
            .par_iter()
            .map(|&s| {
                let mut out = Default::default();
                for i in s..(s + CHUNK).min(w.n_accounts) {
                    account_activity(w, i as u32, actions_per_account, viral_pool, &mut out);
                }
                out
            })
            .collect();
        for (f, r, b) in &mut outs {
            forwards.extend(f)?;
            reports.extend(r)?;
            blocks.extend(b)?;
        }
    }
    forwards.finish(counts)?;
    reports.finish(counts)?;
    blocks.finish(counts)
}

fn account_activity(
    w: &World,
    i: u32,
    actions_per_account: f64,
    viral_pool: u64,
    (fwd, rep, blk): &mut (ForwardRows, ReportRows, BlockRows),
) {
    let mut rng = rng_for(w.seed, Stream::Activity, i as u64);
    let lo = w.account_created[i as usize].max(w.window_start_ms);
    if lo >= w.end_ms {
        return;
    }
    let me = w.account_id(i);
    // Activity is heavy-tailed: a lognormal weight with mean 1.
    let weight = lognormal(&mut rng, 1.0, 1.0) / (0.5f64).exp();
    for k in 0..poisson(&mut rng, actions_per_account * weight) as u64 {
        let ts = rng.gen_range(lo..w.end_ms);
        let media: &'static str = [("text", 35), ("image", 25), ("video", 12), ("link", 10), ("sticker", 10), ("audio", 5), ("document", 3)]
            .choose_weighted(&mut rng, |m| m.1)
            .expect("weights")
            .0;
        let viral = rng.gen_bool(0.3);
        let fp = (media != "text" && media != "link").then(|| {
            if viral {
                let u: f64 = rng.gen();
                object_id(w.seed, OBJ_VIRAL, 0, ((viral_pool as f64).powf(u) as u64).min(viral_pool - 1))
            } else {
                object_id(w.seed, OBJ_MEDIA_1TO1, me, k)
            }
        });
        let freq = viral && rng.gen_bool(0.3);
        let n: u8 = if freq { 1 } else { [(1u8, 80), (2, 10), (3, 5), (4, 3), (5, 2)].choose_weighted(&mut rng, |x| x.1).expect("weights").0 };
        let action = object_id(w.seed, OBJ_ACTION_1TO1, me, k);
        let mut dsts: Vec<u32> = Vec::with_capacity(n as usize);
        while dsts.len() < n as usize {
            let to = neighbour(&mut rng, w.n_accounts, i);
            if to != i && !dsts.contains(&to) {
                dsts.push(to);
            }
        }
        for to in dsts {
            fwd.push(Ms(ts), me, None, None, Some(w.account_id(to)), media, fp, freq, Some(action), n);
        }
    }
    for _ in 0..poisson(&mut rng, 0.003) {
        let reason: &'static str = [("spam", 45), ("scam", 20), ("harassment", 20), ("other", 12), ("child_safety", 3)]
            .choose_weighted(&mut rng, |x| x.1)
            .expect("weights")
            .0;
        let target = w.account_id(neighbour(&mut rng, w.n_accounts, i));
        rep.push(Ms(rng.gen_range(lo..w.end_ms)), me, "account", target, reason);
    }
    for _ in 0..poisson(&mut rng, 0.01) {
        let known = rng.gen_bool(0.6);
        let other = if known { neighbour(&mut rng, w.n_accounts, i) } else { rng.gen_range(0..w.n_accounts as u32) };
        if other != i {
            blk.push(Ms(rng.gen_range(lo..w.end_ms)), me, w.account_id(other), !known);
        }
    }
}

/// The labels table: part of the truth, as enforcement and review would have revealed it.
///
/// - About half of the planted groups (a third of camouflaged ones) carry an enforcement
///   label, dated when they were taken down or at some point in their life; 35 % of operators
///   and distributors and 5 % of consumers likewise.
/// - Benign review outcomes, three for every violating label, mostly on look-alike groups.
/// - Upheld appeals: a few benign entities enforced in error and reinstated later.
/// - A few planted groups reviewed and (wrongly) found benign: labels are not the truth.
pub(crate) fn write_labels(w: &World, stats: &GroupStats, input: &Path, counts: &mut Counts) -> anyhow::Result<()> {
    let mut rng = rng_for(w.seed, Stream::Labels, 0);
    let mut rows = LabelRows::default();
    let n_benign_groups = w.n_groups;
    let mut violating_groups = 0usize;
    for (pi, pg) in w.plan.groups.iter().enumerate() {
        let gid = w.group_id((n_benign_groups + pi) as u32);
        let camo = w.plan.network(pg).camouflaged;
        let end = pg.taken_down_ms.unwrap_or(w.end_ms);
        if rng.gen_bool(if camo { 0.35 } else { 0.5 }) {
            let ts = pg.taken_down_ms.unwrap_or_else(|| rng.gen_range(pg.created_ms + 3 * MS_PER_DAY..end.max(pg.created_ms + 3 * MS_PER_DAY + 1)));
            rows.push("group", gid, "violating", Ms(ts.min(w.end_ms - 1)), "enforcement");
            violating_groups += 1;
        } else if rng.gen_bool(0.05) {
            rows.push("group", gid, "benign", Ms(rng.gen_range(pg.created_ms..end)), "review");
        }
    }
    let mut violating_accounts = 0usize;
    for (&idx, ap) in &w.plan.accounts {
        let p = if ap.role == Role::Consumer { 0.05 } else { 0.35 };
        if rng.gen_bool(p) {
            let net = &w.plan.networks[ap.network as usize];
            let lo = net.start_ms.max(w.account_created[idx as usize]) + MS_PER_DAY;
            let ts = rng.gen_range(lo.min(w.end_ms - 2)..w.end_ms - 1);
            rows.push("account", w.account_id(idx), "violating", Ms(ts), "enforcement");
            violating_accounts += 1;
            if rng.gen_bool(0.1) {
                let t2 = (ts + rng.gen_range(MS_PER_DAY..20 * MS_PER_DAY)).min(w.end_ms - 1);
                rows.push("account", w.account_id(idx), "violating", Ms(t2), "appeal");
            }
        }
    }
    // Benign reviews, biased towards look-alikes: what reviewers are shown in practice.
    let look_alikes: Vec<u32> = (0..n_benign_groups as u32)
        .filter(|&g| matches!(stats.kinds[g as usize], "event" | "spam_ring" | "broadcast" | "marketplace"))
        .collect();
    let review_ts = |rng: &mut ChaCha8Rng, created: i64| {
        let lo = created + MS_PER_DAY;
        if lo >= w.end_ms - 1 { w.end_ms - 1 } else { rng.gen_range(lo..w.end_ms) }
    };
    for _ in 0..3 * violating_groups.max(1) {
        let g = if !look_alikes.is_empty() && rng.gen_bool(0.5) {
            *look_alikes.choose(&mut rng).expect("non-empty")
        } else {
            rng.gen_range(0..n_benign_groups as u32)
        };
        let ts = review_ts(&mut rng, stats.created[g as usize]);
        rows.push("group", w.group_id(g), "benign", Ms(ts), "review");
    }
    for _ in 0..3 * violating_accounts.max(1) {
        let a = rng.gen_range(0..w.n_accounts as u32);
        if w.plan.accounts.contains_key(&a) {
            continue;
        }
        let ts = review_ts(&mut rng, w.account_created[a as usize]);
        rows.push("account", w.account_id(a), "benign", Ms(ts), "review");
    }
    // Upheld appeals: enforced in error, reinstated later.
    for k in 0..(violating_groups + violating_accounts).div_ceil(20).max(1) {
        let (kind, id, created) = if k % 2 == 0 {
            let g = rng.gen_range(0..n_benign_groups as u32);
            ("group", w.group_id(g), stats.created[g as usize])
        } else {
            let a = rng.gen_range(0..w.n_accounts as u32);
            if w.plan.accounts.contains_key(&a) {
                continue;
            }
            ("account", w.account_id(a), w.account_created[a as usize])
        };
        let t1 = review_ts(&mut rng, created);
        let t2 = (t1 + exp(&mut rng, 10.0 * MS_PER_DAY as f64) as i64 + 1).min(w.end_ms - 1).max(t1);
        rows.push(kind, id, "violating", Ms(t1), "enforcement");
        rows.push(kind, id, "benign", Ms(t2), "appeal");
    }
    let mut sink = Sink::<LabelRows>::new(input, "a", Layout::DayPartitions, usize::MAX);
    sink.extend(&mut rows)?;
    sink.finish(counts)
}
