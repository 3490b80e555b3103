//! The data contract in code.
//!
//! The machine-readable contract lives in `data-schemas/*.toml`, one versioned file per
//! table. Those files are compiled into the binary (`include_str!`) and parsed here, so the
//! validator, the generator and every later stage read the same definitions: a column added to
//! a schema file is checked and generated without further code, and `tests/it/contract.rs` fails
//! if the files and `data-contract.md` disagree.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Schema files, embedded at compile time. The order is the order tables are reported in.
const SCHEMA_FILES: &[(&str, &str)] = &[
    ("accounts", include_str!("../data-schemas/accounts.toml")),
    ("groups", include_str!("../data-schemas/groups.toml")),
    ("memberships", include_str!("../data-schemas/memberships.toml")),
    ("invite_links", include_str!("../data-schemas/invite_links.toml")),
    ("forwards", include_str!("../data-schemas/forwards.toml")),
    ("reports", include_str!("../data-schemas/reports.toml")),
    ("blocks", include_str!("../data-schemas/blocks.toml")),
    ("hash_bank", include_str!("../data-schemas/hash_bank.toml")),
    ("labels", include_str!("../data-schemas/labels.toml")),
    ("review_decisions", include_str!("../data-schemas/review_decisions.toml")),
    ("group_features", include_str!("../data-schemas/group_features.toml")),
    ("account_features", include_str!("../data-schemas/account_features.toml")),
    ("group_scores", include_str!("../data-schemas/group_scores.toml")),
    ("account_scores", include_str!("../data-schemas/account_scores.toml")),
    ("clusters", include_str!("../data-schemas/clusters.toml")),
    ("cluster_members", include_str!("../data-schemas/cluster_members.toml")),
    ("cluster_timeline", include_str!("../data-schemas/cluster_timeline.toml")),
    ("cluster_edges", include_str!("../data-schemas/cluster_edges.toml")),
    ("hash_matches", include_str!("../data-schemas/hash_matches.toml")),
    ("quarantine", include_str!("../data-schemas/quarantine.toml")),
    ("oof_scores", include_str!("../data-schemas/oof_scores.toml")),
];

/// Defines the typed codes of one enum column of the contract: the variants in the schema
/// file's order (which is also their sort order), their spellings in the data, `as_str` and
/// `parse`. A unit test checks each against its column's `values`.
macro_rules! contract_enum {
    ($(#[$meta:meta])* $name:ident: $table:literal . $column:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The table and column of the contract whose values these are.
            pub const COLUMN: (&'static str, &'static str) = ($table, $column);

            /// The value as written in the data.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value written `s`; `None` for anything else.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

contract_enum! {
    /// The two kinds of entity groupwatch scores, flags and ties into networks (the
    /// `entity_kind` and `target_kind` columns); groups sort before accounts.
    EntityKind: "labels"."entity_kind" {
        Group = "group",
        Account = "account",
    }
}

impl EntityKind {
    /// The id column of the kind's tables (`group_id`, `account_id`).
    pub fn id_column(self) -> &'static str {
        match self {
            EntityKind::Group => "group_id",
            EntityKind::Account => "account_id",
        }
    }
}

contract_enum! {
    /// Why a user reported an account or a group (`reports.reason`).
    ReportReason: "reports"."reason" {
        ChildSafety = "child_safety",
        Spam = "spam",
        Scam = "scam",
        Harassment = "harassment",
        Other = "other",
    }
}

contract_enum! {
    /// What a forwarded message carried (`forwards.media_type`).
    MediaType: "forwards"."media_type" {
        Text = "text",
        Image = "image",
        Video = "video",
        Audio = "audio",
        Document = "document",
        Sticker = "sticker",
        Link = "link",
    }
}

impl MediaType {
    /// Images and videos: the media the detection is about.
    pub fn is_image_or_video(self) -> bool {
        matches!(self, MediaType::Image | MediaType::Video)
    }
}

contract_enum! {
    /// Who decided a label (`labels.source`); reviewers' decisions join the labels as `review`.
    LabelSource: "labels"."source" {
        Enforcement = "enforcement",
        Review = "review",
        Appeal = "appeal",
    }
}

/// Logical column types of the contract ("Types accepted" in data-contract.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    /// Pseudonymous 64-bit id: uint64 (full range) or int64 (negative = row problem).
    Id,
    /// Timestamp of any unit, or int64 epoch milliseconds.
    Time,
    String,
    /// String restricted to the column's `values`.
    Enum,
    /// 256-bit PDQ hash: fixed_size_binary(32) or 64 hex characters.
    Pdq,
    Bool,
    /// Any integer type whose values fit `min..=max`.
    SmallInt,
    // Output-only types.
    /// Floating point (f64).
    Float,
    /// Non-negative integer count (u64).
    Count,
    /// List of strings.
    ListString,
    /// List of {feature, value, contribution} structs.
    Contributions,
}

impl LogicalType {
    /// Name as written in the schema files.
    pub fn name(self) -> &'static str {
        match self {
            LogicalType::Id => "id",
            LogicalType::Time => "time",
            LogicalType::String => "string",
            LogicalType::Enum => "enum",
            LogicalType::Pdq => "pdq",
            LogicalType::Bool => "bool",
            LogicalType::SmallInt => "small_int",
            LogicalType::Float => "float",
            LogicalType::Count => "count",
            LogicalType::ListString => "list_string",
            LogicalType::Contributions => "contributions",
        }
    }
}

