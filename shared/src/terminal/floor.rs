//! The floor plan: the dining room's tables, where they stand and how many they seat, from a
//! TOML file (`assets/floor.toml` is the commented example and the built-in default). The
//! terminal draws it and checks every table a check is opened at or moved to against it.
//!
//! A file is refused whole at the first mistake, naming the table: a misspelt field, a table
//! outside the plan, two tables overlapping, a seat count outside 1–30, a bad id.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The floor plan shipped in `assets/` (the default of every terminal).
pub const DEFAULT_FLOOR: &str = include_str!("../../../assets/floor.toml");

/// The largest floor-plan file read.
pub const MAX_FLOOR_BYTES: usize = 256 * 1024;
/// At most this many tables.
pub const MAX_TABLES: usize = 300;
/// At most this many seats at one table.
pub const MAX_SEATS: u32 = 30;

/// How a table is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    #[default]
    Square,
    Round,
    Booth,
}

/// One table of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// What checks record; 1 to 16 letters, digits, `_` or `-`.
    pub id: String,
    pub name: String,
    pub seats: u32,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    pub shape: Shape,
    pub area: Option<String>,
}

/// A validated floor plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FloorPlan {
    pub name: Option<String>,
    pub width: u32,
    pub height: u32,
    /// In reading order: by area (tables without one first), then by id (numbers by value).
    tables: Vec<Table>,
}

/// Why a floor plan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FloorError {
    #[error("the floor plan is {0} bytes; at most {MAX_FLOOR_BYTES} are read")]
    TooLarge(usize),
    #[error("the floor plan does not read: {0}")]
    Format(String),
    #[error("the floor plan has no tables")]
    NoTables,
    #[error("the floor plan has {0} tables; at most {MAX_TABLES}")]
    TooManyTables(usize),
    #[error("the plan must be 100 to 10000 units wide and high, not {width} × {height}")]
    BadSize { width: u32, height: u32 },
    #[error("table `{table}`: {problem}")]
    Table { table: String, problem: String },
    #[error("tables `{0}` and `{1}` overlap")]
    Overlap(String, String),
    #[error("{0}: {1}")]
    File(String, String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: Option<String>,
    width: u32,
    height: u32,
    #[serde(default)]
    tables: BTreeMap<String, RawTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: Option<String>,
    seats: u32,
    x: u32,
    y: u32,
    #[serde(default = "default_size")]
    w: u32,
    #[serde(default = "default_size")]
    h: u32,
    #[serde(default)]
    shape: Shape,
    area: Option<String>,
}

fn default_size() -> u32 {
    120
}

