"""Independent recomputation of every tabular feature of the feature catalog, outside Rust.

Reads an input dataset's Parquet files with polars (not with groupwatch's reader),
recomputes group_features and account_features from the definitions in
data-schemas/feature_catalog.toml and the data contract, and compares them with the tables
written by `groupwatch features` (FEATURES_DIR/group_features.parquet and
FEATURES_DIR/account_features.parquet).

Usage:
    python3 features_oracle.py INPUT_DIR FEATURES_DIR AS_OF WINDOW_DAYS [--threshold 31]

Prints one summary line per feature (n compared, n mismatched, the first 3 mismatches as
id / expected / got) and exits 1 on any mismatch (ids, columns or values), 2 on unusable input.

Semantics (the contract's and the catalog's; where the catalog leaves a choice, the choice
made is marked "reading:"):
- "now" is the end of the as-of UTC day (as_of + 1 day, 00:00, exclusive); the window is
  [now - WINDOW_DAYS days, now). Times are compared as integer epoch milliseconds.
- The world as it stood at now: accounts, groups and invite links created at or after now, and
  events at or after now, do not exist yet (reading: the catalog only says so for revocations).
- Exact duplicate rows of the event tables (memberships, forwards, reports, blocks), over the
  contract's columns, count once. Rows that differ in any column are not duplicates.
- Rows with a row-level problem listed by the contract (null in a non-null column, enum value
  outside its list, malformed PDQ, negative signed id, small int out of range, a forward without
  exactly one destination) are set aside before anything is computed. Nothing else is.
- Membership state at now: replay of the memberships events with ts < now, per group, in
  (ts, account) order (ties: join, promote, demote, leave, removed). join of a non-member ->
  member (a `creator` join also makes it admin); join of a member -> ignored; leave/removed of a
  member -> not a member, not an admin (of a non-member: ignored); promote/demote of a member ->
  admin on/off (of a non-member: ignored). members_peak = max number of members after any event.
- Event counts ("join events", "leave events", ...) count event rows after de-duplication,
  including the ones the replay ignores (a join of a current member, a leave of a non-member).
- "Non-creator joins" are joins whose method is not `creator` (a null method included).
- An invite link is "used" by a join whose invite_link_id is set, whether or not the link has
  an invite_links row (the feature needs memberships only).
- A join "through an invite link" is method `invite_link`, or method `approval` with an
  invite_link_id (reading: the contract's approval joins can come without a link).
- Reports, blocks and forwards features use only window rows. Forward rows "into or out of" a
  group are a set of rows: a forward from a group into itself is one row. A media object's
  reach is the number of distinct groups that are the source or destination of a window
  forward of it. A forward action went to 5 or more chats when its batch_size is >= 5; rows
  without an action_id name no action (reading).
- Invite-link revocations at or after now count as not revoked.
- Ages and lifetimes are fractional: (now - t) / 1 day, (revoked_at - created_at) / 1 hour.
- Shares and per-member ratios are null when the denominator is 0. The median of an even
  count is the mean of the two middle values.
- Clock hours are floor(ts_ms / 3_600_000) (UTC hours since the epoch).
- PDQ: 64 hex chars (either case) or 32 bytes -> 256 bits; distance to the nearest hash-bank
  entry (every entry, whatever its added_at); a match is distance <= threshold.
- A feature whose `needs` names an absent (optional) input table is null for every entity.
- Group rows: every group in the groups table or referenced by memberships, invite links, or
  window forwards and reports. Account rows: current members of any group, and every account
  named by a window event (membership account or actor, link creator, forward sender or
  destination account, reporter or reported account, blocker or blocked).
"""

import argparse
import datetime as dt
import math
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "data-schemas"
CATALOG = SCHEMAS / "feature_catalog.toml"

DAY = 86_400_000
HOUR = 3_600_000
EVENT_TABLES = ("memberships", "forwards", "reports", "blocks")
TABLES = ("accounts", "groups", "memberships", "invite_links", "forwards", "reports", "blocks", "hash_bank", "labels")


