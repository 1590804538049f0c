//! File import: CSV and NDJSON files read into the items the ingestion API takes (a response, a signal or an event as
//! a JSON object), each with the line it came from, so every problem can be named by line, field and reason.
//!
//! **Reading.** CSV (RFC 4180, a header line naming the columns, UTF-8, an optional byte-order mark) or NDJSON (one
//! JSON object per line; blank lines are skipped). A record's line is where it starts in the file, counting from 1
//! (the CSV header is line 1, so the first CSV record is line 2).
//!
//! **Mapping.** Without a mapping a CSV column's header is the item field it fills, written as a dotted path
//! (`external_id`, `type`, `occurred_at`, `measures.wait`, `person.email`, `attributes.queue`, `answers.trust`), and an
//! NDJSON line is the item itself. A mapping file (JSON, see [`Mapping`]) renames columns to fields, drops the
//! columns it does not name, sets constant fields (every row's `type` or `source`) and says how times are written
//! when they are not RFC 3339. An empty CSV cell is a field not given.
//!
//! **Types.** CSV cells are text. A cell bound for a field that takes a number (`measures.*`, `rating`,
//! `survey_version`) becomes a number, or is refused naming its line, field and column; answers stay text and are
//! read by the survey's own rules (`parse_answers` reads "4" as 4 on a scale). NDJSON values keep their JSON types.
//!
//! Pure: no I/O beyond the reader it is given, no clock.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// The largest record (a CSV row or an NDJSON line) an import reads, in bytes: 1 MiB. A longer one is refused by
/// line rather than read whole into memory.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Survey responses, to one survey.
    Response,
    /// Signals: feedback nobody asked for.
    Signal,
    /// Operational events.
    Event,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Response, Kind::Signal, Kind::Event];

    /// `response`, `signal` or `event`.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Response => "response",
            Kind::Signal => "signal",
            Kind::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == s)
    }

    /// The item fields this kind takes at the top level (the domain parsers refuse others).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Response => &[
                "external_id",
                "answers",
                "language",
                "channel",
                "touchpoint_id",
                "page_path",
                "submitted_at",
                "survey_version",
            ],
            Kind::Signal => &[
                "external_id",
                "source",
                "author",
                "text",
                "turns",
                "rating",
                "url",
                "language",
                "occurred_at",
                "service_id",
                "touchpoint_id",
                "person",
                "reference",
            ],
            Kind::Event => &[
                "external_id",
                "type",
                "occurred_at",
                "service_id",
                "touchpoint_id",
                "person",
                "reference",
                "measures",
                "attributes",
            ],
        }
    }
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// `csv` or `ndjson` (also `jsonl`).
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// The format a file name's extension says (`.csv`, `.ndjson`, `.jsonl`), if any.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::parse(name.rsplit_once('.')?.1)
    }
}

/// One record read from a file: the item it makes and the line it started on.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Line in the file, from 1.
    pub line: u64,
    /// The item, as the ingestion API takes it.
    pub item: Map<String, Value>,
}

/// A problem with one record: its line, the item field (and the file's column, when a mapping renamed it), a stable
/// code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub line: u64,
    /// The item field at fault (`measures.wait`), or `record` for the record as a whole.
    pub field: String,
    /// The file's column it came from, when that differs from `field`.
    pub column: Option<String>,
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.field)?;
        if let Some(c) = &self.column {
            write!(f, " (column {c})")?;
        }
        write!(f, ": {} ({})", self.message, self.code)
    }
}

impl RecordError {
    pub fn new(line: u64, field: &str, code: &'static str, message: impl Into<String>) -> Self {
        RecordError {
            line,
            field: field.to_string(),
            column: None,
            code,
            message: message.into(),
        }
    }
}