/// Whether groupwatch reads or writes a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Input,
    Output,
}

/// One column of a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSchema {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: LogicalType,
    pub nullable: bool,
    #[serde(default)]
    pub values: Vec<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub description: String,
}

/// One table of the contract.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    pub table: String,
    pub version: u32,
    pub direction: Direction,
    #[serde(default)]
    pub required: bool,
    pub primary_key: Option<String>,
    /// Column whose UTC date is the `dt=` hive partition key.
    pub event_time: Option<String>,
    /// Columns beyond `columns` that another catalog defines (feature tables).
    pub open_columns: Option<String>,
    /// A table groupwatch adds beyond `data-contract.md` (documented in its schema file
    /// only); `tests/it/contract.rs` compares the page with the other tables.
    #[serde(default)]
    pub extension: bool,
    pub description: String,
    pub columns: Vec<ColumnSchema>,
}

impl TableSchema {
    /// Problems of an output frame against this schema: a missing column, a physical type
    /// that does not carry the logical one, nulls in a non-nullable column, an enum value
    /// outside the list, a duplicate primary key. Empty when the frame conforms.
    pub fn check_output(&self, df: &polars::prelude::DataFrame) -> Vec<String> {
        use polars::prelude::DataType as D;
        let mut problems = Vec::new();
        for c in &self.columns {
            let Ok(col) = df.column(&c.name) else {
                problems.push(format!("{}.{}: column missing", self.table, c.name));
                continue;
            };
            let dt = col.dtype();
            let ok = match c.ty {
                LogicalType::Id | LogicalType::Count => matches!(dt, D::UInt64),
                LogicalType::Float => matches!(dt, D::Float64),
                LogicalType::Bool => matches!(dt, D::Boolean),
                LogicalType::String | LogicalType::Enum => matches!(dt, D::String),
                LogicalType::Time => matches!(dt, D::Datetime(..) | D::Int64),
                LogicalType::ListString => matches!(dt, D::List(inner) if **inner == D::String),
                LogicalType::Contributions => match dt {
                    D::List(inner) => match &**inner {
                        D::Struct(fields) => {
                            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                            names == ["feature", "value", "contribution"]
                        }
                        _ => false,
                    },
                    _ => false,
                },
                LogicalType::Pdq => matches!(dt, D::String | D::Binary),
                LogicalType::SmallInt => dt.is_integer(),
            };
            if !ok {
                problems.push(format!("{}.{}: type {dt} does not carry {}", self.table, c.name, c.ty.name()));
            }
            if !c.nullable && col.null_count() > 0 {
                problems.push(format!("{}.{}: {} null(s) in a non-nullable column", self.table, c.name, col.null_count()));
            }
            if c.ty == LogicalType::Enum && !c.values.is_empty() {
                if let Ok(ca) = col.str() {
                    if let Some(bad) = ca.iter().flatten().find(|v| !c.values.iter().any(|x| x == v)) {
                        problems.push(format!("{}.{}: value {bad:?} not in {:?}", self.table, c.name, c.values));
                    }
                }
            }
        }
        if let Some(pk) = &self.primary_key {
            if let Ok(col) = df.column(pk) {
                if col.n_unique().map(|n| n != df.height()).unwrap_or(false) {
                    problems.push(format!("{}.{pk}: primary key not unique", self.table));
                }
            }
        }
        problems
    }

    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }
}

/// All tables of the contract, in data-flow order.
#[derive(Debug)]
pub struct Contract {
    tables: Vec<TableSchema>,
}

