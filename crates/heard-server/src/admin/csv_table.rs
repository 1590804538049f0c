//! CSV downloads of the tables on admin pages: every table an analyst sees (a chart's data, a breakdown, a list of
//! figures) can be had as a file. A page answers `?format=csv&table=NAME` (or its own download route) with
//! [`CsvTable`]: a header row, then rows of cells; text from people (labels, theme names) goes through
//! [`CsvTable::text`] so a spreadsheet never runs it as a formula, and numbers are written as they are.
//!
//! **One rule for every download:** [`attachment`] starts the file with the UTF-8 byte-order mark
//! (`crate::export::BOM`), so Excel on Windows reads "R²" and "sí" as written; no handler writes the mark itself.
//! The one exception is the A-11 upload file (`attachment_for_upload`), which is not a table for people but the
//! exact format Touchpoints' importer reads.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::{AppError, AppResult};

/// A CSV file being written in memory (tables on pages are small: weeks, segments, themes).
pub struct CsvTable {
    w: csv::Writer<Vec<u8>>,
}

impl CsvTable {
    /// A table with `header` as its first row.
    pub fn new<I, S>(header: I) -> AppResult<CsvTable>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut t = CsvTable {
            w: csv::Writer::from_writer(Vec::new()),
        };
        t.row(header)?;
        Ok(t)
    }

    /// Appends one row of cells, written as given (numbers, dates, ids, fixed words).
    pub fn row<I, S>(&mut self, cells: I) -> AppResult<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.w
            .write_record(cells)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// A cell of text that came from people (a label, a theme, a comment): bidirectional controls removed and a
    /// leading formula character quoted (`crate::export::csv_safe`).
    pub fn text(s: &str) -> String {
        crate::export::csv_safe(s)
    }

    /// The file as a download named `name` (ASCII; `.csv` included).
    pub fn into_response(self, name: &str) -> AppResult<Response> {
        let body = self
            .w
            .into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        attachment(name, Body::from(body))
    }
}

/// `body` as a CSV attachment named `name` (ASCII; `.csv` included), for tables written elsewhere or streamed:
/// the byte-order mark, then `body`.
pub fn attachment(name: &str, body: Body) -> AppResult<Response> {
    use futures_util::StreamExt;
    let bom = futures_util::stream::once(async {
        Ok::<_, axum::Error>(axum::body::Bytes::from_static(crate::export::BOM))
    });
    attachment_for_upload(name, Body::from_stream(bom.chain(body.into_data_stream())))
}

/// `body` as a CSV attachment written byte for byte, without the byte-order mark: only for a file another
/// program reads (the A-11 upload file).
pub fn attachment_for_upload(name: &str, body: Body) -> AppResult<Response> {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
            .map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(resp)
}