/// A column-mapping file:
///
/// ```json
/// {
///   "columns": {"Case": "external_id", "Wait (s)": "measures.wait", "Caller": "person.phone", "Queue": "attributes.queue"},
///   "constants": {"type": "call"},
///   "time": {"format": "%m/%d/%Y %H:%M", "zone": "America/Chicago"}
/// }
/// ```
///
/// `columns`: the file's column (CSV header, or NDJSON key) → the item field, a dotted path under one of the kind's
/// fields; columns not named are not read. Without `columns` every column is read under its own name.
/// `constants`: fields every item gets (a JSON value each), unless a column gives them. `time`: how
/// `occurred_at` and `submitted_at` are written when not RFC 3339: a chrono `format` (`%Y-%m-%d %H:%M:%S`, or a
/// date alone such as `%m/%d/%Y`, read as midnight) and the IANA `zone` the local times are in (default UTC).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub columns: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub constants: Map<String, Value>,
    #[serde(default)]
    pub time: Option<TimeFormat>,
}

/// How times are written in a file (see [`Mapping`]).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeFormat {
    pub format: String,
    #[serde(default)]
    pub zone: Option<String>,
}

/// The fields whose values are times.
const TIME_FIELDS: [&str; 2] = ["occurred_at", "submitted_at"];

/// Whether a field path takes a number.
fn numeric(path: &str) -> bool {
    path.starts_with("measures.") || path == "rating" || path == "survey_version"
}

/// A mapping checked against a kind: the targets split into paths, the zone resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    kind: Kind,
    /// (source column, target path segments) for mapped columns; `None` reads every column under its own name.
    columns: Option<Vec<(String, Vec<String>)>>,
    constants: Map<String, Value>,
    time: Option<(String, chrono_tz::Tz)>,
}

impl Plan {
    /// Checks `mapping` for `kind`: every target a field of the kind (with at most one sub-field, such as
    /// `measures.wait`), every constant one of its fields, the zone known, the time format usable. Errors name the
    /// mapping's own keys (`columns.Wait (s)`).
    pub fn new(kind: Kind, mapping: &Mapping) -> Result<Plan, Vec<String>> {
        let mut errs = Vec::new();
        let columns = mapping.columns.as_ref().map(|cols| {
            let mut out = Vec::new();
            for (col, target) in cols {
                match target_path(kind, target) {
                    Ok(p) => out.push((col.clone(), p)),
                    Err(e) => errs.push(format!("columns.{col}: {e}")),
                }
            }
            out
        });
        for k in mapping.constants.keys() {
            if let Err(e) = target_path(kind, k) {
                errs.push(format!("constants.{k}: {e}"));
            }
        }
        let time = match &mapping.time {
            None => None,
            Some(t) => {
                let tz = match t.zone.as_deref() {
                    None => Some(chrono_tz::UTC),
                    Some(z) => match z.parse::<chrono_tz::Tz>() {
                        Ok(tz) => Some(tz),
                        Err(_) => {
                            errs.push(format!(
                                "time.zone: '{z}' is not an IANA time zone, such as America/Chicago"
                            ));
                            None
                        }
                    },
                };
                if t.format.trim().is_empty() || !t.format.contains('%') {
                    errs.push(
                        "time.format: give a chrono format such as %Y-%m-%d %H:%M:%S".to_string(),
                    );
                }
                tz.map(|tz| (t.format.clone(), tz))
            }
        };
        if errs.is_empty() {
            Ok(Plan {
                kind,
                columns,
                constants: mapping.constants.clone(),
                time,
            })
        } else {
            Err(errs)
        }
    }

