"""Independent checks of the realism claims of `groupwatch synth --preset hard`, outside Rust.

Reads the dataset and its truth with polars (not with groupwatch's reader) and measures, for
each item of the hard preset's list, that it holds on the data:
1. benign families: components of benign groups tied by shared admins or link creators and
   overlapping members;
2. planted networks have more than one creator and no admin common to all their groups;
3. per-network strength, some networks very quiet, and quiet ones quieter in the data;
4. labels on only some networks (the `labelled` truth column agrees with input/labels), benign
   reviews mostly on look-alikes, upheld appeals;
5. camouflaged networks: no batch-cap hits, no hash matches, no join bursts; their members'
   benign groups are local (pairs of them share other members far more often than random
   pairs of benign groups) and as many as anyone's;
6. loud benign decoys: event bursts of new accounts through links, photos forwarded among
   event groups, benign batch-cap hits, stranger blocks and child-safety reports on benign
   entities, false hash matches;
and that the default generator's quirks are gone: no forward from a group into itself, every
forward into a group is by a member, every group report is by a member, planted groups are
not the last rows, no coded token is used by violating groups only.

Prints one line per measure and exits non-zero with one FAIL line per failed check. Usage:
    python3 check_hard.py DATASET_DIR [--small]
(--small adds the checks that need a `small` dataset's counts, e.g. 30-60 violating group
labels.)
"""

import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import polars as pl

failures = []
HOUR = 3_600_000
DAY = 24 * HOUR


def check(ok, msg):
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        failures.append(msg)


def table(input_dir, name):
    folder = input_dir / name
    single = input_dir / f"{name}.parquet"
    if single.exists():
        return pl.read_parquet(single)
    files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))
    return pl.concat([pl.read_parquet(f, hive_partitioning=False) for f in files], how="vertical_relaxed")


def ms(df, *cols):
    return df.with_columns([pl.col(c).dt.epoch("ms").alias(c) for c in cols])


def pdq_bytes(series):
    return np.array([list(bytes.fromhex(h)) for h in series], dtype=np.uint8).reshape(-1, 32)


def min_hamming(photos, bank):
    if len(photos) == 0:
        return np.array([], dtype=np.int64)
    a = np.unpackbits(pdq_bytes(photos), axis=1).astype(np.int16)
    b = np.unpackbits(pdq_bytes(bank), axis=1).astype(np.int16)
    out = []
    for i in range(0, len(a), 256):
        d = (a[i : i + 256, None, :] != b[None, :, :]).sum(axis=2)
        out.append(d.min(axis=1))
    return np.concatenate(out)


