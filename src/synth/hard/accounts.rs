//! Accounts, labels and ground truth of the `hard` world.

use std::collections::HashSet;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::super::activity::{creation_times, write_account_table};
use super::super::networks::{Truth, TruthNetwork};
use super::super::sink::{AccountRows, Counts, LabelRows, Layout, Ms, Sink};
use super::super::vocab::{country, mixed_phrase};
use super::super::{exp, pdq_hex, perturb_pdq, random_pdq, rng_for, Stream, World, MS_PER_DAY, MS_PER_HOUR};
use super::group::Suspect;
use super::plan::Plan;
use super::units::UnitStats;

/// Fills `w.account_created` and writes the accounts table.
pub(crate) fn write_accounts(w: &mut World, plan: &Plan, bank: &[[u8; 32]], input: &Path, counts: &mut Counts) -> anyhow::Result<()> {
    w.account_created = creation_times(w, |i| plan.accounts.get(&i).and_then(|a| a.created_ms));
    let w = &*w;
    write_account_table(w, input, counts, |i, rows| account_row(w, plan, bank, i, rows))
}

/// One account. Photos depend on age alone (new accounts often have none, planted or not);
/// a few ordinary accounts use a picture the hash bank holds by mistake, and some use coded
/// words in their about text.
fn account_row(w: &World, plan: &Plan, bank: &[[u8; 32]], i: u32, rows: &mut AccountRows) {
    let mut rng = rng_for(w.seed, Stream::HardAccount, i as u64);
    let planted = plan.accounts.get(&i);
    let created = w.account_created[i as usize];
    let country = rng.gen_bool(0.97).then(|| country(&mut rng));
    let is_business = if rng.gen_bool(0.1) { None } else { Some(rng.gen_bool(0.03)) };
    let about = match planted.filter(|p| p.coded_about > 0.0) {
        Some(p) => Some(mixed_phrase(&mut rng, p.coded_about, 1, 6)),
        None => rng.gen_bool(0.45).then(|| {
            let coded = if rng.gen_bool(0.02) { rng.gen_range(0.2..0.5) } else { 0.0 };
            mixed_phrase(&mut rng, coded, 1, 6)
        }),
    };
    let p_photo = if w.end_ms - created < 30 * MS_PER_DAY { 0.45 } else { 0.75 };
    let photo = if let Some((b, bits)) = planted.and_then(|p| p.bank_photo) {
        Some(pdq_hex(&perturb_pdq(&bank[b % bank.len()], bits, &mut rng)))
    } else if planted.is_none() && rng.gen_bool(0.0002) {
        // A false match: an ordinary picture that is in the bank by mistake.
        let b = rng.gen_range(0..bank.len());
        Some(pdq_hex(&perturb_pdq(&bank[b], rng.gen_range(5..=31), &mut rng)))
    } else if rng.gen_bool(0.001) {
        // A near miss: similar to a bank entry but beyond the matching threshold.
        let b = rng.gen_range(0..bank.len());
        Some(pdq_hex(&perturb_pdq(&bank[b], rng.gen_range(40..=60), &mut rng)))
    } else {
        rng.gen_bool(p_photo).then(|| pdq_hex(&random_pdq(&mut rng)))
    };
    rows.push(w.account_id(i), Ms(created), country, is_business, about, photo);
}

/// What the labels revealed.
pub(crate) struct LabelSummary {
    /// Per network: whether any of its groups or accounts carries a violating label.
    pub labelled: Vec<bool>,
    /// Violating labels on groups.
    pub violating_groups: usize,
}