    /// A plan without a mapping file: columns are fields.
    pub fn identity(kind: Kind) -> Plan {
        Plan {
            kind,
            columns: None,
            constants: Map::new(),
            time: None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The file column a field came from, when the mapping renamed it.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        let cols = self.columns.as_ref()?;
        cols.iter()
            .find(|(_, p)| {
                let joined = p.join(".");
                field == joined || field.starts_with(&format!("{joined}."))
            })
            .map(|(c, _)| c.as_str())
            .filter(|c| *c != field)
    }

    /// Where a column's cells go, worked out once per column (a CSV header) rather than once per cell.
    fn resolve(&self, name: &str) -> Resolved {
        if name.is_empty() {
            // A column without a name (a spreadsheet's trailing comma) cannot be any field.
            return Resolved::Skip;
        }
        let path = match &self.columns {
            Some(cols) => match cols.iter().find(|(c, _)| c == name) {
                Some((_, p)) => p.clone(),
                None => return Resolved::Skip,
            },
            None => match target_path(self.kind, name) {
                Ok(p) => p,
                Err(_) if name.contains('.') => {
                    return Resolved::Unknown {
                        name: name.to_string(),
                        message: format!(
                            "{name} is not a field of {} {}: rename the column or map it (--mapping)",
                            article(self.kind),
                            self.kind.key()
                        ),
                    };
                }
                // A plain unknown name goes through, for the domain parser to refuse by name.
                Err(_) => vec![name.to_string()],
            },
        };
        let field = path.join(".");
        Resolved::To {
            numeric: numeric(&field),
            time: TIME_FIELDS.contains(&field.as_str()),
            column: (field != name).then(|| name.to_string()),
            path,
            field,
        }
    }

    /// Builds an item from named cells (NDJSON with a mapping: key → value). Empty text is a field not given.
    fn build<'a>(
        &self,
        line: u64,
        cells: impl Iterator<Item = (&'a str, Value)>,
    ) -> Result<Map<String, Value>, Vec<RecordError>> {
        let resolved: Vec<(Resolved, Value)> = cells
            .filter(|(_, v)| !is_empty(v))
            .map(|(n, v)| (self.resolve(n), v))
            .collect();
        self.build_resolved(line, resolved.iter().map(|(r, v)| (r, v.clone())))
    }

    /// Builds an item from cells whose columns are resolved. Empty text is a field not given.
    fn build_resolved<'a>(
        &self,
        line: u64,
        cells: impl Iterator<Item = (&'a Resolved, Value)>,
    ) -> Result<Map<String, Value>, Vec<RecordError>> {
        let mut item = Map::new();
        let mut errs = Vec::new();
        for (target, value) in cells {
            if is_empty(&value) {
                continue;
            }
            match target {
                Resolved::Skip => {}
                Resolved::Unknown { name, message } => errs.push(RecordError::new(
                    line,
                    name,
                    "unknown_field",
                    message.clone(),
                )),
                Resolved::To {
                    path,
                    field,
                    column,
                    numeric,
                    time,
                } => match self.convert(field, *numeric, *time, value) {
                    Ok(v) => insert(&mut item, path, v),
                    Err((code, message)) => errs.push(RecordError {
                        line,
                        field: field.clone(),
                        column: column.clone(),
                        code,
                        message,
                    }),
                },
            }
        }
        for (k, v) in &self.constants {
            let path: Vec<String> = k.split('.').map(str::to_string).collect();
            if get(&item, &path).is_none() {
                insert(&mut item, &path, v.clone());
            }
        }
        if errs.is_empty() { Ok(item) } else { Err(errs) }
    }

    /// Types a cell for its field: numbers for numeric fields (from text), times in the mapping's format as RFC 3339.
    fn convert(
        &self,
        field: &str,
        numeric: bool,
        time: bool,
        v: Value,
    ) -> Result<Value, (&'static str, String)> {
        match v {
            Value::String(s) if numeric => {
                let t = s.trim();
                let n = t
                    .parse::<i64>()
                    .ok()
                    .map(Number::from)
                    .or_else(|| t.parse::<f64>().ok().and_then(Number::from_f64));
                n.map(Value::Number).ok_or_else(|| {
                    (
                        "not_a_number",
                        format!(
                            "{field} must be a number, got '{}'",
                            t.chars().take(40).collect::<String>()
                        ),
                    )
                })
            }
            Value::String(s) if time => match &self.time {
                None => Ok(Value::String(s)),
                Some((format, tz)) => {
                    parse_local_time(s.trim(), format, *tz)
                        .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
                        .ok_or_else(|| {
                            (
                                "invalid_time",
                                format!(
                                    "{field} must be a time written as {format} (the mapping's time.format), got '{}'",
                                    s.chars().take(40).collect::<String>()
                                ),
                            )
                        })
                }
            },
            v => Ok(v),
        }
    }
}

/// Where one column's cells go.
#[derive(Debug, Clone)]
enum Resolved {
    /// Not read (a mapping that does not name it).
    Skip,
    /// A dotted name that is no field of the kind.
    Unknown { name: String, message: String },
    To {
        path: Vec<String>,
        field: String,
        /// The file's column, when it differs from the field.
        column: Option<String>,
        numeric: bool,
        time: bool,
    },
}

fn is_empty(v: &Value) -> bool {
    v.is_null() || matches!(v, Value::String(s) if s.is_empty())
}

fn article(k: Kind) -> &'static str {
    match k {
        Kind::Event => "an",
        _ => "a",
    }
}

