//! Reading the simulator's and the evaluator's input files: CSV with a header row (columns are
//! found by name, so their order does not matter and extra columns are ignored), read as
//! gzip when the name ends in `.gz`.
//!
//! A bad row never stops a run: it is counted under its reason, the first few are quoted with
//! their line number, and the row is skipped. Only problems that make the whole file unusable
//! (it cannot be opened or decompressed, its header lacks a required column, no row is valid)
//! are errors.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use kindred_core::{Catalog, EventKind, Strategy, DAY_MS};
use serde_json::{Map, Value};

use crate::time;

/// Lines quoted per file in the skipped-rows summary.
const EXAMPLES: usize = 5;

/// A file that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: cannot read line {line}: {message}", path.display())]
    Read {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}: the header must name the columns {expected} (found \"{found}\")", path.display())]
    Header {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{}: no usable row ({skipped} skipped{first})", path.display())]
    NothingUsable {
        path: PathBuf,
        skipped: u64,
        /// `"; first: ..."` or empty.
        first: String,
    },
}

/// Rows skipped while reading one file: a count per reason and the first few lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    pub by_reason: BTreeMap<String, u64>,
    /// `line N: reason (detail)`, at most [`EXAMPLES`].
    pub examples: Vec<String>,
}

impl Skipped {
    pub fn note(&mut self, line: u64, reason: &str, detail: impl fmt::Display) {
        *self.by_reason.entry(reason.to_owned()).or_default() += 1;
        if self.examples.len() < EXAMPLES {
            self.examples
                .push(format!("line {line}: {reason} ({detail})"));
        }
    }

    pub fn total(&self) -> u64 {
        self.by_reason.values().sum()
    }

    fn first(&self) -> String {
        self.examples
            .first()
            .map_or_else(String::new, |e| format!("; first: {e}"))
    }
}