class BadInput(Exception):
    pass


# ----------------------------------------------------------------------------- reading


def table_files(input_dir: Path, name: str):
    """The Parquet files of one table, or None when the table is absent."""
    single = input_dir / f"{name}.parquet"
    folder = input_dir / name
    if single.exists() and folder.exists():
        raise BadInput(f"{name}: both {single} and {folder} exist")
    if single.exists():
        return [single]
    if not folder.exists():
        return None
    files = []

    def walk(d: Path, seen):
        real = d.resolve()
        if real in seen:
            raise BadInput(f"{d}: symbolic link loop")
        seen = seen | {real}
        for e in sorted(d.iterdir()):
            if e.name.startswith("_") or e.name.startswith("."):
                continue
            if e.is_dir():
                if not e.name.startswith("dt="):
                    raise BadInput(f"{e}: unexpected folder")
                walk(e, seen)
            else:
                files.append(e)

    walk(folder, frozenset())
    return files


DTYPES = {"id": pl.UInt64, "time": pl.Int64, "string": pl.Utf8, "enum": pl.Utf8, "pdq": pl.Utf8,
          "bool": pl.Boolean, "small_int": pl.Int64}


def normalize_file(path: Path, schema: dict):
    """One file -> a polars frame with exactly the contract's columns in canonical types
    (ids UInt64, times Int64 epoch ms, strings Utf8, PDQ lower-case hex), rows with a
    row-level problem removed. Returns (frame, n_quarantined)."""
    try:
        df = pl.read_parquet(path, hive_partitioning=False)
    except Exception as e:  # noqa: BLE001
        raise BadInput(f"{path}: unreadable ({e})")
    exprs, bad = [], []
    for col in schema["columns"]:
        name, typ, nullable = col["name"], col["type"], col["nullable"]
        c = pl.col(name)
        dtype = df.schema.get(name)
        if dtype is None and not nullable:
            raise BadInput(f"{schema['table']}: {path}: non-null column {name} missing")
        if dtype is None or dtype == pl.Null:
            e = pl.lit(None, dtype=pl.Int64 if typ == "id" else DTYPES[typ])
        elif typ == "time":
            e = c.dt.epoch("ms") if isinstance(dtype, pl.Datetime) else c.cast(pl.Int64)
        elif typ == "pdq":
            if dtype == pl.Binary:
                e = pl.when(c.bin.size() == 32).then(c.bin.encode("hex")).otherwise(pl.lit("BAD"))
            else:
                low = c.cast(pl.Utf8).str.to_lowercase()
                e = pl.when(low.str.contains("^[0-9a-f]{64}$")).then(low).otherwise(pl.lit("BAD"))
            e = pl.when(c.is_null()).then(pl.lit(None, dtype=pl.Utf8)).otherwise(e)
        elif typ in ("string", "enum"):
            e = c.cast(pl.Utf8)
        elif typ in ("id", "small_int"):
            e = c if dtype.is_integer() else c.cast(pl.Int64)
        else:
            e = c.cast(DTYPES[typ])
        exprs.append(e.alias(name))
        v = pl.col(name)
        if not nullable:
            bad.append(v.is_null())
        if typ == "id" and dtype is not None and dtype.is_signed_integer():
            bad.append(v < 0)
        elif typ == "enum":
            bad.append(v.is_not_null() & ~v.is_in(col["values"]))
        elif typ == "pdq":
            bad.append(v == "BAD")
        elif typ == "small_int":
            bad.append((v < col["min"]) | (v > col["max"]))
    if schema["table"] == "forwards":
        bad.append(pl.col("dst_group_id").is_null() == pl.col("dst_account_id").is_null())
    out = df.select(exprs)
    is_bad = pl.any_horizontal([b.fill_null(False) for b in bad]) if bad else pl.lit(False)
    kept = out.filter(~is_bad)
    kept = kept.with_columns(
        [pl.col(c["name"]).cast(DTYPES[c["type"]]) for c in schema["columns"]]
    )
    return kept, out.height - kept.height