/// A local time in `format` (a date alone is midnight) in `tz`, as UTC. An ambiguous local time (the hour a clock
/// goes back) is the earlier instant; one that does not exist (the hour skipped) is refused.
fn parse_local_time(s: &str, format: &str, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s, format).ok().or_else(|| {
        NaiveDate::parse_from_str(s, format)
            .ok()?
            .and_hms_opt(0, 0, 0)
    })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Checks a target field path for `kind`: a field of the kind, or `field.sub` under one that holds an object.
fn target_path(kind: Kind, target: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = target.split('.').map(str::to_string).collect();
    let fields = kind.fields();
    let nested = ["measures", "attributes", "person", "answers"];
    let ok = match parts.as_slice() {
        [f] => fields.contains(&f.as_str()),
        [f, sub] => fields.contains(&f.as_str()) && nested.contains(&f.as_str()) && !sub.is_empty(),
        _ => false,
    };
    if ok {
        Ok(parts)
    } else {
        Err(format!(
            "'{target}' is not a field of {} {} (its fields are {}; measures, attributes, person and answers take a sub-field, such as measures.wait)",
            article(kind),
            kind.key(),
            fields.join(", ")
        ))
    }
}

fn insert(item: &mut Map<String, Value>, path: &[String], v: Value) {
    match path {
        [] => {}
        [k] => {
            item.insert(k.clone(), v);
        }
        [k, rest @ ..] => {
            let e = item
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            if let Value::Object(m) = e {
                insert(m, rest, v);
            }
        }
    }
}

fn get<'a>(item: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = item.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        get(v.as_object()?, rest)
    }
}

/// Reads CSV records as items. The header is line 1; every record must have as many cells as it.
pub struct CsvRecords<R: Read> {
    reader: csv::Reader<R>,
    headers: Vec<String>,
    resolved: Vec<Resolved>,
    plan: Plan,
    record: csv::ByteRecord,
    done: bool,
}

