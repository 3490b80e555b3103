"""Builds fuzz/base/: a tiny, valid, consistent dataset (one file per table) cut from a
`groupwatch synth` dataset, and fuzz/seeds/: one corpus seed per table (selector byte + the
table's Parquet bytes). Usage: python3 fuzz/make_base.py SYNTH_INPUT_DIR"""
import glob
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# The order the fuzz target's first byte selects from (keep in step with fuzz_targets).
TABLES = ["accounts", "groups", "memberships", "invite_links", "forwards", "reports",
          "blocks", "hash_bank", "labels", "review_decisions"]

src = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))


def read(table):
    files = sorted(glob.glob(f"{src}/{table}/**/*.parquet", recursive=True))
    files += glob.glob(f"{src}/{table}.parquet")
    if not files:
        return None
    # File by file, so hive dt= folders do not become a column.
    t = pa.concat_tables([pq.read_table(f, partitioning=None) for f in files])
    # pyarrow's compute kernels lack view types; plain utf8/binary are equally valid input.
    plain = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}
    return t.cast(pa.schema([f.with_type(plain.get(f.type, f.type)) for f in t.schema]))


def isin(t, col, ids):
    return t.filter(pc.is_in(t[col], value_set=pa.array(sorted(ids), type=t[col].type)))


m = read("memberships")
groups_all = read("groups")
keep_groups = set(pc.unique(m["group_id"]).to_pylist()[:3])
m = isin(m, "group_id", keep_groups).slice(0, 40)
g = isin(groups_all, "group_id", keep_groups)
acc_ids = set(m["account_id"].to_pylist()) | set(g["creator_id"].to_pylist())
acc_ids |= {a for a in m["actor_id"].to_pylist() if a is not None}
a = isin(read("accounts"), "account_id", acc_ids)
out = {"accounts": a, "groups": g, "memberships": m}
links = read("invite_links")
if links is not None:
    out["invite_links"] = isin(links, "group_id", keep_groups).slice(0, 5)
for t, col in [("forwards", "sender_id"), ("reports", "reporter_id"), ("blocks", "blocker_id")]:
    tab = read(t)
    if tab is not None:
        sub = isin(tab, col, acc_ids)
        out[t] = (sub if sub.num_rows else tab).slice(0, 8)
for t in ["hash_bank", "labels"]:
    tab = read(t)
    if tab is not None:
        out[t] = tab.slice(0, 5)

# review_decisions is not in the base (an absent optional table); it has a seed of its own.
acc = a["account_id"].to_pylist()
grp = g["group_id"].to_pylist()
ts = pa.array([1_763_900_000_000] * 3, type=pa.timestamp("ms", tz="UTC"))
review = pa.table({"entity_kind": ["account", "group", "cluster"], "entity_id": pa.array([acc[0], grp[0], 7], type=pa.uint64()),
                   "decision": ["confirmed", "dismissed", "confirmed"], "reviewer": ["r1", "r2", "r1"], "ts": ts})
os.makedirs(f"{here}/base", exist_ok=True)
os.makedirs(f"{here}/seeds", exist_ok=True)
for t, tab in [*out.items(), ("review_decisions", review)]:
    path = f"{here}/base/{t}.parquet" if t in out else f"{here}/seeds/{t}.parquet"
    pq.write_table(tab, path)
    with open(path, "rb") as f:
        body = f.read()
    with open(f"{here}/seeds/{t}", "wb") as f:
        f.write(bytes([TABLES.index(t)]) + body)
    if t not in out:
        os.remove(path)
    print(t, tab.num_rows, "rows", len(body), "bytes")
