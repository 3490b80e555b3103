"""Independent checks of a dataset written by `groupwatch synth`, outside Rust.

Reads the dataset with pyarrow and polars (not with groupwatch's reader) and checks:
- row counts per table equal those recorded in synth.json;
- every column's Arrow type is one the data contract (data-schemas/*.toml) accepts;
- the ground truth is consistent with the dataset;
- with --claims, the distributional claims the generator makes (for a `small` dataset).

Exits non-zero with one line per failed check. Usage:
    python3 check_dataset.py DATASET_DIR [--claims]
"""

import json
import sys
import tomllib
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds

SCHEMAS = Path(__file__).resolve().parents[2] / "data-schemas"
failures = []


def check(ok, msg):
    if not ok:
        failures.append(msg)


def accepted(logical, t):
    if pa.types.is_null(t):
        return True
    if pa.types.is_dictionary(t):
        t = t.value_type
    is_str = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
    return {
        "id": pa.types.is_integer(t),
        "small_int": pa.types.is_integer(t),
        "time": pa.types.is_timestamp(t) or pa.types.is_int64(t),
        "string": is_str,
        "enum": is_str,
        "pdq": is_str or (pa.types.is_fixed_size_binary(t) and t.byte_width == 32),
        "bool": pa.types.is_boolean(t),
    }[logical]


def load_table(input_dir, name):
    single = input_dir / f"{name}.parquet"
    folder = input_dir / name
    if single.exists():
        return ds.dataset(single, format="parquet")
    if folder.exists():
        return ds.dataset(folder, format="parquet", partitioning="hive", ignore_prefixes=["_", "."])
    return None


def main():
    root = Path(sys.argv[1])
    claims = "--claims" in sys.argv[2:]
    input_dir = root / "input"
    meta = json.loads((root / "synth.json").read_text())
    frames = {}
    for path in sorted(SCHEMAS.glob("*.toml")):
        schema = tomllib.loads(path.read_text())
        if schema.get("direction") != "input":
            continue
        name = schema["table"]
        d = load_table(input_dir, name)
        if d is None and schema.get("extension"):
            continue  # a table beyond the contract page that synth does not generate
        check(d is not None, f"{name}: table missing")
        if d is None:
            continue
        table = d.to_table()
        check(table.num_rows == meta["rows"].get(name), f"{name}: {table.num_rows} rows, synth.json says {meta['rows'].get(name)}")
        for col in schema["columns"]:
            check(col["name"] in table.column_names, f"{name}.{col['name']}: column missing")
            if col["name"] in table.column_names:
                t = table.schema.field(col["name"]).type
                check(accepted(col["type"], t), f"{name}.{col['name']}: type {t} not accepted for {col['type']}")
                if not col["nullable"]:
                    check(table.column(col["name"]).null_count == 0, f"{name}.{col['name']}: nulls in non-null column")
        frames[name] = pl.from_arrow(table.drop_columns([c for c in table.column_names if c == "dt"]))
    truth_groups = pl.read_parquet(root / "truth" / "groups.parquet")
    truth_accounts = pl.read_parquet(root / "truth" / "accounts.parquet")
    networks = pl.read_parquet(root / "truth" / "networks.parquet")
    groups, accounts, labels = frames["groups"], frames["accounts"], frames["labels"]

    # Ground truth is consistent with the dataset.
    check(truth_groups.height == groups.height, "truth/groups does not list every group")
    check(truth_groups["group_id"].is_in(groups["group_id"].implode()).all(), "truth names groups not in the dataset")
    check(truth_accounts["account_id"].is_in(accounts["account_id"].implode()).all(), "truth names accounts not in the dataset")
    n_viol = truth_groups["violating"].sum()
    check(n_viol == networks["n_groups"].sum(), "violating groups in truth != sum of network sizes")
    check(networks["camouflaged"].any() and (~networks["camouflaged"]).any(), "need both camouflaged and loud networks")
    check(groups["group_id"].n_unique() == groups.height, "group ids not unique")
    check(accounts["account_id"].n_unique() == accounts.height, "account ids not unique")
    check((accounts["account_id"] > 2**63).any(), "no id uses the upper half of the u64 range")

    # Labels reveal part of the truth: most violating labels are on truly violating groups.
    latest = labels.sort("ts").group_by("entity_kind", "entity_id").agg(pl.col("label").last())
    g_lab = latest.filter(pl.col("entity_kind") == "group").join(truth_groups, left_on="entity_id", right_on="group_id")
    viol_labelled = g_lab.filter(pl.col("label") == "violating")
    check(viol_labelled.height > 0, "no violating group labels")
    check(viol_labelled["violating"].all(), "a group whose latest label is violating is not violating in truth")
    revealed = viol_labelled.height / max(n_viol, 1)
    check(0.15 <= revealed <= 0.85, f"share of violating groups labelled = {revealed:.2f}, expected a part of the truth")
    check(labels.filter((pl.col("source") == "appeal") & (pl.col("label") == "benign")).height > 0, "no upheld appeals")
    check(labels.filter((pl.col("source") == "review") & (pl.col("label") == "benign")).height > 0, "no benign review labels")

    if claims:
        fwd = frames["forwards"]
        one_to_one = fwd["dst_account_id"].is_not_null().mean()
        check(0.85 <= one_to_one <= 0.95, f"share of 1:1 forwards {one_to_one:.3f}, expected about 0.9")
        check((fwd["batch_size"] <= 5).all(), "batch_size above the client cap of 5")
        check(fwd.filter(pl.col("frequently_forwarded"))["batch_size"].max() == 1, "frequently forwarded with batch > 1")
        # Membership state at as-of: replay joins against leaves and removals.
        m = frames["memberships"].unique()
        state = (
            m.filter(pl.col("event").is_in(["join", "leave", "removed"]))
            .sort("ts", maintain_order=True)
            .group_by("group_id", "account_id")
            .agg(pl.col("event").last())
            .filter(pl.col("event") == "join")
        )
        sizes = state.group_by("group_id").len()["len"]
        check(sizes.median() < 10, f"median group size {sizes.median()}, expected under 10")
        check(sizes.max() >= 200, f"largest group {sizes.max()}, expected a heavy tail")
        check(sizes.max() <= 1024, "a group above the 1024-member cap")
        per_account = state.group_by("account_id").len()["len"]
        check(1 <= per_account.median() <= 8, f"median groups per account {per_account.median()}")
        span_days = (accounts["created_at"].max() - accounts["created_at"].min()).total_seconds() / 86400
        check(span_days > 5 * 365, f"accounts created over {span_days:.0f} days, expected years")
        prevalence = n_viol / groups.height
        check(0.0005 <= prevalence < 0.01, f"violating group prevalence {prevalence:.4f}, expected well under 1 %")

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("all dataset checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