def main():
    root = Path(sys.argv[1])
    small = "--small" in sys.argv[2:]
    inp = root / "input"
    groups = ms(table(inp, "groups"), "created_at")
    accounts = ms(table(inp, "accounts"), "created_at")
    mem = ms(table(inp, "memberships"), "ts").unique(maintain_order=True)
    links = ms(table(inp, "invite_links"), "created_at")
    fwd = ms(table(inp, "forwards"), "ts")
    reports = ms(table(inp, "reports"), "ts")
    blocks = ms(table(inp, "blocks"), "ts")
    labels = ms(table(inp, "labels"), "ts")
    bank = table(inp, "hash_bank")
    tg = pl.read_parquet(root / "truth" / "groups.parquet")
    ta = pl.read_parquet(root / "truth" / "accounts.parquet")
    tn = pl.read_parquet(root / "truth" / "networks.parquet")
    end_ms = accounts["created_at"].max() + 1
    as_of_end = (end_ms // DAY + 1) * DAY

    check("labelled" in tn.columns, "truth/networks.parquet has a `labelled` column")
    viol = tg.filter(pl.col("violating"))
    benign_ids = tg.filter(~pl.col("violating"))["group_id"]
    kind_of = dict(zip(tg["group_id"].to_list(), tg["kind"].to_list()))

    joins = mem.filter(pl.col("event") == "join").group_by("group_id", "account_id").agg(pl.col("ts").min().alias("join"))
    leaves = mem.filter(pl.col("event").is_in(["leave", "removed"])).group_by("group_id", "account_id").agg(pl.col("ts").max().alias("leave"))
    spans = joins.join(leaves, on=["group_id", "account_id"], how="left")
    promoted = mem.filter(pl.col("event") == "promote").select("group_id", "account_id").unique()
    admins = pl.concat([
        groups.select("group_id", pl.col("creator_id").alias("account_id")),
        promoted,
        links.select("group_id", pl.col("created_by").alias("account_id")),
    ]).unique()
    members_of = {g: set(a) for g, a in joins.group_by("group_id").agg("account_id").iter_rows()}
    admins_of = {g: set(a) for g, a in admins.group_by("group_id").agg("account_id").iter_rows()}

    # 1. Benign families: benign groups tied by a shared admin or link creator and >= 10 %
    # member overlap, in components of 3 or more groups.
    benign_set = set(benign_ids.to_list())
    ba = admins.filter(pl.col("group_id").is_in(benign_ids.implode()))
    pairs = (
        ba.join(ba, on="account_id", suffix="_b")
        .filter(pl.col("group_id") < pl.col("group_id_b"))
        .select("group_id", "group_id_b")
        .unique()
    )
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    tied = 0
    for g, h in pairs.iter_rows():
        a, b = members_of.get(g, set()), members_of.get(h, set())
        if a and b and len(a & b) / len(a | b) >= 0.1:
            tied += 1
            parent[find(g)] = find(h)
    comps = {}
    for g in list(parent):
        comps.setdefault(find(g), set()).add(g)
    families = [c for c in comps.values() if len(c) >= 3]
    in_families = sum(len(c) for c in families)
    print(f"     benign families (>=3 groups tied by shared admins and >=10 % member overlap): {len(families)}, {in_families} groups; violating groups: {viol.height}")
    check(len(families) >= (40 if small else 3), "benign multi-group families that share admins and members exist")
    check(in_families > viol.height, "benign groups in admin-sharing families outnumber violating groups")
    family_kinds = pl.Series([kind_of[g] for c in families for g in c]).value_counts()
    check(family_kinds.height >= 3, f"families of several kinds: {dict(family_kinds.iter_rows())}")

    # 2. Planted networks: several creators, no admin common to all of a network's groups.
    vg = groups.join(viol.select("group_id", "network"), on="group_id")
    creators = vg.group_by("network").agg(pl.col("creator_id").n_unique().alias("creators"), pl.len().alias("groups"))
    multi = creators.filter(pl.col("groups") >= 2)
    check((multi["creators"] >= 2).all(), f"every network with >= 2 groups has >= 2 creators (min {multi['creators'].min()})")
    share_top = []
    all_admin = 0
    big = 0
    for net, gids in viol.group_by("network").agg("group_id").iter_rows():
        if len(gids) < 3:
            continue
        big += 1
        counts = {}
        for g in gids:
            for a in admins_of.get(g, ()):
                counts[a] = counts.get(a, 0) + 1
        top = max(counts.values())
        share_top.append(top / len(gids))
        all_admin += top == len(gids)
    print(f"     networks with >= 3 groups: {big}; mean share of groups under the busiest admin: {np.mean(share_top):.2f}")
    check(all_admin <= max(1, big // 10), f"at most 10 % of networks have an admin or link creator in every group ({all_admin} of {big})")

    # 3. Strength: some networks very quiet, and quiet ones quieter in the data.
    quiet = tn.filter(pl.col("strength") < 0.2)
    check(quiet.height >= max(1, tn.height // 5), f"{quiet.height} of {tn.height} networks are very quiet (strength < 0.2)")
    window_lo = fwd["ts"].min()
    nf = (
        fwd.filter(pl.col("dst_group_id").is_not_null())
        .join(viol.select(pl.col("group_id").alias("dst_group_id"), "network"), on="dst_group_id")
        .group_by("network")
        .len()
    )
    act = tn.join(nf, on="network", how="left").with_columns(pl.col("len").fill_null(0) / pl.col("n_groups"))
    q = act.filter(pl.col("strength") < 0.2)["len"].median()
    loud = act.filter((pl.col("strength") >= 0.5) & ~pl.col("camouflaged"))["len"].median()
    if q is not None and loud is not None:
        print(f"     forwards into a group, median per network: quiet {q:.1f}, strong loud {loud:.1f}")
        check(q < loud, "quiet networks forward less than strong loud ones")

    # 4. Labels on only some networks; `labelled` agrees with the labels table.
    ent = pl.concat([
        viol.select(pl.col("group_id").alias("entity_id"), "network", pl.lit("group").alias("entity_kind")),
        ta.select(pl.col("account_id").alias("entity_id"), "network", pl.lit("account").alias("entity_kind")),
    ])
    lab = labels.join(ent, on=["entity_kind", "entity_id"])
    any_label = lab.group_by("network").len()
    has_viol = lab.filter(pl.col("label") == "violating").group_by("network").len()
    t = tn.select("network", "labelled").join(has_viol.rename({"len": "v"}), on="network", how="left").join(
        any_label.rename({"len": "n"}), on="network", how="left"
    )
    agrees = (t["labelled"] == t["v"].fill_null(0).gt(0)).all()
    check(agrees, "truth `labelled` is true exactly for networks with a violating label")
    unl = t.filter(~pl.col("labelled"))
    check(unl.height >= 1 and unl["n"].fill_null(0).eq(0).all(), f"{unl.height} networks carry no label at all")
    share = t["labelled"].mean()
    check(0.3 <= share <= 0.7, f"share of labelled networks {share:.2f} is about half")
    vgl = labels.filter((pl.col("entity_kind") == "group") & (pl.col("label") == "violating") & (pl.col("source") == "enforcement"))
    vgl_true = vgl.join(viol.select(pl.col("group_id").alias("entity_id")), on="entity_id")
    print(f"     violating group labels: {vgl.height} ({vgl_true.height} on violating groups)")
    if small:
        check(30 <= vgl_true.height <= 60, f"{vgl_true.height} violating labels on violating groups, expected 30-60 at 100k accounts")
    reviews = labels.filter((pl.col("entity_kind") == "group") & (pl.col("source") == "review") & (pl.col("label") == "benign"))
    rk = pl.Series([kind_of.get(g) for g in reviews["entity_id"]])
    look = rk.is_in(["event", "broadcast", "marketplace", "spam_ring"]).mean()
    check(reviews.height > 0 and look >= 0.5, f"benign group reviews: {reviews.height}, {look:.0%} on look-alikes")
    appeals = labels.filter((pl.col("source") == "appeal") & (pl.col("label") == "benign"))
    check(appeals.height > 0, f"{appeals.height} upheld appeals")
    latest = labels.sort("ts").group_by("entity_kind", "entity_id").agg(pl.col("label").last())
    wrong = latest.filter((pl.col("entity_kind") == "group") & (pl.col("label") == "violating")).join(
        viol.select(pl.col("group_id").alias("entity_id")), on="entity_id", how="anti"
    )
    check(wrong.height == 0, "no benign group's latest label is violating")

    # 5. Camouflaged networks.
    camo_g = viol.filter(pl.col("camouflaged"))["group_id"]
    cf = fwd.filter(pl.col("dst_group_id").is_in(camo_g.implode()) | pl.col("src_group_id").is_in(camo_g.implode()))
    check(cf.height == 0 or cf["batch_size"].max() < 5, f"no batch-cap hit in camouflaged groups ({cf.height} forwards)")
    camo_acc = ta.filter(pl.col("camouflaged"))["account_id"]
    photos = pl.concat([
        groups.filter(pl.col("group_id").is_in(camo_g.implode()))["photo_pdq"],
        accounts.filter(pl.col("account_id").is_in(camo_acc.implode()))["photo_pdq"],
    ]).drop_nulls()
    d = min_hamming(photos.to_list(), bank["pdq"].to_list())
    check(len(d) == 0 or d.min() > 31, f"no camouflaged photo matches the hash bank (closest {d.min() if len(d) else '-'})")
    hourly = joins.with_columns((pl.col("join") // HOUR).alias("h")).group_by("group_id", "h").len()
    peak = hourly.group_by("group_id").agg(pl.col("len").max().alias("peak"))
    camo_peak = peak.filter(pl.col("group_id").is_in(camo_g.implode()))["peak"].max()
    check(camo_peak is None or camo_peak < 10, f"no join burst in camouflaged groups (busiest hour {camo_peak})")
    loud_g = viol.join(tn.filter(~pl.col("camouflaged") & (pl.col("strength") >= 0.5)).select("network"), on="network")["group_id"]
    if loud_g.len():
        lp = peak.filter(pl.col("group_id").is_in(loud_g.implode()))["peak"].max()
        print(f"     busiest hour in strong loud groups: {lp}")

    # Members' benign footprint: local and ordinary.
    bm = joins.filter(pl.col("group_id").is_in(benign_ids.implode()))
    per_acc = accounts.select("account_id").join(bm.group_by("account_id").len(), on="account_id", how="left").fill_null(0)
    camo_members = ta.filter(pl.col("camouflaged") & ~pl.col("throwaway"))["account_id"]
    cm = per_acc.filter(pl.col("account_id").is_in(camo_members.implode()))
    med_all, med_camo = per_acc["len"].median(), cm["len"].median()
    check(abs(med_camo - med_all) <= 1.5, f"camouflaged members' benign groups: median {med_camo} vs {med_all} for all accounts")
    groups_of = {a: g for a, g in bm.filter(pl.col("account_id").is_in(camo_members.implode())).group_by("account_id").agg("group_id").iter_rows()}
    shared = total = 0
    for a, gs in groups_of.items():
        for g, h in combinations(sorted(gs)[:12], 2):
            total += 1
            shared += len((members_of[g] & members_of[h]) - {a}) > 0
    rng = np.random.default_rng(0)
    bl = [g for g in benign_ids.to_list() if g in members_of]
    # Baseline: pairs of benign groups with the same sizes' distribution, drawn at random.
    base_shared = 0
    n_base = 4000
    for _ in range(n_base):
        g, h = rng.choice(len(bl), 2, replace=False)
        base_shared += len(members_of[bl[g]] & members_of[bl[h]]) > 0
    local = shared / max(total, 1)
    base = base_shared / n_base
    print(f"     pairs of a camouflaged member's benign groups sharing another member: {local:.2f} ({total} pairs); random benign pairs: {base:.3f}")
    check(total > 0 and local > 0.1 and local > 4 * base, "camouflaged members' benign groups come from their own community")

    # 6. Loud benign decoys.
    ev = tg.filter(pl.col("kind") == "event")["group_id"]
    acc_created = accounts.select("account_id", pl.col("created_at").alias("acc_created"), pl.col("photo_pdq").is_null().alias("no_photo"))
    ej = (
        mem.filter((pl.col("event") == "join") & (pl.col("method") != "creator") & pl.col("group_id").is_in(ev.implode()))
        .join(acc_created, on="account_id")
        .with_columns((pl.col("ts") // HOUR).alias("h"), ((pl.col("ts") - pl.col("acc_created")) < 30 * DAY).alias("fresh"))
    )
    busiest = ej.group_by("group_id", "h").len().group_by("group_id").agg(pl.col("len").max().alias("peak"))
    evs = (
        ej.group_by("group_id")
        .agg(pl.len().alias("n"), (pl.col("method") == "invite_link").mean().alias("link"), pl.col("fresh").mean().alias("fresh"),
             pl.col("no_photo").filter(pl.col("fresh")).mean().alias("fresh_no_photo"))
        .join(busiest, on="group_id")
        .filter((pl.col("n") >= 15) & (pl.col("peak") / pl.col("n") >= 0.3) & (pl.col("link") >= 0.8) & (pl.col("fresh") >= 0.15))
    )
    check(evs.height >= (20 if small else 1), f"{evs.height} event groups filled in a burst through links with >= 15 % new accounts")
    if evs.height:
        check(evs["fresh_no_photo"].mean() >= 0.3, f"new attendees without a photo: {evs['fresh_no_photo'].mean():.0%}")
    eg = fwd.filter(pl.col("dst_group_id").is_in(ev.implode()) & pl.col("media_fp").is_not_null() & pl.col("media_type").is_in(["image", "video"]))
    reach = eg.group_by("media_fp").agg(pl.col("dst_group_id").n_unique().alias("groups"))
    check((reach["groups"] >= 2).sum() >= 1, f"{(reach['groups'] >= 2).sum()} photos forwarded into several event groups")
    bf = fwd.filter(pl.col("dst_group_id").is_in(benign_ids.implode()) & (pl.col("batch_size") == 5))
    check(bf.height > 0, f"{bf.height} benign forward rows into groups hit the batch cap")
    planted_acc = set(ta["account_id"].to_list())
    sb = blocks.filter(pl.col("unknown_contact") & ~pl.col("blocked_id").is_in(list(planted_acc)))
    check(sb.height > 0, f"{sb.height} stranger blocks of benign accounts")
    cs = reports.filter(pl.col("reason") == "child_safety")
    cs_benign_g = cs.filter((pl.col("target_kind") == "group") & pl.col("target_id").is_in(benign_ids.implode()))
    cs_benign_a = cs.filter((pl.col("target_kind") == "account") & ~pl.col("target_id").is_in(list(planted_acc)))
    print(f"     child-safety reports on benign groups: {cs_benign_g.height} ({cs_benign_g['target_id'].n_unique()} groups), on benign accounts: {cs_benign_a.height}")
    check(cs_benign_g.height + cs_benign_a.height > 0, "benign entities collect (false) child-safety reports")
    lookalike_cs = cs_benign_g.filter(pl.col("target_id").is_in(tg.filter(pl.col("kind").is_in(["event", "marketplace", "broadcast", "spam_ring"]))["group_id"].implode()))
    if small:
        check(lookalike_cs["target_id"].n_unique() >= 10, f"{lookalike_cs['target_id'].n_unique()} look-alike groups with child-safety reports")
        benign_photos = pl.concat([
            groups.filter(pl.col("group_id").is_in(benign_ids.implode()))["photo_pdq"],
            accounts.filter(~pl.col("account_id").is_in(list(planted_acc)))["photo_pdq"],
        ]).drop_nulls()
        bd = min_hamming(benign_photos.to_list(), bank["pdq"].to_list())
        check((bd <= 31).sum() > 0, f"{(bd <= 31).sum()} benign photos match the hash bank (false matches)")

    # Quirks of the default generator, gone.
    check(fwd.filter(pl.col("src_group_id") == pl.col("dst_group_id")).height == 0, "no forward from a group into itself")
    into = fwd.filter(pl.col("dst_group_id").is_not_null()).select("ts", "sender_id", pl.col("dst_group_id").alias("group_id"))
    chk = into.join(spans, left_on=["group_id", "sender_id"], right_on=["group_id", "account_id"], how="left")
    bad = chk.filter(pl.col("join").is_null() | (pl.col("join") > pl.col("ts")) | (pl.col("leave").is_not_null() & (pl.col("leave") <= pl.col("ts"))))
    check(bad.height == 0, f"every forward into a group is by a present member ({bad.height} of {into.height} are not)")
    gr = reports.filter(pl.col("target_kind") == "group")
    notmem = gr.join(joins, left_on=["target_id", "reporter_id"], right_on=["group_id", "account_id"], how="anti")
    check(notmem.height == 0, f"every group report is by a member ({notmem.height} of {gr.height} are not)")
    vin = fwd.filter(pl.col("dst_group_id").is_in(viol["group_id"].implode()))["src_group_id"].is_not_null().mean()
    print(f"     share of forwards into violating groups with a source group: {vin:.2f}")
    check(vin is None or vin < 0.8, "forwards into violating groups do not always come from a group")
    pos = groups.with_row_index("row").filter(pl.col("group_id").is_in(viol["group_id"].implode()))["row"] / groups.height
    check(0.2 <= pos.mean() <= 0.8, f"violating groups sit throughout the groups table (mean position {pos.mean():.2f})")
    aoa = groups.join(tg.select("group_id", "kind"), on="group_id").group_by("kind").agg(pl.col("admins_only_add").mean())
    va = aoa.filter(pl.col("kind") == "violating")["admins_only_add"][0]
    ba_ = aoa.filter(pl.col("kind") != "violating")["admins_only_add"]
    check(ba_.min() < va < ba_.max(), f"admins_only_add share of violating groups ({va:.2f}) lies among benign kinds' ({ba_.min():.2f}..{ba_.max():.2f})")
    delay = promoted.join(joins, on=["group_id", "account_id"]).join(
        mem.filter(pl.col("event") == "promote").group_by("group_id", "account_id").agg(pl.col("ts").min().alias("p")), on=["group_id", "account_id"]
    ).with_columns(((pl.col("p") - pl.col("join")) / HOUR).alias("hours"), pl.col("group_id").is_in(viol["group_id"].implode()).alias("v"))
    dv = delay.filter(pl.col("v"))["hours"].median()
    db = delay.filter(~pl.col("v"))["hours"].median()
    check(dv is None or db / 3 <= dv <= db * 3, f"promotion delay in violating groups ({dv}) like benign ({db:.1f} h)")

    def tokens(df):
        return df.select(pl.concat_str([pl.col("subject").fill_null(""), pl.col("description").fill_null("")], separator=" ").str.split(" ").alias("t"), "group_id").explode("t").filter(pl.col("t") != "").unique()

    tok = tokens(groups).join(tg.select("group_id", "violating"), on="group_id")
    per = tok.group_by("t").agg(pl.col("violating").sum().alias("v"), (~pl.col("violating")).sum().alias("b"))
    only_viol = per.filter((pl.col("v") >= 3) & (pl.col("b") == 0))
    check(only_viol.height == 0, f"no token in three or more violating groups is absent from benign groups ({only_viol.height})")

    if failures:
        sys.exit(1)
    print("all hard-preset checks passed")


if __name__ == "__main__":
    main()