/// The labels table, as enforcement and review would have revealed the truth.
///
/// - Only networks planned as labelled (about half) carry labels: 60–100 % of their groups
///   (every taken-down group), 10–40 % of their core members and distributors, 2 % of their
///   consumers; a few of their groups were reviewed and wrongly found benign. The other
///   networks carry no label at all.
/// - Benign review outcomes, three for every violating label: half on benign entities that
///   drew child-safety reports, the rest on look-alike groups and random entities.
/// - Upheld appeals: benign entities enforced in error (mostly reported decoys) and
///   reinstated later.
pub(crate) fn write_labels(w: &World, plan: &Plan, stats: &UnitStats, input: &Path, counts: &mut Counts) -> anyhow::Result<LabelSummary> {
    let mut rng = rng_for(w.seed, Stream::Labels, 0);
    let mut rows = LabelRows::default();
    let last = w.end_ms - 1;
    let mut labelled = vec![false; plan.networks.len()];
    let (mut violating_groups, mut violating_accounts) = (0usize, 0usize);
    let between = |rng: &mut ChaCha8Rng, lo: i64, hi: i64| if lo >= hi { hi.min(last) } else { rng.gen_range(lo..hi) };
    for net in plan.networks.iter().filter(|n| n.labelled) {
        let r_g = rng.gen_range(0.6..1.0);
        let r_a = rng.gen_range(0.1..0.4);
        let mut any = false;
        for g in &net.groups {
            let gid = w.group_id(g.slot);
            let created = stats.created[g.slot as usize];
            let end = g.taken_down_ms.unwrap_or(w.end_ms).min(last);
            if g.taken_down_ms.is_some() || rng.gen_bool(r_g) {
                let ts = g.taken_down_ms.unwrap_or_else(|| between(&mut rng, created + 3 * MS_PER_DAY, end));
                rows.push("group", gid, "violating", Ms(ts.min(last)), "enforcement");
                violating_groups += 1;
                any = true;
            } else if rng.gen_bool(0.05) {
                rows.push("group", gid, "benign", Ms(between(&mut rng, created + MS_PER_HOUR, end)), "review");
            }
        }
        let members = net.core.iter().chain(&net.distributors).map(|&a| (a, r_a)).chain(net.consumers.iter().map(|&a| (a, 0.02)));
        for (a, p) in members {
            if !rng.gen_bool(p) {
                continue;
            }
            let lo = net.start_ms.max(w.account_created[a as usize]) + MS_PER_DAY;
            let ts = between(&mut rng, lo, last);
            rows.push("account", w.account_id(a), "violating", Ms(ts), "enforcement");
            violating_accounts += 1;
            any = true;
            if rng.gen_bool(0.1) {
                let t2 = (ts + rng.gen_range(MS_PER_DAY..20 * MS_PER_DAY)).min(last);
                rows.push("account", w.account_id(a), "violating", Ms(t2), "appeal");
            }
        }
        if !any {
            let g = net.groups.choose(&mut rng).expect("a network has groups");
            let created = stats.created[g.slot as usize];
            let ts = between(&mut rng, created + 3 * MS_PER_DAY, g.taken_down_ms.unwrap_or(w.end_ms).min(last));
            rows.push("group", w.group_id(g.slot), "violating", Ms(ts), "enforcement");
            violating_groups += 1;
        }
        labelled[net.id as usize] = true;
    }

    // Benign entities reviewers looked at: reported decoys first, then look-alikes and
    // random entities. Planted entities never get these (new networks stay unlabelled).
    let benign_slot = |s: u32| stats.kinds[s as usize] != "violating";
    let mut group_suspects: Vec<(u32, i64)> = Vec::new();
    let mut account_suspects: Vec<(u32, i64)> = Vec::new();
    let (mut gs, mut as_) = (HashSet::new(), HashSet::new());
    for s in &stats.suspects {
        match *s {
            Suspect::Group(g, t) if benign_slot(g) && gs.insert(g) => group_suspects.push((g, t)),
            Suspect::Account(a, t) if !plan.accounts.contains_key(&a) && as_.insert(a) => account_suspects.push((a, t)),
            _ => {}
        }
    }
    group_suspects.shuffle(&mut rng);
    account_suspects.shuffle(&mut rng);
    let n_slots = stats.kinds.len() as u32;
    let random_group = |rng: &mut ChaCha8Rng, look_alike: bool| -> u32 {
        let mut g = rng.gen_range(0..n_slots);
        for _ in 0..50 {
            let k = stats.kinds[g as usize];
            let ok = k != "violating" && (!look_alike || matches!(k, "event" | "broadcast" | "marketplace" | "spam_ring"));
            if ok {
                break;
            }
            g = rng.gen_range(0..n_slots);
        }
        g
    };
    let random_account = |rng: &mut ChaCha8Rng| -> u32 {
        loop {
            let a = rng.gen_range(0..w.n_accounts as u32);
            if !plan.accounts.contains_key(&a) {
                return a;
            }
        }
    };
    let after = |rng: &mut ChaCha8Rng, t: i64| between(rng, t + MS_PER_HOUR, (t + 14 * MS_PER_DAY).min(last));
    let mut next_group_suspect = group_suspects.into_iter();
    let mut next_account_suspect = account_suspects.into_iter();
    for _ in 0..3 * violating_groups.max(1) {
        let r: f64 = rng.gen();
        let (g, ts) = match next_group_suspect.next().filter(|_| r < 0.5) {
            Some((g, t)) => (g, after(&mut rng, t)),
            None => {
                let g = random_group(&mut rng, r < 0.8);
                let created = stats.created[g as usize];
                (g, between(&mut rng, created + MS_PER_DAY, last))
            }
        };
        if benign_slot(g) {
            rows.push("group", w.group_id(g), "benign", Ms(ts), "review");
        }
    }
    for _ in 0..3 * violating_accounts.max(1) {
        let (a, ts) = match next_account_suspect.next().filter(|_| rng.gen_bool(0.5)) {
            Some((a, t)) => (a, after(&mut rng, t)),
            None => {
                let a = random_account(&mut rng);
                (a, between(&mut rng, w.account_created[a as usize] + MS_PER_DAY, last))
            }
        };
        rows.push("account", w.account_id(a), "benign", Ms(ts), "review");
    }
    // Upheld appeals: enforced in error, reinstated later.
    for k in 0..((violating_groups + violating_accounts) / 15).max(2) {
        let (kind, id, t1) = if k % 2 == 0 {
            let (g, t) = match next_group_suspect.next() {
                Some((g, t)) => (g, after(&mut rng, t)),
                None => {
                    let g = random_group(&mut rng, true);
                    (g, between(&mut rng, stats.created[g as usize] + MS_PER_DAY, last))
                }
            };
            if !benign_slot(g) {
                continue;
            }
            ("group", w.group_id(g), t)
        } else {
            let (a, t) = match next_account_suspect.next() {
                Some((a, t)) => (a, after(&mut rng, t)),
                None => {
                    let a = random_account(&mut rng);
                    (a, between(&mut rng, w.account_created[a as usize] + MS_PER_DAY, last))
                }
            };
            ("account", w.account_id(a), t)
        };
        let t2 = (t1 + exp(&mut rng, 10.0 * MS_PER_DAY as f64) as i64 + 1).min(last).max(t1);
        rows.push(kind, id, "violating", Ms(t1), "enforcement");
        rows.push(kind, id, "benign", Ms(t2), "appeal");
    }
    let mut sink = Sink::<LabelRows>::new(input, "a", Layout::DayPartitions, usize::MAX);
    sink.extend(&mut rows)?;
    sink.finish(counts)?;
    Ok(LabelSummary { labelled, violating_groups })
}