impl<R: Read> CsvRecords<R> {
    /// Reads the header line. A file without one, or not UTF-8, is an error naming line 1.
    pub fn new(input: R, plan: Plan) -> Result<CsvRecords<R>, RecordError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(input);
        let headers = reader.headers().map_err(|e| csv_error(1, &e))?;
        let mut headers: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
        if let Some(first) = headers.first_mut() {
            *first = first.trim_start_matches('\u{feff}').to_string();
        }
        if headers.iter().all(|h| h.is_empty()) {
            return Err(RecordError::new(
                1,
                "record",
                "no_header",
                "the file has no header line: its first line names the columns",
            ));
        }
        for (i, h) in headers.iter().enumerate() {
            if headers[..i].contains(h) {
                return Err(RecordError::new(
                    1,
                    h,
                    "duplicate_column",
                    format!("the column '{h}' appears twice in the header"),
                ));
            }
        }
        if let Some(cols) = &plan.columns {
            for (c, _) in cols {
                if !headers.contains(c) {
                    return Err(RecordError::new(
                        1,
                        c,
                        "missing_column",
                        format!(
                            "the mapping reads the column '{c}', which the header does not have (it has {})",
                            headers.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(CsvRecords {
            resolved: headers.iter().map(|h| plan.resolve(h)).collect(),
            reader,
            headers,
            plan,
            record: csv::ByteRecord::new(),
            done: false,
        })
    }

    /// The column names, as the header gives them.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }
}

fn csv_error(line: u64, e: &csv::Error) -> RecordError {
    let line = e.position().map(|p| p.line()).unwrap_or(line);
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => RecordError::new(
            line,
            "record",
            "wrong_cell_count",
            format!("this row has {len} cells where the header has {expected_len}"),
        ),
        csv::ErrorKind::Utf8 { .. } => RecordError::new(
            line,
            "record",
            "not_utf8",
            "this row is not UTF-8 text: save the file as UTF-8",
        ),
        _ => RecordError::new(
            line,
            "record",
            "unreadable",
            "this row could not be read as CSV",
        ),
    }
}

impl<R: Read> Iterator for CsvRecords<R> {
    type Item = Result<Record, Vec<RecordError>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let before = self.reader.position().line();
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                // An I/O error ends the file; a malformed row is that row's error and reading goes on.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.done = true;
                    return Some(Err(vec![RecordError::new(
                        before,
                        "record",
                        "unreadable",
                        format!("the file could not be read further: {e}"),
                    )]));
                }
                Some(Err(vec![csv_error(before, &e)]))
            }
            Ok(true) => {
                let line = self.record.position().map(|p| p.line()).unwrap_or(before);
                if self.record.as_slice().len() > MAX_RECORD_BYTES {
                    return Some(Err(vec![RecordError::new(
                        line,
                        "record",
                        "too_long",
                        format!("this row is over {MAX_RECORD_BYTES} bytes"),
                    )]));
                }
                let mut errs = Vec::new();
                let mut cells = Vec::with_capacity(self.headers.len());
                for ((h, target), raw) in self
                    .headers
                    .iter()
                    .zip(&self.resolved)
                    .zip(self.record.iter())
                {
                    if raw.is_empty() || matches!(target, Resolved::Skip) {
                        continue;
                    }
                    match std::str::from_utf8(raw) {
                        Ok(s) => cells.push((target, Value::String(s.to_string()))),
                        Err(_) => errs.push(RecordError::new(
                            line,
                            h,
                            "not_utf8",
                            "this cell is not UTF-8 text: save the file as UTF-8",
                        )),
                    }
                }
                if !errs.is_empty() {
                    return Some(Err(errs));
                }
                Some(
                    self.plan
                        .build_resolved(line, cells.into_iter())
                        .map(|item| Record { line, item }),
                )
            }
        }
    }
}

/// Reads NDJSON records as items: one JSON object per line, blank lines skipped.
pub struct NdjsonRecords<R: BufRead> {
    input: R,
    plan: Plan,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> NdjsonRecords<R> {
    pub fn new(input: R, plan: Plan) -> NdjsonRecords<R> {
        NdjsonRecords {
            input,
            plan,
            line: 0,
            buf: Vec::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for NdjsonRecords<R> {
    type Item = Result<Record, Vec<RecordError>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            let n = match (&mut self.input)
                .take(MAX_RECORD_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buf)
            {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(vec![RecordError::new(
                        self.line + 1,
                        "record",
                        "unreadable",
                        format!("the file could not be read further: {e}"),
                    )]));
                }
            };
            self.line += 1;
            let line = self.line;
            if n > MAX_RECORD_BYTES && !self.buf.ends_with(b"\n") {
                // Skip the rest of the over-long line.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    match (&mut self.input)
                        .take(MAX_RECORD_BYTES as u64)
                        .read_until(b'\n', &mut rest)
                    {
                        Ok(0) => break,
                        Ok(_) if rest.ends_with(b"\n") => break,
                        Ok(_) => continue,
                        Err(_) => {
                            self.done = true;
                            break;
                        }
                    }
                }
                return Some(Err(vec![RecordError::new(
                    line,
                    "record",
                    "too_long",
                    format!("this line is over {MAX_RECORD_BYTES} bytes"),
                )]));
            }
            let mut text: &[u8] = &self.buf;
            if line == 1 {
                text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(text);
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: Value = match serde_json::from_slice(text) {
                Ok(v) => v,
                Err(e) => {
                    return Some(Err(vec![RecordError::new(
                        line,
                        "record",
                        "invalid_json",
                        format!("this line is not valid JSON (column {}): {e}", e.column()),
                    )]));
                }
            };
            let Value::Object(m) = v else {
                return Some(Err(vec![RecordError::new(
                    line,
                    "record",
                    "not_an_object",
                    "each line must be one JSON object: the item",
                )]));
            };
            return Some(match (&self.plan.columns, self.plan.time.is_some()) {
                // Without a mapping the line is the item as the API takes it.
                (None, false) if self.plan.constants.is_empty() => Ok(Record { line, item: m }),
                _ => self
                    .plan
                    .build(line, m.iter().map(|(k, v)| (k.as_str(), v.clone())))
                    .map(|item| Record { line, item }),
            });
        }
    }
}