impl Contract {
    /// The contract compiled into this binary. Parsed once; a malformed schema file is a bug
    /// caught by the unit test below, so it panics with the file name rather than returning.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let tables = SCHEMA_FILES
                .iter()
                .map(|(name, text)| parse_schema(name, text).unwrap_or_else(|e| panic!("{e}")))
                .collect();
            Contract { tables }
        })
    }

    pub fn tables(&self) -> &[TableSchema] {
        &self.tables
    }

    pub fn inputs(&self) -> impl Iterator<Item = &TableSchema> {
        self.tables.iter().filter(|t| t.direction == Direction::Input)
    }

    pub fn outputs(&self) -> impl Iterator<Item = &TableSchema> {
        self.tables.iter().filter(|t| t.direction == Direction::Output)
    }

    /// The schema of `name`; panics on a name that is not in the contract (a programming
    /// error: table names in code are literals).
    pub fn table(&self, name: &str) -> &TableSchema {
        self.tables
            .iter()
            .find(|t| t.table == name)
            .unwrap_or_else(|| panic!("table {name:?} is not in the data contract"))
    }

    /// Versions of every table, for run manifests.
    pub fn versions(&self) -> BTreeMap<String, u32> {
        self.tables.iter().map(|t| (t.table.clone(), t.version)).collect()
    }
}

/// Parses and checks one schema file's text.
pub fn parse_schema(file_stem: &str, text: &str) -> Result<TableSchema, String> {
    let t: TableSchema =
        toml::from_str(text).map_err(|e| format!("data-schemas/{file_stem}.toml: {e}"))?;
    let fail = |msg: String| Err(format!("data-schemas/{file_stem}.toml: {msg}"));
    if t.table != file_stem {
        return fail(format!("declares table {:?}", t.table));
    }
    for key in [&t.primary_key, &t.event_time].into_iter().flatten() {
        if t.column(key).is_none() {
            return fail(format!("names column {key:?} that it does not define"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for c in &t.columns {
        if !seen.insert(c.name.as_str()) {
            return fail(format!("defines column {:?} twice", c.name));
        }
        if c.name != c.name.to_lowercase() {
            return fail(format!("column {:?} is not lower-case", c.name));
        }
        match c.ty {
            LogicalType::Enum if c.values.is_empty() => {
                return fail(format!("enum column {:?} lists no values", c.name))
            }
            LogicalType::SmallInt if c.min.is_none() || c.max.is_none() => {
                return fail(format!("small_int column {:?} needs min and max", c.name))
            }
            _ => {}
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_parses() {
        let c = Contract::get();
        assert_eq!(c.tables().len(), SCHEMA_FILES.len());
        assert!(c.table("memberships").required);
        assert_eq!(c.table("forwards").column("batch_size").unwrap().max, Some(255));
    }

    /// Each code enum lists its column's values; the codes keep the schema's order (rows are
    /// sorted by them), entity kinds put groups first whatever the schema lists first.
    #[test]
    fn code_enums_match_their_columns() {
        fn values(column: (&str, &str)) -> Vec<String> {
            Contract::get().table(column.0).column(column.1).unwrap().values.clone()
        }
        fn spelled<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Vec<String> {
            all.iter().map(|&v| as_str(v).to_string()).collect()
        }
        assert_eq!(spelled(ReportReason::ALL, ReportReason::as_str), values(ReportReason::COLUMN));
        assert_eq!(spelled(MediaType::ALL, MediaType::as_str), values(MediaType::COLUMN));
        assert_eq!(spelled(LabelSource::ALL, LabelSource::as_str), values(LabelSource::COLUMN));
        for column in [EntityKind::COLUMN, ("reports", "target_kind"), ("cluster_members", "entity_kind"), ("hash_matches", "entity_kind"), ("oof_scores", "kind")] {
            let mut v = values(column);
            v.sort();
            assert_eq!(v, ["account", "group"], "{column:?}");
        }
        assert_eq!(EntityKind::parse("grup"), None);
        assert!(EntityKind::Group < EntityKind::Account);
        assert_eq!(serde_json::to_string(&EntityKind::Account).unwrap(), "\"account\"");
    }

    #[test]
    fn bad_schema_is_rejected_with_its_file() {
        let err = parse_schema("x", "table = \"y\"\nversion = 1\ndirection = \"input\"\ndescription = \"\"\ncolumns = []").unwrap_err();
        assert!(err.contains("x.toml") && err.contains("\"y\""), "{err}");
    }
}
