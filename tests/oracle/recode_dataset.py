"""Rewrites a dataset with other physical encodings the data contract accepts.

times -> timestamp[us, tz=UTC] (event tables) or int64 epoch milliseconds (labels, links);
strings and enums -> dictionary<int32, string>; PDQ hex -> fixed_size_binary(32);
small ints -> int16. Ids stay uint64 (synthetic ids use the full 64-bit range). The layout
(folders, dt= partitions, file names) is kept. Usage: recode_dataset.py SRC_INPUT DST_INPUT
"""

import sys
import tomllib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SCHEMAS = Path(__file__).resolve().parents[2] / "data-schemas"


def recode(table_name, t, schema):
    cols = {c["name"]: c for c in schema["columns"]}
    out = []
    for name in t.column_names:
        col = t.column(name)
        ty = cols[name]["type"]
        if ty == "time":
            if table_name in ("labels", "invite_links"):
                col = pc.cast(pc.cast(col, pa.timestamp("ms")), pa.int64())
            else:
                col = pc.cast(pc.cast(col, pa.timestamp("ms")), pa.timestamp("us", tz="UTC"))
        elif ty in ("string", "enum"):
            col = pc.dictionary_encode(pc.cast(col, pa.string()))
        elif ty == "pdq":
            col = pa.array([None if v is None else bytes.fromhex(v) for v in col.to_pylist()], type=pa.binary(32))
        elif ty == "small_int":
            col = pc.cast(col, pa.int16())
        out.append(col)
    return pa.table(out, names=t.column_names)


def main():
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    for path in sorted(src.rglob("*.parquet")):
        rel = path.relative_to(src)
        table_name = rel.parts[0].removesuffix(".parquet")
        schema = tomllib.loads((SCHEMAS / f"{table_name}.toml").read_text())
        t = recode(table_name, pq.read_table(path, partitioning=None), schema)
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(t, target)
    print("recoded", src, "->", dst)


if __name__ == "__main__":
    main()