/// Writes the ground truth beside the dataset: every group with its kind, the planted
/// accounts with their roles, and the networks (with whether labels revealed them).
pub(crate) fn write_truth(w: &World, plan: &Plan, stats: &UnitStats, labels: &LabelSummary, dir: &Path) -> anyhow::Result<()> {
    let mut planted: Vec<Option<(u64, bool)>> = vec![None; plan.n_slots];
    for net in &plan.networks {
        for g in &net.groups {
            planted[g.slot as usize] = Some((net.id as u64, net.camouflaged));
        }
    }
    let mut t = Truth::default();
    for (slot, p) in planted.into_iter().enumerate() {
        t.group(w.group_id(slot as u32), stats.kinds[slot], p);
    }
    for (&idx, p) in &plan.accounts {
        let camo = plan.networks[p.network as usize].camouflaged;
        t.account(w.account_id(idx), p.network as u64, p.role, p.created_ms.is_some(), camo);
    }
    t.networks = plan
        .networks
        .iter()
        .map(|n| TruthNetwork {
            id: n.id as u64,
            strength: n.strength,
            camouflaged: n.camouflaged,
            start_ms: n.start_ms,
            n_groups: n.groups.len() as u64,
            n_accounts: (n.core.len() + n.distributors.len() + n.consumers.len()) as u64,
        })
        .collect();
    t.labelled = Some(labels.labelled.clone());
    t.write(dir)
}