fn valid_id(id: &str) -> bool {
    (1..=16).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn short_text(text: &str, what: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 30 {
        return Err(format!("{what}: give 1 to 30 characters"));
    }
    Ok(text.to_owned())
}

/// Orders ids as people count tables: numbers by value, before names.
fn id_order(id: &str) -> (u64, String) {
    (id.parse::<u64>().unwrap_or(u64::MAX), id.to_owned())
}

impl FloorPlan {
    /// Parses and checks a floor plan's text.
    pub fn parse(text: &str) -> Result<FloorPlan, FloorError> {
        if text.len() > MAX_FLOOR_BYTES {
            return Err(FloorError::TooLarge(text.len()));
        }
        let raw: RawPlan = toml::from_str(text).map_err(|e| FloorError::Format(e.to_string()))?;
        if !(100..=10_000).contains(&raw.width) || !(100..=10_000).contains(&raw.height) {
            return Err(FloorError::BadSize {
                width: raw.width,
                height: raw.height,
            });
        }
        if raw.tables.is_empty() {
            return Err(FloorError::NoTables);
        }
        if raw.tables.len() > MAX_TABLES {
            return Err(FloorError::TooManyTables(raw.tables.len()));
        }
        let name = raw
            .name
            .as_deref()
            .map(|n| short_text(n, "name").map_err(FloorError::Format))
            .transpose()?;
        let mut tables = Vec::with_capacity(raw.tables.len());
        for (id, t) in raw.tables {
            let problem = |problem: String| FloorError::Table {
                table: id.clone(),
                problem,
            };
            if !valid_id(&id) {
                return Err(problem(
                    "an id is 1 to 16 letters, digits, _ or -".to_owned(),
                ));
            }
            if !(1..=MAX_SEATS).contains(&t.seats) {
                return Err(problem(format!(
                    "seats {} (a table seats 1 to {MAX_SEATS})",
                    t.seats
                )));
            }
            if t.w < 20 || t.h < 20 {
                return Err(problem(
                    "a table is at least 20 units wide and high".to_owned(),
                ));
            }
            let fits = t.x.checked_add(t.w).is_some_and(|r| r <= raw.width)
                && t.y.checked_add(t.h).is_some_and(|b| b <= raw.height);
            if !fits {
                return Err(problem(format!(
                    "it does not fit in the plan ({} × {})",
                    raw.width, raw.height
                )));
            }
            let table_name = match &t.name {
                Some(n) => short_text(n, "name").map_err(problem)?,
                None => id.clone(),
            };
            let area = t
                .area
                .as_deref()
                .map(|a| short_text(a, "area"))
                .transpose()
                .map_err(problem)?;
            tables.push(Table {
                id: id.clone(),
                name: table_name,
                seats: t.seats,
                x: t.x,
                y: t.y,
                w: t.w,
                h: t.h,
                shape: t.shape,
                area,
            });
        }
        for (i, a) in tables.iter().enumerate() {
            for b in &tables[i + 1..] {
                let apart =
                    a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                if !apart {
                    return Err(FloorError::Overlap(a.id.clone(), b.id.clone()));
                }
            }
        }
        tables.sort_by(|a, b| {
            (a.area.is_some(), &a.area, id_order(&a.id)).cmp(&(
                b.area.is_some(),
                &b.area,
                id_order(&b.id),
            ))
        });
        Ok(FloorPlan {
            name,
            width: raw.width,
            height: raw.height,
            tables,
        })
    }

    /// The built-in plan (`assets/floor.toml`).
    pub fn default_plan() -> FloorPlan {
        FloorPlan::parse(DEFAULT_FLOOR)
            .expect("the built-in floor plan is valid (a test checks it)")
    }

    /// Reads and checks a floor-plan file.
    pub fn load(path: &Path) -> Result<FloorPlan, FloorError> {
        let file = |e: String| FloorError::File(path.display().to_string(), e);
        let size = std::fs::metadata(path)
            .map_err(|e| file(e.to_string()))?
            .len();
        if size > MAX_FLOOR_BYTES as u64 {
            return Err(FloorError::TooLarge(
                usize::try_from(size).unwrap_or(usize::MAX),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| file(e.to_string()))?;
        FloorPlan::parse(&text).map_err(|e| file(e.to_string()))
    }

    /// Every table, in reading order.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "width = 1000\nheight = 800\n";

    fn check(tables: &str, expected: Result<usize, &str>) {
        let text = format!("{ONE}{tables}");
        let got = FloorPlan::parse(&text).map(|p| p.tables().len());
        match (&got, expected) {
            (Ok(n), Ok(m)) => assert_eq!(*n, m, "{tables}"),
            (Err(e), Err(wanted)) => {
                assert!(
                    e.to_string().contains(wanted),
                    "{tables}: `{e}` lacks `{wanted}`"
                )
            }
            _ => panic!("{tables}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn the_built_in_plan_loads_with_its_tables_in_reading_order() {
        let plan = FloorPlan::default_plan();
        let ids: Vec<&str> = plan.tables().iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "10", "11", "12", "14", "15", "16", "bar", "20", "21", "22", "1", "2", "3", "4"
            ]
        );
        let twelve = plan.table("12").expect("table 12");
        assert_eq!((twelve.seats, twelve.name.as_str()), (4, "12"));
        assert_eq!(plan.table("bar").map(|t| t.name.as_str()), Some("Bar"));
    }

    #[test]
    fn a_bad_plan_is_refused_whole_naming_the_table() {
        check("[tables.1]\nseats = 2\nx = 0\ny = 0\n", Ok(1));
        check("", Err("no tables"));
        check(
            "[tables.1]\nseats = 0\nx = 0\ny = 0\n",
            Err("table `1`: seats 0"),
        );
        check("[tables.1]\nseats = 31\nx = 0\ny = 0\n", Err("seats 31"));
        check(
            "[tables.1]\nseats = 2\nx = 950\ny = 0\n",
            Err("table `1`: it does not fit"),
        );
        check(
            "[tables.1]\nseats = 2\nx = 0\ny = 0\n[tables.2]\nseats = 2\nx = 100\ny = 100\n",
            Err("tables `1` and `2` overlap"),
        );
        check(
            "[tables.1]\nseats = 2\nx = 0\ny = 0\n[tables.2]\nseats = 2\nx = 120\ny = 0\n",
            Ok(2),
        );
        check(
            "[tables.\"a b\"]\nseats = 2\nx = 0\ny = 0\n",
            Err("an id is 1 to 16"),
        );
        check(
            "[tables.1]\nseats = 2\nx = 0\ny = 0\nsaets = 3\n",
            Err("unknown field `saets`"),
        );
        check(
            "[tables.1]\nseats = 2\nx = 0\ny = 0\nname = \"\"\n",
            Err("name: give 1 to 30"),
        );
        assert!(matches!(
            FloorPlan::parse("width = 10\nheight = 800\n"),
            Err(FloorError::BadSize { .. })
        ));
        assert!(matches!(
            FloorPlan::parse(&" ".repeat(MAX_FLOOR_BYTES + 1)),
            Err(FloorError::TooLarge(_))
        ));
    }
}