def load(input_dir: Path):
    tables, absent, quarantined = {}, set(), 0
    for name in TABLES:
        schema = tomllib.loads((SCHEMAS / f"{name}.toml").read_text())
        files = table_files(input_dir, name)
        if files is None:
            if schema.get("required"):
                raise BadInput(f"required table {name} missing")
            absent.add(name)
            continue
        frames = []
        for f in files:
            fr, q = normalize_file(f, schema)
            frames.append(fr)
            quarantined += q
        if frames:
            df = pl.concat(frames, how="vertical")
        else:
            df = pl.DataFrame(
                {c["name"]: pl.Series(c["name"], [], dtype=pl.Utf8) for c in schema["columns"]}
            )
        if name in EVENT_TABLES:
            df = df.unique(maintain_order=True)
        if schema.get("required") and df.height == 0:
            raise BadInput(f"required table {name} has no rows")
        tables[name] = df
    return tables, absent, quarantined


# ----------------------------------------------------------------------------- helpers


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return float(xs[n // 2]) if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def share(num, den):
    return None if den == 0 else num / den


def rows(df: pl.DataFrame):
    return df.iter_rows(named=True) if df is not None else iter(())


def nearest_bank_distance(pdq, bank_ints):
    if pdq is None or bank_ints is None:
        return None
    if not bank_ints:
        return math.inf
    x = int(pdq, 16)
    return min((x ^ b).bit_count() for b in bank_ints)


# The features this oracle recomputes (the catalog's tabular features). Catalog entries with a
# `seed_based` key are graph features, checked elsewhere (tests/it/graph_oracle.rs); any other
# catalog feature missing here is a failure.
GROUP_FEATURES = (
    "members_now", "max_jaccard_any_group", "members_peak", "joins_1d", "joins_7d", "joins_window", "join_burst_ratio",
    "busiest_hour_share", "group_age_days", "join_share_invite_link", "join_share_approval",
    "join_share_added", "links_used_window", "links_created_window", "links_revoked_window",
    "link_median_lifetime_hours", "members_young_7d_share", "members_young_30d_share",
    "members_no_photo_share", "members_business_share", "members_median_age_days", "admins_now",
    "admin_changes_window", "creator_groups_created", "leaves_per_join_window", "removals_per_join_window",
    "fwd_in_window", "fwd_out_window", "fwd_in_image_video_share", "fwd_out_image_video_share",
    "fwd_frequently_forwarded_share", "media_objects_window", "media_max_group_reach",
    "batch_cap_actions_window", "reports_window", "child_safety_reports_window",
    "member_child_safety_reports_per_member", "member_stranger_blocks_per_member",
    "photo_hash_distance", "photo_hash_match",
)
ACCOUNT_FEATURES = (
    "account_age_days", "has_photo", "is_business", "groups_now", "admin_of_groups_now",
    "groups_joined_window", "groups_joined_by_link_window", "groups_added_window", "groups_created_total",
    "groups_created_window", "links_created_window", "fwd_sent_window", "fwd_fanout_window",
    "fwd_image_video_share", "fwd_to_groups_share", "media_multi_group_objects", "batch_cap_actions_window",
    "reports_received_window", "child_safety_reports_received_window", "stranger_blocks_received_window",
    "photo_hash_distance", "photo_hash_match",
)

EVENT_RANK = {"join": 0, "promote": 1, "demote": 2, "leave": 3, "removed": 4}


# ----------------------------------------------------------------------------- features


def compute(tables, absent, as_of: dt.date, window_days: int, threshold: int):
    now = int(dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.timezone.utc).timestamp()) * 1000 + DAY
    ws = now - window_days * DAY

    def in_window(ts, days=None):
        lo = ws if days is None else now - days * DAY
        return lo <= ts < now

    # The world as it stood at now: rows dated at or after now do not exist yet.
    accounts = {r["account_id"]: r for r in rows(tables["accounts"]) if r["created_at"] < now}
    groups = {r["group_id"]: r for r in rows(tables["groups"]) if r["created_at"] < now}
    mem = tables["memberships"].filter(pl.col("ts") < now)
    mem_rows = sorted(
        mem.iter_rows(named=True),
        key=lambda r: (r["group_id"], r["ts"], r["account_id"], EVENT_RANK[r["event"]], r["method"] or "",
                       r["invite_link_id"] or 0, r["actor_id"] or 0),
    )
    links = [r for r in rows(tables.get("invite_links")) if r["created_at"] < now]
    fwd = [r for r in rows(tables.get("forwards")) if in_window(r["ts"])]
    reps = [r for r in rows(tables.get("reports")) if in_window(r["ts"])]
    blks = [r for r in rows(tables.get("blocks")) if in_window(r["ts"])]
    bank = None if "hash_bank" in absent else [int(r["pdq"], 16) for r in rows(tables["hash_bank"])]

    # ---- replay
    members = defaultdict(dict)  # group -> {account: ts of the join that made it a member}
    admins = defaultdict(set)
    peak = defaultdict(int)
    for r in mem_rows:
        g, a, ev = r["group_id"], r["account_id"], r["event"]
        ms, ad = members[g], admins[g]
        if ev == "join":
            if a not in ms:
                ms[a] = r["ts"]
                if r["method"] == "creator":
                    ad.add(a)
        elif ev in ("leave", "removed"):
            if a in ms:
                del ms[a]
                ad.discard(a)
        elif ev == "promote":
            if a in ms:
                ad.add(a)
        elif ev == "demote":
            if a in ms:
                ad.discard(a)
        peak[g] = max(peak[g], len(ms))

    # ---- ids
    group_ids = set(groups)
    group_ids |= {r["group_id"] for r in mem_rows}
    group_ids |= {r["group_id"] for r in links}
    for r in fwd:
        group_ids |= {x for x in (r["src_group_id"], r["dst_group_id"]) if x is not None}
    group_ids |= {r["target_id"] for r in reps if r["target_kind"] == "group"}

    account_ids = set()
    for ms in members.values():
        account_ids |= set(ms)
    for r in mem_rows:
        if in_window(r["ts"]):
            account_ids.add(r["account_id"])
            if r["actor_id"] is not None:
                account_ids.add(r["actor_id"])
    account_ids |= {r["created_by"] for r in links if in_window(r["created_at"])}
    for r in fwd:
        account_ids.add(r["sender_id"])
        if r["dst_account_id"] is not None:
            account_ids.add(r["dst_account_id"])
    for r in reps:
        account_ids.add(r["reporter_id"])
        if r["target_kind"] == "account":
            account_ids.add(r["target_id"])
    for r in blks:
        account_ids |= {r["blocker_id"], r["blocked_id"]}

    # ---- per-group membership-event aggregates
    gj = defaultdict(lambda: defaultdict(int))  # group -> counter name -> n
    g_join_hours = defaultdict(Counter)  # window joins per clock hour
    g_links_used = defaultdict(set)
    a_cnt = defaultdict(lambda: defaultdict(int))
    for r in mem_rows:
        g, a, ev, ts, method = r["group_id"], r["account_id"], r["event"], r["ts"], r["method"]
        c = gj[g]
        win = in_window(ts)
        if ev == "join":
            if method != "creator":
                c["noncreator"] += 1
                c["m_" + str(method)] += 1
            if win:
                c["joins_window"] += 1
                g_join_hours[g][ts // HOUR] += 1
                if r["invite_link_id"] is not None:
                    g_links_used[g].add(r["invite_link_id"])
                ac = a_cnt[a]
                ac["joined"] += 1
                if method == "invite_link" or (method == "approval" and r["invite_link_id"] is not None):
                    ac["by_link"] += 1
                if method == "added":
                    ac["added"] += 1
            if in_window(ts, 7):
                c["joins_7d"] += 1
            if in_window(ts, 1):
                c["joins_1d"] += 1
        elif win:
            c[ev + "_window"] += 1

    creator_count = Counter(r["creator_id"] for r in groups.values())
    g_links = defaultdict(list)
    for r in links:
        g_links[r["group_id"]].append(r)

    # forwards
    media_groups = defaultdict(set)
    for r in fwd:
        if r["media_fp"] is not None:
            for x in (r["src_group_id"], r["dst_group_id"]):
                if x is not None:
                    media_groups[r["media_fp"]].add(x)
    g_in, g_out, g_any = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in fwd:
        if r["dst_group_id"] is not None:
            g_in[r["dst_group_id"]].append(r)
        if r["src_group_id"] is not None:
            g_out[r["src_group_id"]].append(r)
        for x in {r["src_group_id"], r["dst_group_id"]} - {None}:
            g_any[x].append(r)
    a_fwd = defaultdict(list)
    for r in fwd:
        a_fwd[r["sender_id"]].append(r)

    # reports / blocks
    g_reports, g_cs_reports = Counter(), Counter()
    a_reports, a_cs_reports = Counter(), Counter()
    for r in reps:
        cs = r["reason"] == "child_safety"
        if r["target_kind"] == "group":
            g_reports[r["target_id"]] += 1
            g_cs_reports[r["target_id"]] += cs
        else:
            a_reports[r["target_id"]] += 1
            a_cs_reports[r["target_id"]] += cs
    a_stranger_blocks = Counter(r["blocked_id"] for r in blks if r["unknown_contact"])

    def iv_share(rs):
        return share(sum(r["media_type"] in ("image", "video") for r in rs), len(rs))

    def cap_actions(rs):
        return float(len({r["action_id"] for r in rs if r["batch_size"] >= 5 and r["action_id"] is not None}))

    # ---- largest member overlap with any other group (accounts in <= 50 groups link pairs)
    acc_groups = defaultdict(set)
    for g, ms in members.items():
        for a in ms:
            acc_groups[a].add(g)

    def max_jaccard(g):
        ms = members.get(g, {})
        if len(ms) < 3:
            return None
        shared = Counter(h for a in ms if len(acc_groups[a]) <= 50 for h in acc_groups[a] if h != g)
        return max((c / (len(ms) + len(members[h]) - c) for h, c in shared.items()), default=0.0)

    # ---- group features
    G = {}
    for g in group_ids:
        grow = groups.get(g)
        ms, c = members.get(g, {}), gj[g]
        n_now = len(ms)
        known = [accounts[a] for a in ms if a in accounts]
        jw = c["joins_window"]
        f = {
            "members_now": float(n_now),
            "max_jaccard_any_group": max_jaccard(g),
            "members_peak": float(peak.get(g, 0)),
            "joins_1d": float(c["joins_1d"]),
            "joins_7d": float(c["joins_7d"]),
            "joins_window": float(jw),
            "join_burst_ratio": None if jw == 0 else max(g_join_hours[g].values()) / (jw / (window_days * 24)),
            "busiest_hour_share": None if n_now == 0 else max(Counter(t // HOUR for t in ms.values()).values()) / n_now,
            "group_age_days": None if grow is None else (now - grow["created_at"]) / DAY,
            "join_share_invite_link": share(c["m_invite_link"], c["noncreator"]),
            "join_share_approval": share(c["m_approval"], c["noncreator"]),
            "join_share_added": share(c["m_added"], c["noncreator"]),
            "links_used_window": float(len(g_links_used[g])),
            "links_created_window": float(sum(in_window(r["created_at"]) for r in g_links[g])),
            "links_revoked_window": float(sum(r["revoked_at"] is not None and in_window(r["revoked_at"]) for r in g_links[g])),
            "link_median_lifetime_hours": median(
                [(r["revoked_at"] - r["created_at"]) / HOUR for r in g_links[g] if r["revoked_at"] is not None and r["revoked_at"] < now]
            ),
            "members_young_7d_share": share(sum(now - a["created_at"] < 7 * DAY for a in known), len(known)),
            "members_young_30d_share": share(sum(now - a["created_at"] < 30 * DAY for a in known), len(known)),
            "members_no_photo_share": share(sum(a["photo_pdq"] is None for a in known), len(known)),
            "members_business_share": share(
                sum(a["is_business"] is True for a in known), sum(a["is_business"] is not None for a in known)
            ),
            "members_median_age_days": median([(now - a["created_at"]) / DAY for a in known]),
            "admins_now": float(len(admins.get(g, ()))),
            "admin_changes_window": float(c["promote_window"] + c["demote_window"]),
            "creator_groups_created": None if grow is None else float(creator_count[grow["creator_id"]]),
            "leaves_per_join_window": share(c["leave_window"], jw),
            "removals_per_join_window": share(c["removed_window"], jw),
            "fwd_in_window": float(len(g_in[g])),
            "fwd_out_window": float(len(g_out[g])),
            "fwd_in_image_video_share": iv_share(g_in[g]),
            "fwd_out_image_video_share": iv_share(g_out[g]),
            "fwd_frequently_forwarded_share": share(sum(r["frequently_forwarded"] for r in g_any[g]), len(g_any[g])),
        }
        objs = {r["media_fp"] for r in g_any[g] if r["media_fp"] is not None}
        f["media_objects_window"] = float(len(objs))
        f["media_max_group_reach"] = None if not objs else float(max(len(media_groups[o]) for o in objs))
        f["batch_cap_actions_window"] = cap_actions(g_any[g])
        f["reports_window"] = float(g_reports[g])
        f["child_safety_reports_window"] = float(g_cs_reports[g])
        f["member_child_safety_reports_per_member"] = share(sum(a_cs_reports[a] for a in ms), n_now)
        f["member_stranger_blocks_per_member"] = share(sum(a_stranger_blocks[a] for a in ms), n_now)
        d = nearest_bank_distance(grow["photo_pdq"] if grow else None, bank)
        f["photo_hash_distance"] = float(d) if d is not None and d <= threshold else None
        f["photo_hash_match"] = None if d is None else float(d <= threshold)
        assert tuple(f) == GROUP_FEATURES
        G[g] = f

    # ---- account features
    groups_now, admin_now = Counter(), Counter()
    for g, ms in members.items():
        for a in ms:
            groups_now[a] += 1
        for a in admins[g]:
            admin_now[a] += 1
    created_total = Counter(r["creator_id"] for r in groups.values())
    created_window = Counter(r["creator_id"] for r in groups.values() if in_window(r["created_at"]))
    links_window = Counter(r["created_by"] for r in links if in_window(r["created_at"]))
    A = {}
    for a in account_ids:
        arow = accounts.get(a)
        fr = a_fwd[a]
        ac = a_cnt[a]
        f = {
            "account_age_days": None if arow is None else (now - arow["created_at"]) / DAY,
            "has_photo": None if arow is None else float(arow["photo_pdq"] is not None),
            "is_business": None if arow is None or arow["is_business"] is None else float(arow["is_business"]),
            "groups_now": float(groups_now[a]),
            "admin_of_groups_now": float(admin_now[a]),
            "groups_joined_window": float(ac["joined"]),
            "groups_joined_by_link_window": float(ac["by_link"]),
            "groups_added_window": float(ac["added"]),
            "groups_created_total": float(created_total[a]),
            "groups_created_window": float(created_window[a]),
            "links_created_window": float(links_window[a]),
            "fwd_sent_window": float(len(fr)),
            "fwd_fanout_window": float(len({("g", r["dst_group_id"]) if r["dst_group_id"] is not None else ("a", r["dst_account_id"]) for r in fr})),
            "fwd_image_video_share": iv_share(fr),
            "fwd_to_groups_share": share(sum(r["dst_group_id"] is not None for r in fr), len(fr)),
            "media_multi_group_objects": float(len({r["media_fp"] for r in fr if r["media_fp"] is not None and len(media_groups[r["media_fp"]]) >= 3})),
            "batch_cap_actions_window": cap_actions(fr),
            "reports_received_window": float(a_reports[a]),
            "child_safety_reports_received_window": float(a_cs_reports[a]),
            "stranger_blocks_received_window": float(a_stranger_blocks[a]),
        }
        d = nearest_bank_distance(arow["photo_pdq"] if arow else None, bank)
        f["photo_hash_distance"] = float(d) if d is not None and d <= threshold else None
        f["photo_hash_match"] = None if d is None else float(d <= threshold)
        assert tuple(f) == ACCOUNT_FEATURES
        A[a] = f

    seeded_features(tables, absent, now, accounts, members, G, A)
    return G, A


# The seed-based features this oracle recomputes (the others are checked elsewhere).
SEED_GROUP_FEATURES = ("member_groups_labelled_violating_share", "members_known_violating_share")
SEED_ACCOUNT_FEATURES = ("co_members_known_violating_share_max", "co_members_known_violating_share_mean")


def mix64(z):
    """SplitMix64's finaliser (groupwatch's `units::mix64`)."""
    m = (1 << 64) - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def fold_of(entity_id):
    return mix64(entity_id ^ 0x7E57F01D) % 5


def seeded_features(tables, absent, now, accounts, members, G, A):
    """Seed-based features, as the catalog defines them, each entity's computed with its fold's
    labels hidden (detection.md's leakage control; folds by id hash, five of them).

    Seeds are accounts whose latest label before now is violating, or whose photo matches the
    hash bank. With any label before now, an entity of fold k sees the seeds and labels of pass
    k: every entity labelled (either way) in fold k is hidden, photo match or not. Without
    labels there is one pass and nothing is hidden. Without labels and hash bank the features
    are null, and those that read labels (both classes) are null without labels."""
    if "labels" in absent and "hash_bank" in absent:
        for f in G.values():
            f.update(dict.fromkeys(SEED_GROUP_FEATURES))
        for f in A.values():
            f.update(dict.fromkeys(SEED_ACCOUNT_FEATURES))
        return
    latest = {}
    if "labels" not in absent:
        lab = tables["labels"].filter(pl.col("ts") < now).sort("ts", maintain_order=True)
        for r in lab.iter_rows(named=True):
            latest[(r["entity_kind"], r["entity_id"])] = r["label"] == "violating"
    # Labels name entities of the window only (others are set aside at ingest).
    known_groups = set(members) | set(G)
    labelled = {(k, e) for (k, e) in latest if (e in A or e in accounts) if k == "account"}
    labelled |= {(k, e) for (k, e) in latest if k == "group" and e in known_groups}
    passes = 5 if labelled else 1
    violating = {e for (k, e), v in latest.items() if k == "account" and v}
    # Photo matches as recomputed above; only current members (all in A) can count.
    photo = {a for a, f in A.items() if f["photo_hash_match"] == 1.0}
    base = violating | photo
    # With one pass nothing is labelled, so nothing is hidden.
    hidden = [{e for (k, e) in labelled if k == "account" and fold_of(e) == p} for p in range(passes)]
    seeds = [base - hidden[p] for p in range(passes)]
    pass_of = fold_of if passes > 1 else (lambda i: 0)
    groups_of = defaultdict(list)
    for g, ms in members.items():
        for a in ms:
            groups_of[a].append(g)
    # Visible group labels of each pass: (violating?) by group, fold k's labelled groups hidden.
    group_labels = {e: v for (k, e), v in latest.items() if k == "group" and (k, e) in labelled}
    visible = [{e: v for e, v in group_labels.items() if fold_of(e) != p} for p in range(passes)]
    for g, f in G.items():
        ms = members.get(g, {})
        s = seeds[pass_of(g)]
        f["members_known_violating_share"] = share(sum(a in s for a in ms), len(ms))
        vis = visible[pass_of(g)]
        other = [vis[h] for a in ms for h in groups_of[a] if h != g and h in vis]
        f["member_groups_labelled_violating_share"] = share(sum(other), len(other))
    for a, f in A.items():
        s = seeds[pass_of(a)]
        own = a in s
        shares = [(sum(b in s for b in members[g]) - own) / (len(members[g]) - 1) for g in groups_of.get(a, []) if len(members[g]) > 1]
        f["co_members_known_violating_share_max"] = max(shares) if shares else None
        f["co_members_known_violating_share_mean"] = sum(shares) / len(shares) if shares else None


# ----------------------------------------------------------------------------- comparison


def close(e, g):
    if e is None or g is None:
        return e is None and g is None
    if isinstance(g, float) and math.isnan(g):
        return False
    return e == g or abs(e - g) <= 1e-9 * max(abs(e), abs(g))


def compare(label, key, expected, computed, path, features, absent):
    """Compares one produced table with the recomputed values (`computed`: the feature names
    this oracle recomputes); returns the number of failures."""
    failures = 0
    if not path.exists():
        print(f"FAIL {label}: {path} missing")
        return 1
    got = pl.read_parquet(path)
    cols = set(got.columns) - {key}
    names = [f["name"] for f in features]
    missing, extra = [n for n in names if n not in cols], sorted(cols - set(names))
    if missing or extra:
        print(f"FAIL {label}: columns missing {missing}, not in the catalog {extra}")
        failures += 1
    got_rows = {r[key]: r for r in got.iter_rows(named=True)}
    if len(got_rows) != got.height:
        print(f"FAIL {label}: duplicate {key}s ({got.height} rows, {len(got_rows)} ids)")
        failures += 1
    exp_ids, got_ids = set(expected), set(got_rows)
    if exp_ids != got_ids:
        only_e, only_g = sorted(exp_ids - got_ids), sorted(got_ids - exp_ids)
        print(f"FAIL {label}: id sets differ: {len(only_e)} expected but absent (e.g. {only_e[:3]}), "
              f"{len(only_g)} present but not expected (e.g. {only_g[:3]})")
        failures += 1
    common = sorted(exp_ids & got_ids)
    print(f"{label}: {len(expected)} expected ids, {len(got_rows)} produced, {len(common)} compared")
    for feat in features:
        name = feat["name"]
        if name not in cols:
            continue
        if name not in computed:
            if "seed_based" in feat:
                print(f"  skip {name:<40} (graph feature: not recomputed by this oracle)")
            else:
                print(f"  FAIL {name:<40} no oracle for this tabular feature")
                failures += 1
            continue
        unavailable = any(t in absent for t in feat["needs"])
        bad = []
        for i in common:
            e = None if unavailable else expected[i][name]
            g = got_rows[i][name]
            if not close(e, g):
                bad.append((i, e, g))
        status = "ok  " if not bad else "FAIL"
        note = " (unavailable: all null)" if unavailable else ""
        nonnull = sum(expected[i][name] is not None for i in common) if not unavailable else 0
        print(f"  {status} {name:<40} n={len(common):<6} mismatched={len(bad):<6} non-null expected={nonnull}{note}")
        for i, e, g in bad[:3]:
            print(f"         {key}={i} expected={e!r} got={g!r}")
        failures += bool(bad)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input_dir", type=Path)
    ap.add_argument("features_dir", type=Path)
    ap.add_argument("as_of", type=dt.date.fromisoformat)
    ap.add_argument("window_days", type=int)
    ap.add_argument("--threshold", type=int, default=31)
    args = ap.parse_args()
    catalog = tomllib.loads(CATALOG.read_text())["feature"]
    try:
        tables, absent, quarantined = load(args.input_dir)
    except BadInput as e:
        print(f"unusable input: {e}")
        return 2
    print(f"input: {', '.join(f'{k}={v.height}' for k, v in tables.items())}; absent: {sorted(absent) or 'none'}; "
          f"quarantined rows: {quarantined}")
    G, A = compute(tables, absent, args.as_of, args.window_days, args.threshold)
    failures = compare("group_features", "group_id", G, GROUP_FEATURES + SEED_GROUP_FEATURES, args.features_dir / "group_features.parquet",
                       [f for f in catalog if f["entity"] == "group"], absent)
    failures += compare("account_features", "account_id", A, ACCOUNT_FEATURES + SEED_ACCOUNT_FEATURES,
                        args.features_dir / "account_features.parquet",
                        [f for f in catalog if f["entity"] == "account"], absent)
    print("all features match" if failures == 0 else f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