impl fmt::Display for Skipped {
    /// `0 skipped`, or `3 skipped (unknown item: 2, bad timestamp: 1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} skipped", self.total())?;
        if !self.by_reason.is_empty() {
            let parts: Vec<String> = self
                .by_reason
                .iter()
                .map(|(reason, n)| format!("{reason}: {n}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Opens a file for reading, decompressing it when its name ends in `.gz`.
pub fn open_text(path: &Path) -> Result<Box<dyn Read + Send>, InputError> {
    let file = File::open(path).map_err(|source| InputError::Open {
        path: path.to_owned(),
        source,
    })?;
    let reader = BufReader::with_capacity(1 << 16, file);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// A CSV file with its header, rows read one by one.
pub struct Table {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    columns: HashMap<String, usize>,
    header: String,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// One data row: its line number and fields (not yet known to be UTF-8).
#[derive(Debug)]
pub struct Row {
    pub line: u64,
    pub record: csv::ByteRecord,
}

impl Row {
    /// The field at `column` as text; `None` when missing or not UTF-8.
    pub fn get(&self, column: usize) -> Option<&str> {
        self.record
            .get(column)
            .and_then(|b| std::str::from_utf8(b).ok())
    }
}

impl Table {
    /// Opens `path` and checks that its header names every column of `required`.
    pub fn open(path: &Path, required: &[&str]) -> Result<Table, InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(open_text(path)?);
        let header = reader
            .byte_headers()
            .map_err(|e| read_error(path, &e))?
            .clone();
        let names: Vec<String> = header
            .iter()
            .map(|b| {
                String::from_utf8_lossy(b)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_owned()
            })
            .collect();
        let columns: HashMap<String, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let table = Table {
            path: path.to_owned(),
            reader,
            columns,
            header: names.join(","),
        };
        if required.iter().any(|c| !table.columns.contains_key(*c)) {
            return Err(InputError::Header {
                path: path.to_owned(),
                expected: required.join(","),
                found: table.header,
            });
        }
        Ok(table)
    }

    /// The index of a column, when the header has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }

    /// Number of columns the header names (rows with another count are malformed).
    pub fn width(&self) -> usize {
        self.columns.values().max().map_or(0, |m| m + 1)
    }

    /// The next row, `None` at the end. Reading errors (broken gzip, I/O) end the run:
    /// the rest of the file is unreadable, so skipping would silently lose it.
    pub fn next_row(&mut self) -> Result<Option<Row>, InputError> {
        let mut record = csv::ByteRecord::new();
        match self.reader.read_byte_record(&mut record) {
            Ok(false) => Ok(None),
            Ok(true) => Ok(Some(Row {
                line: record.position().map_or(0, csv::Position::line),
                record,
            })),
            Err(e) => Err(read_error(&self.path, &e)),
        }
    }
}

fn read_error(path: &Path, e: &csv::Error) -> InputError {
    InputError::Read {
        path: path.to_owned(),
        line: e.position().map_or(0, csv::Position::line),
        message: match e.kind() {
            csv::ErrorKind::Io(io) => io.to_string(),
            _ => e.to_string(),
        },
    }
}

fn nothing_usable(path: &Path, skipped: &Skipped) -> InputError {
    InputError::NothingUsable {
        path: path.to_owned(),
        skipped: skipped.total(),
        first: skipped.first(),
    }
}

/// The catalog read from an items file (`item,title` and optionally `price`, `description`,
/// `categories`, `brand`, `available`).
#[derive(Debug)]
pub struct Items {
    pub catalog: Catalog,
    pub rows: u64,
    pub skipped: Skipped,
}

/// Reads the items file into a validated catalog. `categories` holds one or more category
/// paths separated by `|` (`Home > Kitchen|Gifts`); every other check is the catalog's own
/// (the browser runs the same validation), and a row it rejects is skipped with its reason.
pub fn read_items(path: &Path) -> Result<Items, InputError> {
    let mut table = Table::open(path, &["item", "title"])?;
    let col = |t: &Table, name| t.column(name);
    let (id, title) = (col(&table, "item"), col(&table, "title"));
    let optional = [
        ("price", col(&table, "price")),
        ("description", col(&table, "description")),
        ("categories", col(&table, "categories")),
        ("brand", col(&table, "brand")),
        ("available", col(&table, "available")),
    ];
    let width = table.width();
    let mut skipped = Skipped::default();
    let mut rows = 0;
    let mut values = Vec::new();
    let mut lines = Vec::new();
    while let Some(row) = table.next_row()? {
        rows += 1;
        if row.record.len() != width {
            skipped.note(row.line, "wrong number of fields", row.record.len());
            continue;
        }
        let mut object = Map::new();
        let mut problem = None;
        for (name, column) in [("id", id), ("title", title)].into_iter().chain(optional) {
            let Some(column) = column else { continue };
            let Some(text) = row.get(column) else {
                problem = Some(("not UTF-8", name.to_owned()));
                break;
            };
            let text = text.trim();
            let value = match name {
                _ if text.is_empty() && !matches!(name, "id" | "title") => continue,
                "price" => match text.parse::<f64>() {
                    Ok(p) => Value::from(p),
                    Err(_) => {
                        problem = Some(("bad price", text.to_owned()));
                        break;
                    }
                },
                "available" => match text {
                    "true" | "1" | "yes" => Value::Bool(true),
                    "false" | "0" | "no" => Value::Bool(false),
                    _ => {
                        problem = Some(("bad available", text.to_owned()));
                        break;
                    }
                },
                "categories" => Value::from(
                    text.split('|')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect::<Vec<_>>(),
                ),
                _ => Value::from(text),
            };
            object.insert(name.to_owned(), value);
        }
        if let Some((reason, detail)) = problem {
            skipped.note(row.line, reason, detail);
            continue;
        }
        values.push(Value::Object(object));
        lines.push(row.line);
    }
    let (catalog, report) = match Catalog::from_rows(&values) {
        Ok(loaded) => loaded,
        Err(e) => {
            skipped.note(0, "invalid item", e);
            return Err(nothing_usable(path, &skipped));
        }
    };
    for rejected in report.rejected {
        let line = lines.get(rejected.index).copied().unwrap_or(0);
        skipped.note(line, "invalid item", rejected.reason);
    }
    Ok(Items {
        catalog,
        rows,
        skipped,
    })
}

/// One event of a shopper, with the item as a catalog slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Milliseconds since 1970, UTC.
    pub ts: i64,
    pub item: u32,
    pub kind: EventKind,
    /// A click on a recommendation: the strategy that recommended the item, as the browser
    /// module's `track({ type: "click", strategy })` attributes it. Only the demo's shoppers
    /// have it; an events file has no such column.
    pub strategy: Option<Strategy>,
}

/// Events grouped by shopper, each shopper's in time order (file order among equal times).
#[derive(Debug, Default)]
pub struct Events {
    /// Shopper ids, in order of first appearance.
    pub users: Vec<String>,
    /// `by_user[i]`: the events of `users[i]`.
    pub by_user: Vec<Vec<Event>>,
    pub rows: u64,
    pub skipped: Skipped,
    /// Latest timestamp of a used event.
    pub last_ts: Option<i64>,
}

impl Events {
    pub fn used(&self) -> u64 {
        self.by_user.iter().map(|e| e.len() as u64).sum()
    }
}

/// Event types the events file can carry: the ones that need no extra field (dwell needs a
/// duration, rate a value and search a query, none of which the format has).
fn event_kind(name: &str) -> Option<EventKind> {
    [
        EventKind::View,
        EventKind::Click,
        EventKind::Cart,
        EventKind::RemoveCart,
        EventKind::Purchase,
    ]
    .into_iter()
    .find(|k| k.name() == name)
}

/// Reads an events file (header `user,item,ts,type,basket,quantity,price`; `basket`,
/// `quantity` and `price` are optional and only checked: sessions come from time gaps, as on
/// the device). Rows naming an item the catalog does not have are skipped, like the browser
/// refuses to track them.
pub fn read_events(path: &Path, catalog: &Catalog) -> Result<Events, InputError> {
    let mut table = Table::open(path, &["user", "item", "ts", "type"])?;
    let [user, item, ts, kind] = ["user", "item", "ts", "type"].map(|c| table.column(c));
    let (Some(user), Some(item), Some(ts), Some(kind)) = (user, item, ts, kind) else {
        unreachable!("Table::open checked the required columns");
    };
    let quantity = table.column("quantity");
    let price = table.column("price");
    let width = table.width();
    let mut out = Events::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    while let Some(row) = table.next_row()? {
        out.rows += 1;
        let line = row.line;
        if row.record.len() != width {
            out.skipped
                .note(line, "wrong number of fields", row.record.len());
            continue;
        }
        let field = |c: usize| row.get(c).map(str::trim);
        let (Some(u), Some(i), Some(t), Some(k)) =
            (field(user), field(item), field(ts), field(kind))
        else {
            out.skipped
                .note(line, "not UTF-8", "user, item, ts or type");
            continue;
        };
        if u.is_empty() {
            out.skipped.note(line, "missing user", "empty");
            continue;
        }
        let Some(slot) = catalog.index_of(i) else {
            out.skipped.note(line, "unknown item", format!("\"{i}\""));
            continue;
        };
        let Some(ms) = parse_timestamp(t) else {
            out.skipped.note(line, "bad timestamp", format!("\"{t}\""));
            continue;
        };
        let Some(kind) = event_kind(k) else {
            out.skipped
                .note(line, "unsupported type", format!("\"{k}\""));
            continue;
        };
        if let Some(q) = quantity.and_then(field).filter(|q| !q.is_empty()) {
            if !q.parse::<f64>().is_ok_and(|q| q.is_finite() && q > 0.0) {
                out.skipped.note(line, "bad quantity", format!("\"{q}\""));
                continue;
            }
        }
        if let Some(p) = price.and_then(field).filter(|p| !p.is_empty()) {
            if !p.parse::<f64>().is_ok_and(|p| p.is_finite() && p >= 0.0) {
                out.skipped.note(line, "bad price", format!("\"{p}\""));
                continue;
            }
        }
        let at = *index.entry(u.to_owned()).or_insert_with(|| {
            out.users.push(u.to_owned());
            out.by_user.push(Vec::new());
            out.users.len() - 1
        });
        out.by_user[at].push(Event {
            ts: ms,
            item: slot,
            kind,
            strategy: None,
        });
        out.last_ts = Some(out.last_ts.map_or(ms, |l| l.max(ms)));
    }
    if out.by_user.is_empty() {
        return Err(nothing_usable(path, &out.skipped));
    }
    for events in &mut out.by_user {
        // Stable: events at the same minute keep their file order (a basket's lines).
        events.sort_by_key(|e| e.ts);
    }
    Ok(out)
}

/// Reads a users file: one id per line; blank lines are ignored and repeats kept once, in
/// order of first appearance.
pub fn read_users(path: &Path) -> Result<Vec<String>, InputError> {
    let mut text = String::new();
    open_text(path)?
        .read_to_string(&mut text)
        .map_err(|e| InputError::Read {
            path: path.to_owned(),
            line: 0,
            message: e.to_string(),
        })?;
    let mut seen = std::collections::HashSet::new();
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|u| !u.is_empty() && seen.insert(u.to_string()))
        .map(str::to_owned)
        .collect())
}

/// Parses a timestamp into milliseconds since 1970: either an integer (already milliseconds)
/// or ISO 8601 `YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM]` (a space may replace the `T`).
/// A time without a zone is read as UTC, and days are cut at UTC midnight like on the device;
/// for a shop's local time that only shifts where its days end.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = b.get(from..from + len)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > time::days_in_month(year, month) {
        return None;
    }
    let mut ms = time::days_from_civil(year, month, day) * DAY_MS;
    let mut rest = &text[10..];
    if let Some(time) = rest.strip_prefix(['T', ' ']) {
        let t = time.as_bytes();
        let (h, m) = (num2(t, 0)?, num2(t, 3)?);
        if t.get(2) != Some(&b':') || h > 23 || m > 59 {
            return None;
        }
        ms += (h * 60 + m) * 60_000;
        rest = &time[5..];
        if let Some(sec) = rest.strip_prefix(':') {
            let s = num2(sec.as_bytes(), 0)?;
            if s > 60 {
                return None;
            }
            ms += s * 1000;
            rest = &sec[2..];
            if let Some(frac) = rest.strip_prefix('.') {
                let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                let millis = frac[..digits.min(3)]
                    .bytes()
                    .chain(std::iter::repeat(b'0'))
                    .take(3)
                    .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
                ms += millis;
                rest = &frac[digits..];
            }
        }
    }
    match rest {
        "" | "Z" => Some(ms),
        zone => {
            let z = zone.as_bytes();
            let sign = match z.first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let hh = num2(z, 1)?;
            let mm = match z.len() {
                3 => 0,
                5 => num2(z, 3)?,
                6 if z[3] == b':' => num2(z, 4)?,
                _ => return None,
            };
            Some(ms - sign * (hh * 60 + mm) * 60_000)
        }
    }
}

