"""Writes a small hand-made input dataset whose rows exercise the feature definitions' edge
cases (the synthetic generator rarely or never produces them), for features_oracle.py.

Usage:
    python3 features_edge_cases.py OUT_DIR      # writes OUT_DIR/input; as-of 2026-11-24

Each case is commented where its rows are written. Identifiers are small integers: accounts
1..9 (9 has no accounts row), groups 100..101, invite links 900..999.
"""

import datetime as dt
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc)  # end of the as-of day 2026-11-24
TS = pa.timestamp("ms", tz="UTC")
P1 = "0f" * 32
P1_NEAR = "0f" * 31 + "00"  # 4 bits from P1


def t(days=0.0, hours=0.0):
    return NOW + dt.timedelta(days=days, hours=hours)


def ms(x):
    return int(x.timestamp() * 1000)


def write(path: Path, columns: dict, schema: pa.Schema):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns, schema=schema), path)


def rows_to_columns(names, rows):
    return {n: list(c) for n, c in zip(names, zip(*rows))}


def main():
    inp = Path(sys.argv[1]) / "input"

    # accounts: 2 is 3 days old (young), 5 one day old; 3 has an upper-case PDQ; is_business
    # unknown for 3 and 6. Account 9 appears in events only.
    write(inp / "accounts" / "part-0.parquet", {
        "account_id": [1, 2, 3, 4, 5, 6, 7],
        "created_at": [t(-400), t(-3), t(-10), t(-100), t(-1), t(-50), t(-6)],
        "country": ["BR", None, None, None, None, None, None],
        "is_business": [True, False, None, False, True, None, False],
        "about": [None] * 7,
        "photo_pdq": [P1_NEAR, None, "AB" * 32, None, None, None, None],
    }, pa.schema([("account_id", pa.uint64()), ("created_at", TS), ("country", pa.string()),
                  ("is_business", pa.bool_()), ("about", pa.string()), ("photo_pdq", pa.string())]))
    # Files the reader must ignore.
    (inp / "accounts" / "_SUCCESS").write_text("")
    (inp / "accounts" / ".part-0.parquet.crc").write_text("")

    # groups: 100's photo is fixed_size_binary and 0 bits from the bank entry; 101 has none.
    write(inp / "groups.parquet", {
        "group_id": [100, 101],
        "created_at": [t(-200), t(-20)],
        "creator_id": [1, 2],
        "subject": [None, None], "description": [None, None],
        "photo_pdq": [bytes.fromhex(P1), None],
        "admins_only_add": [None, None], "join_approval": [None, None],
    }, pa.schema([("group_id", pa.uint64()), ("created_at", TS), ("creator_id", pa.uint64()),
                  ("subject", pa.string()), ("description", pa.string()), ("photo_pdq", pa.binary(32)),
                  ("admins_only_add", pa.bool_()), ("join_approval", pa.bool_())]))

    names = ["ts", "group_id", "account_id", "event", "method", "invite_link_id", "actor_id"]
    memberships = [
        (t(-200), 100, 1, "join", "creator", None, None),
        (t(-20), 101, 2, "join", "creator", None, None),
        (t(-10), 100, 3, "join", "approval", None, 1),        # approval join not through a link
        (t(-9), 100, 4, "join", "invite_link", 900, None),    # link 900 is not in invite_links
        (t(-9), 100, 4, "join", "invite_link", 900, None),    # exact duplicate: counts once
        (t(-8), 100, 5, "join", "invite_link", 901, None),    # two joins differing only in their
        (t(-8), 100, 5, "join", "invite_link", 902, None),    # (unknown) link: not duplicates
        (t(-7), 100, 6, "join", None, None, None),            # a join without a method
        (t(-6), 100, 9, "join", "added", None, 1),            # a member without an accounts row
        (t(-5), 100, 6, "promote", None, None, 1),
        (t(-4), 100, 4, "leave", None, None, None),
        (t(-4), 100, 7, "leave", None, None, None),           # leave of a non-member
        (t(-3), 101, 3, "join", "invite_link", 950, None),    # link 950 is revoked after now
        (t(-2), 101, 5, "join", "approval", 950, 2),          # approval through a link
        (t(-1), 101, 7, "join", "added", None, 2),            # same time: join, then removed
        (t(-1), 101, 7, "removed", None, None, 2),
        (t(-1), 101, 7, "demote", None, None, 2),             # demote of a non-member
        (t(0, 3), 101, 4, "join", "added", None, 2),          # after now: not yet happened
    ]
    write(inp / "memberships" / "part-0.parquet", rows_to_columns(names, memberships),
          pa.schema([("ts", TS), ("group_id", pa.uint64()), ("account_id", pa.uint64()), ("event", pa.string()),
                     ("method", pa.string()), ("invite_link_id", pa.uint64()), ("actor_id", pa.uint64())]))
    # A second file in a dt= partition with other physical types: int64 epoch-ms times and
    # int64 ids, a dictionary-encoded enum, and no actor_id column (reads as null).
    day = t(-0.5)
    write(inp / "memberships" / f"dt={day.date().isoformat()}" / "part-0.parquet", {
        "ts": [ms(day)], "group_id": [101], "account_id": [6],
        "event": pa.array(["join"]).dictionary_encode(), "method": ["invite_link"], "invite_link_id": [951],
    }, pa.schema([("ts", pa.int64()), ("group_id", pa.int64()), ("account_id", pa.int64()),
                  ("event", pa.dictionary(pa.int32(), pa.string())), ("method", pa.string()),
                  ("invite_link_id", pa.int64())]))

    names = ["link_id", "group_id", "created_by", "created_at", "revoked_at"]
    links = [
        (950, 101, 2, t(-5), t(3)),          # revoked 3 days after now: not revoked at now
        (951, 101, 2, t(-4), t(-2)),         # revoked in the window; lifetime 48 h
        (952, 101, 2, t(-40), t(-39.5)),     # revoked before the window; lifetime 12 h -> median 30 h
        (953, 100, 1, t(-2), None),
    ]
    write(inp / "invite_links" / "part-0.parquet", rows_to_columns(names, links),
          pa.schema([("link_id", pa.uint64()), ("group_id", pa.uint64()), ("created_by", pa.uint64()),
                     ("created_at", TS), ("revoked_at", TS)]))

    names = ["ts", "sender_id", "src_group_id", "dst_group_id", "dst_account_id", "media_type", "media_fp",
             "frequently_forwarded", "action_id", "batch_size"]
    forwards = [
        (t(-3), 1, 100, 100, None, "image", 77, True, 1000, 2),   # out of and into group 100: one row
        (t(-3), 1, 100, 101, None, "image", 77, False, 1000, 2),
        (t(-2), 3, None, 100, None, "video", 78, False, None, 5), # a capped batch without an action id
        (t(-2), 3, None, 101, None, "video", 78, False, 1002, 5),
        (t(-2), 3, None, None, 2, "text", None, False, 1001, 1),
        (t(-2), 3, None, None, 2, "text", None, False, 1001, 1),  # exact duplicate
        (t(-40), 3, None, 100, None, "video", 79, False, 1003, 5),  # before the window
    ]
    write(inp / "forwards" / "part-0.parquet", rows_to_columns(names, forwards),
          pa.schema([("ts", TS), ("sender_id", pa.uint64()), ("src_group_id", pa.uint64()),
                     ("dst_group_id", pa.uint64()), ("dst_account_id", pa.uint64()), ("media_type", pa.string()),
                     ("media_fp", pa.uint64()), ("frequently_forwarded", pa.bool_()), ("action_id", pa.uint64()),
                     ("batch_size", pa.uint8())]))

    write(inp / "reports" / "part-0.parquet", {
        "ts": [t(-1), t(-1), t(-2), t(-45)],
        "reporter_id": [2, 4, 2, 2],
        "target_kind": ["account", "account", "group", "account"],
        "target_id": [3, 3, 100, 3],
        "reason": ["child_safety", "spam", "child_safety", "child_safety"],
    }, pa.schema([("ts", TS), ("reporter_id", pa.uint64()), ("target_kind", pa.string()),
                  ("target_id", pa.uint64()), ("reason", pa.string())]))
    write(inp / "blocks" / "part-0.parquet", {
        "ts": [t(-1), t(-1.5), t(-2)], "blocker_id": [2, 4, 7], "blocked_id": [6, 6, 6],
        "unknown_contact": [True, False, True],
    }, pa.schema([("ts", TS), ("blocker_id", pa.uint64()), ("blocked_id", pa.uint64()),
                  ("unknown_contact", pa.bool_())]))
    # hash_bank as a single file; an upper-case hex PDQ.
    write(inp / "hash_bank.parquet", {"pdq": [P1.upper(), "f0" * 32], "bank": ["a", "b"], "added_at": [None, t(-30)]},
          pa.schema([("pdq", pa.string()), ("bank", pa.string()), ("added_at", TS)]))


if __name__ == "__main__":
    main()