/// What a reader yields for one record: the item, or every problem of its line.
pub type RecordResult = Result<Record, Vec<RecordError>>;

/// A reader of records.
pub type Records<'a> = Box<dyn Iterator<Item = RecordResult> + 'a>;

/// Reads `input` in `format` under `plan`: an iterator of records, each an item or the errors of its line.
pub fn records<'a, R: BufRead + 'a>(
    input: R,
    format: Format,
    plan: Plan,
) -> Result<Records<'a>, RecordError> {
    Ok(match format {
        Format::Csv => Box::new(CsvRecords::new(input, plan)?),
        Format::Ndjson => Box::new(NdjsonRecords::new(input, plan)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(format: Format, plan: Plan, text: &str) -> Vec<Result<Record, Vec<RecordError>>> {
        records(text.as_bytes(), format, plan).unwrap().collect()
    }

    #[test]
    fn csv_headers_are_dotted_fields_and_empty_cells_are_absent() {
        let got = all(
            Format::Csv,
            Plan::identity(Kind::Event),
            "\u{feff}external_id,type,measures.wait,person.email,attributes.queue\n\
             c1,call,93.5,ana@example.gov,claims\n\
             c2,call,,,\n",
        );
        assert_eq!(
            got[0].as_ref().unwrap(),
            &Record {
                line: 2,
                item: json!({"external_id": "c1", "type": "call", "measures": {"wait": 93.5},
                    "person": {"email": "ana@example.gov"}, "attributes": {"queue": "claims"}})
                .as_object()
                .unwrap()
                .clone()
            }
        );
        assert_eq!(
            got[1].as_ref().unwrap().item,
            *json!({"external_id": "c2", "type": "call"})
                .as_object()
                .unwrap()
        );
    }

    #[test]
    fn a_quoted_cell_over_lines_keeps_its_starting_line() {
        let got = all(
            Format::Csv,
            Plan::identity(Kind::Signal),
            "external_id,source,text\ns1,review,\"two\nlines\"\ns2,review,ok\n",
        );
        assert_eq!(got[0].as_ref().unwrap().line, 2);
        assert_eq!(got[0].as_ref().unwrap().item["text"], "two\nlines");
        assert_eq!(got[1].as_ref().unwrap().line, 4);
    }

    #[test]
    fn bad_cells_are_named_by_line_field_and_column() {
        let mapping: Mapping = serde_json::from_value(json!({
            "columns": {"Case": "external_id", "Wait (s)": "measures.wait"},
            "constants": {"type": "call"}
        }))
        .unwrap();
        let plan = Plan::new(Kind::Event, &mapping).unwrap();
        let got = all(
            Format::Csv,
            plan.clone(),
            "Case,Wait (s),Ignored\nc1,12,x\nc2,soon,y\nc3,1\n",
        );
        assert_eq!(got[0].as_ref().unwrap().item["type"], "call");
        assert!(got[0].as_ref().unwrap().item.get("Ignored").is_none());
        let e = &got[1].as_ref().unwrap_err()[0];
        assert_eq!(
            (e.line, e.field.as_str(), e.column.as_deref(), e.code),
            (3, "measures.wait", Some("Wait (s)"), "not_a_number")
        );
        let e = &got[2].as_ref().unwrap_err()[0];
        assert_eq!((e.line, e.code), (4, "wrong_cell_count"));
        assert_eq!(plan.column_of("measures.wait"), Some("Wait (s)"));
    }

    #[test]
    fn a_mapping_naming_a_missing_column_or_an_unknown_field_is_refused() {
        let m: Mapping =
            serde_json::from_value(json!({"columns": {"Case": "external_id"}})).unwrap();
        let e = CsvRecords::new("Id\nx\n".as_bytes(), Plan::new(Kind::Event, &m).unwrap())
            .err()
            .unwrap();
        assert_eq!((e.line, e.code), (1, "missing_column"));
        let m: Mapping = serde_json::from_value(
            json!({"columns": {"A": "measures.wait.x", "B": "colour"}, "time": {"format": "%d", "zone": "Mars/Base"}}),
        )
        .unwrap();
        let errs = Plan::new(Kind::Event, &m).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(serde_json::from_value::<Mapping>(json!({"colums": {}})).is_err());
    }

    #[test]
    fn local_times_follow_the_mappings_format_and_zone() {
        let m: Mapping = serde_json::from_value(json!({
            "time": {"format": "%m/%d/%Y %H:%M", "zone": "America/Chicago"}
        }))
        .unwrap();
        let got = all(
            Format::Csv,
            Plan::new(Kind::Event, &m).unwrap(),
            "external_id,type,occurred_at\nc1,call,07/04/2026 09:30\nc2,call,July 4\n",
        );
        assert_eq!(
            got[0].as_ref().unwrap().item["occurred_at"],
            "2026-07-04T14:30:00.000Z"
        );
        let e = &got[1].as_ref().unwrap_err()[0];
        assert_eq!(
            (e.line, e.field.as_str(), e.code),
            (3, "occurred_at", "invalid_time")
        );
    }

    #[test]
    fn ndjson_lines_are_items_and_bad_lines_are_named() {
        let got = all(
            Format::Ndjson,
            Plan::identity(Kind::Event),
            "{\"external_id\": \"e1\", \"type\": \"call\"}\n\n[1]\n{oops\n{\"external_id\": \"e2\"}",
        );
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].as_ref().unwrap().line, 1);
        assert_eq!(got[1].as_ref().unwrap_err()[0].code, "not_an_object");
        assert_eq!(got[1].as_ref().unwrap_err()[0].line, 3);
        assert_eq!(got[2].as_ref().unwrap_err()[0].code, "invalid_json");
        assert_eq!(got[3].as_ref().unwrap().line, 5);
    }

    #[test]
    fn ndjson_with_a_mapping_renames_keys() {
        let m: Mapping = serde_json::from_value(json!({
            "columns": {"id": "external_id", "stars": "rating", "body": "text"},
            "constants": {"source": "review"}
        }))
        .unwrap();
        let got = all(
            Format::Ndjson,
            Plan::new(Kind::Signal, &m).unwrap(),
            "{\"id\": \"r1\", \"stars\": \"4\", \"body\": \"Quick\", \"extra\": 1}\n",
        );
        assert_eq!(
            got[0].as_ref().unwrap().item,
            *json!({"external_id": "r1", "rating": 4, "text": "Quick", "source": "review"})
                .as_object()
                .unwrap()
        );
    }

    #[test]
    fn unnamed_columns_are_not_read() {
        // Found by the fuzz target: a cell that is not UTF-8 under an unnamed column was named by no field.
        let got = all(
            Format::Csv,
            Plan::identity(Kind::Event),
            "external_id,\ne1,x\n",
        );
        assert_eq!(
            got[0].as_ref().unwrap().item,
            *json!({"external_id": "e1"}).as_object().unwrap()
        );
        let bytes: &[u8] = b"external_id,\ne1,\xff\n";
        let got: Vec<_> = records(bytes, Format::Csv, Plan::identity(Kind::Event))
            .unwrap()
            .collect();
        assert!(got[0].is_ok());
    }

    #[test]
    fn formats_come_from_names() {
        assert_eq!(Format::from_name("calls.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_name("calls.jsonl"), Some(Format::Ndjson));
        assert_eq!(Format::from_name("calls"), None);
    }
}