fn num2(b: &[u8], at: usize) -> Option<i64> {
    let s = b.get(at..at + 2)?;
    s.iter()
        .all(u8::is_ascii_digit)
        .then(|| i64::from(s[0] - b'0') * 10 + i64::from(s[1] - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_iso_8601_and_milliseconds() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00"), Some(0));
        // 2010-12-01T08:26:00 UTC, as `date -u -d 2010-12-01T08:26:00Z +%s` gives 1291191960.
        assert_eq!(
            parse_timestamp("2010-12-01T08:26:00"),
            Some(1_291_191_960_000)
        );
        assert_eq!(parse_timestamp("2010-12-01 08:26"), Some(1_291_191_960_000));
        assert_eq!(
            parse_timestamp("2010-12-01T10:26:00+02:00"),
            Some(1_291_191_960_000)
        );
        assert_eq!(
            parse_timestamp("2010-12-01T08:26:00.5Z"),
            Some(1_291_191_960_500)
        );
        assert_eq!(parse_timestamp("2000-02-29"), Some(951_782_400_000));
        assert_eq!(parse_timestamp("1291191960000"), Some(1_291_191_960_000));
        for bad in [
            "",
            "yesterday",
            "2011-02-29",
            "2011-13-01",
            "2011-10-09T24:00",
            "2011-10-09T10:00:00+2",
            "2011-10-09T10:00:00.",
            "2011-10-9",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn skipped_rows_summarize_by_reason() {
        let mut s = Skipped::default();
        assert_eq!(s.to_string(), "0 skipped");
        for line in 2..10 {
            s.note(line, "unknown item", "\"x\"");
        }
        s.note(11, "bad timestamp", "\"soon\"");
        assert_eq!(
            s.to_string(),
            "9 skipped (bad timestamp: 1, unknown item: 8)"
        );
        assert_eq!(s.examples.len(), EXAMPLES);
        assert_eq!(s.examples[0], "line 2: unknown item (\"x\")");
    }
}
