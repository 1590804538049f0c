//! Full-text search of comments (the free-text answers of responses and the text of signals, as stored: redacted),
//! and the weekly theme counts the themes explorer reads.
//!
//! Both come from `comments` (migration 0020), a row per commented response or signal kept by triggers on
//! `responses` and `signals`, so every write path (the group-commit writer, the ingestion API, imports) fills it in
//! its own transaction. SQLite searches it with FTS5 (Porter stemming of English over Unicode words, diacritics
//! folded; Spanish words match as written); PostgreSQL with a `tsvector` in the item's language (Spanish stemming
//! for Spanish items, English for the rest; accents are kept, so "informacion" does not find "información" there).
//! A query is searched in both English and Spanish forms on PostgreSQL, so "esperar" finds "esperando" in a
//! Spanish comment.
//!
//! People's queries never reach either engine's syntax: [`SearchQuery::parse`] keeps only words (runs of letters
//! and digits) and phrases (words between double quotes), and the store writes each as a quoted term, all of them
//! required. Operators people might type (`OR`, `NEAR(`, `-`, `*`, `:`) are searched as words or dropped.
//!
//! Every method takes the organization and filters by it.

use heard_domain::{OrgId, ServiceId};
use uuid::Uuid;

use crate::{Backend, Result, Store, StoreError, on_pool};

/// The most terms (words and phrases) a query keeps; the rest are ignored.
pub const MAX_TERMS: usize = 16;
/// The most characters of one word kept.
const MAX_WORD: usize = 64;

/// Marks the start of a matched word in a snippet (a control character, which stored text never holds: `input.rs`
/// refuses them at the edge). Escape the snippet first, then turn the marks into `<mark>` tags.
pub const MATCH_START: char = '\u{1}';
/// Marks the end of a matched word in a snippet.
pub const MATCH_END: char = '\u{2}';

/// A parsed search: every term is required; a term is one word or a phrase of words in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub terms: Vec<Vec<String>>,
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(MAX_WORD).collect::<String>().to_lowercase())
}

impl SearchQuery {
    /// Reads what a person typed: text between double quotes is a phrase (an unclosed quote runs to the end), any
    /// other word is a term of its own. Only letters and digits are kept, so nothing typed is ever an operator.
    pub fn parse(input: &str) -> SearchQuery {
        let mut terms: Vec<Vec<String>> = Vec::new();
        for (i, part) in input.split('"').enumerate() {
            if i % 2 == 1 {
                let phrase: Vec<String> = words(part).collect();
                if !phrase.is_empty() {
                    terms.push(phrase);
                }
            } else {
                terms.extend(words(part).map(|w| vec![w]));
            }
        }
        terms.dedup();
        terms.truncate(MAX_TERMS);
        SearchQuery { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The FTS5 query: each term a quoted string (a phrase when it has several words), joined by AND. Words hold
    /// only letters and digits, so no quote can close a string early.
    pub fn fts5(&self) -> String {
        self.terms
            .iter()
            .map(|t| format!("\"{}\"", t.join(" ").replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The `to_tsquery` text: each word a quoted lexeme (normalised by the configuration), phrases joined by `<->`,
    /// terms by `&`.
    pub fn tsquery(&self) -> String {
        self.terms
            .iter()
            .map(|t| {
                let p: Vec<String> = t
                    .iter()
                    .map(|w| format!("'{}'", w.replace('\'', "''")))
                    .collect();
                format!("({})", p.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }
}

/// What a comment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    Response,
    Signal,
}

impl CommentKind {
    pub fn key(self) -> &'static str {
        match self {
            CommentKind::Response => "response",
            CommentKind::Signal => "signal",
        }
    }
    pub fn parse(s: &str) -> Option<CommentKind> {
        match s {
            "response" => Some(CommentKind::Response),
            "signal" => Some(CommentKind::Signal),
            _ => None,
        }
    }
}

/// Which comments to search or count. Every field narrows; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct CommentFilter {
    pub kind: Option<CommentKind>,
    pub service_id: Option<ServiceId>,
    /// Milliseconds since the epoch, inclusive (submitted, or happened for signals).
    pub from_ms: Option<i64>,
    /// Milliseconds since the epoch, exclusive.
    pub to_ms: Option<i64>,
    /// `positive`, `neutral` or `negative`.
    pub sentiment: Option<String>,
    /// A theme id of the taxonomy.
    pub theme: Option<String>,
}

/// Where a page of results ends. Results are newest first, then by kind and id; written `<ms>_<kind>_<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    pub at_ms: i64,
    pub kind: CommentKind,
    pub item_id: Uuid,
}

impl std::fmt::Display for SearchCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}_{}", self.at_ms, self.kind.key(), self.item_id)
    }
}

impl std::str::FromStr for SearchCursor {
    type Err = heard_domain::FieldError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let bad = || {
            heard_domain::FieldError::new(
                "before",
                "invalid_cursor",
                "this page link is damaged; start from the first page",
            )
        };
        let mut parts = s.splitn(3, '_');
        let at_ms = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        let kind = parts.next().and_then(CommentKind::parse).ok_or_else(bad)?;
        let item_id = parts.next().and_then(|t| t.parse().ok()).ok_or_else(bad)?;
        Ok(SearchCursor {
            at_ms,
            kind,
            item_id,
        })
    }
}

/// One comment that matched.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SearchHit {
    /// `response` or `signal`.
    pub kind: String,
    pub item_id: Uuid,
    pub service_id: Option<Uuid>,
    pub at_ms: i64,
    pub language: String,
    pub sentiment: Option<String>,
    /// Theme ids as `,id,id,`.
    pub themes: Option<String>,
    /// A part of the text around the matches, each match between [`MATCH_START`] and [`MATCH_END`]; not escaped.
    pub snippet: String,
}

impl SearchHit {
    pub fn cursor(&self) -> SearchCursor {
        SearchCursor {
            at_ms: self.at_ms,
            kind: CommentKind::parse(&self.kind).unwrap_or(CommentKind::Response),
            item_id: self.item_id,
        }
    }
}

/// Matches are counted up to this many; a page's work is bounded by about as many rows.
pub const COUNT_CAP: i64 = 10_000;

/// A page of search results.
#[derive(Debug, Clone, Default)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Comments that match in all (every page), counted up to [`COUNT_CAP`].
    pub matches: i64,
    /// Whether more than [`COUNT_CAP`] match (then `matches` is the cap).
    pub more: bool,
}

/// Comments of one local week (or any range): how many, and how many read as negative.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CommentWeek {
    /// The week's first instant, milliseconds since the epoch, as given.
    pub week: i64,
    pub items: i64,
    pub negative: i64,
}

/// Comments of one week that carry one theme.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThemeWeek {
    pub week: i64,
    pub theme: String,
    pub items: i64,
    pub negative: i64,
}

const HOUR_MS: i64 = 3_600_000;

/// How `theme_weeks` reads the range `[start, end)` of milliseconds: `[start_h, head_end_h)` in hours, then
/// `[day_lo, day_hi)` in whole UTC days, then `[tail_start_h, end_h)` in hours; with the week's start (ms) first.
/// Bounds are taken to the UTC hour that holds them. When no whole day fits, the hours cover it all.
fn week_bounds(start: i64, end: i64) -> [i64; 7] {
    let start_h = start.div_euclid(HOUR_MS);
    let end_h = end.div_euclid(HOUR_MS).max(start_h);
    let day_lo = (start_h + 23).div_euclid(24);
    let day_hi = end_h.div_euclid(24);
    if day_lo < day_hi {
        [
            start,
            start_h,
            day_lo * 24,
            day_lo,
            day_hi,
            day_hi * 24,
            end_h,
        ]
    } else {
        [start, start_h, end_h, 0, 0, end_h, end_h]
    }
}

impl Store {
    /// One page of comments matching `q` and `f`, newest first, after `cursor`, with how many match in all (counted
    /// up to [`COUNT_CAP`]); nothing when `q` has no terms.
    ///
    /// How it reads: the matches are counted first, from the search index, up to the cap. Fewer than that, and the
    /// page is taken from the index's matches, sorted by time; more, and comments are walked newest first and each
    /// tested against the index, which finds a page of a common word after a few rows. Either way a page reads at
    /// most about the cap's worth of rows, whether a word is rare or everywhere.
    pub async fn search_comments(
        &self,
        org: OrgId,
        q: &SearchQuery,
        f: &CommentFilter,
        cursor: Option<SearchCursor>,
        limit: i64,
    ) -> Result<SearchPage> {
        if q.is_empty() {
            return Ok(SearchPage::default());
        }
        let sqlite = matches!(self.backend, Backend::Sqlite(_));
        let filters = "c.org_id = $1 AND ($3 IS NULL OR c.kind = $3) AND ($4 IS NULL OR c.service_id = $4) \
             AND ($5 IS NULL OR c.at_ms >= $5) AND ($6 IS NULL OR c.at_ms < $6) AND ($7 IS NULL OR c.sentiment = $7) \
             AND ($8 IS NULL OR c.themes LIKE $8)";
        let tsq = "(to_tsquery('english', $2) || to_tsquery('spanish', $2))";
        let text = if sqlite { q.fts5() } else { q.tsquery() };
        macro_rules! bind_filter {
            ($q:expr) => {
                $q.bind(org.as_uuid())
                    .bind(&text)
                    .bind(f.kind.map(CommentKind::key))
                    .bind(f.service_id.map(|s| *s.as_uuid()))
                    .bind(f.from_ms)
                    .bind(f.to_ms)
                    .bind(f.sentiment.as_deref())
                    .bind(f.theme.as_ref().map(|t| format!("%,{t},%")))
            };
        }
        let count_sql = if sqlite {
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM comments_fts CROSS JOIN comments c ON c.id = comments_fts.rowid \
                 WHERE comments_fts MATCH $2 AND {filters} LIMIT $9) x"
            )
        } else {
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM comments c WHERE c.tsv @@ {tsq} AND {filters} LIMIT $9) x"
            )
        };
        let matches: i64 = on_pool!(self, p => bind_filter!(sqlx::query_scalar(&count_sql))
            .bind(COUNT_CAP).fetch_one(p).await)?;
        if matches == 0 {
            return Ok(SearchPage::default());
        }
        let few = matches < COUNT_CAP;
        let keyset = if cursor.is_some() {
            "AND (c.at_ms, c.kind, c.item_id) < ($9, $10, $11)"
        } else {
            "AND $9 IS NULL AND $10 IS NULL AND $11 IS NULL"
        };
        let order = "ORDER BY c.at_ms DESC, c.kind DESC, c.item_id DESC";
        let sql = if sqlite {
            // CROSS JOIN fixes which table drives: the index's matches (few), or comments by time (many).
            let from = if few {
                "comments_fts CROSS JOIN comments c ON c.id = comments_fts.rowid"
            } else {
                "comments c CROSS JOIN comments_fts ON comments_fts.rowid = c.id"
            };
            format!(
                "SELECT c.kind, c.item_id, c.service_id, c.at_ms, c.language, c.sentiment, c.themes, \
                 snippet(comments_fts, 0, char(1), char(2), '…', 24) AS snippet \
                 FROM {from} WHERE comments_fts MATCH $2 AND {filters} {keyset} {order} LIMIT $12"
            )
        } else {
            // A MATERIALIZED match set makes the GIN index drive; otherwise the planner walks comments by time.
            let page = if few {
                format!(
                    "m AS MATERIALIZED (SELECT c.org_id, c.kind, c.item_id FROM comments c \
                       WHERE c.tsv @@ {tsq} AND {filters} {keyset}), \
                     page AS (SELECT c.* FROM m JOIN comments c USING (org_id, kind, item_id) {order} LIMIT $12)"
                )
            } else {
                format!(
                    "page AS (SELECT c.* FROM comments c WHERE c.tsv @@ {tsq} AND {filters} {keyset} {order} LIMIT $12)"
                )
            };
            // The headline is computed for the page's rows only.
            format!(
                "WITH {page} \
                 SELECT p.kind, p.item_id, p.service_id, p.at_ms, p.language, p.sentiment, p.themes, \
                 ts_headline(CASE WHEN p.language LIKE 'es%' THEN 'spanish'::regconfig ELSE 'english'::regconfig END, \
                   p.body, {tsq}, 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || \
                   ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"') AS snippet \
                 FROM page p ORDER BY p.at_ms DESC, p.kind DESC, p.item_id DESC"
            )
        };
        let hits: Vec<SearchHit> = on_pool!(self, p => bind_filter!(sqlx::query_as(&sql))
            .bind(cursor.map(|c| c.at_ms))
            .bind(cursor.map(|c| c.kind.key()))
            .bind(cursor.map(|c| c.item_id))
            .bind(limit)
            .fetch_all(p).await)?;
        Ok(SearchPage {
            hits,
            matches,
            more: !few,
        })
    }

    /// Comments and theme mentions per week, read from the daily and hourly rollups the triggers keep (no comment is
    /// read).
    /// `weeks` are half-open ranges `[start, end)` of milliseconds, the organization's local weeks, in order, at
    /// most 160. Each bound is taken to the UTC hour that holds it: exact in every zone whose offset from UTC is a
    /// whole number of hours (all of the United States'); elsewhere a week's edges move by the offset's minutes.
    /// `f`'s kind and service narrow; its other fields are not read.
    pub async fn theme_weeks(
        &self,
        org: OrgId,
        f: &CommentFilter,
        weeks: &[(i64, i64)],
    ) -> Result<(Vec<CommentWeek>, Vec<ThemeWeek>)> {
        if weeks.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        if weeks.len() > 160 {
            return Err(StoreError::Config("at most 160 weeks at once".to_string()));
        }
        // Each week is read as its whole UTC days from the daily rollups, and the hours before the first and after
        // the last whole day from the hourly ones.
        const COLS: usize = 7;
        let values: Vec<String> = (0..weeks.len())
            .map(|i| {
                let p: Vec<String> = (0..COLS)
                    .map(|c| format!("${}", 4 + COLS * i + c))
                    .collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let cte = format!(
            "WITH w(start_ms, start_h, head_end_h, day_lo, day_hi, tail_start_h, end_h) AS (VALUES {})",
            values.join(", ")
        );
        let filters =
            "h.org_id = $1 AND ($2 IS NULL OR h.kind = $2) AND ($3 IS NULL OR h.service_id = $3)";
        let parts = |daily: &str, hourly: &str, theme: &str| {
            format!(
                "SELECT w.start_ms AS week, {theme} h.items AS items, h.negative AS negative FROM w JOIN {daily} h \
                   ON {filters} AND h.day >= w.day_lo AND h.day < w.day_hi \
                 UNION ALL SELECT w.start_ms, {theme} h.items, h.negative FROM w JOIN {hourly} h \
                   ON {filters} AND h.hour >= w.start_h AND h.hour < w.head_end_h \
                 UNION ALL SELECT w.start_ms, {theme} h.items, h.negative FROM w JOIN {hourly} h \
                   ON {filters} AND h.hour >= w.tail_start_h AND h.hour < w.end_h"
            )
        };
        let totals_sql = format!(
            "{cte} SELECT week, CAST(SUM(items) AS BIGINT) AS items, CAST(SUM(negative) AS BIGINT) AS negative \
             FROM ({}) x GROUP BY week ORDER BY week",
            parts("comment_days", "comment_hours", "")
        );
        let themes_sql = format!(
            "{cte} SELECT week, theme, CAST(SUM(items) AS BIGINT) AS items, CAST(SUM(negative) AS BIGINT) AS negative \
             FROM ({}) x GROUP BY week, theme HAVING SUM(items) > 0 ORDER BY week, theme",
            parts("theme_days", "theme_hours", "h.theme AS theme,")
        );
        let bounds: Vec<[i64; COLS]> = weeks.iter().map(|&(a, b)| week_bounds(a, b)).collect();
        macro_rules! bind_weeks {
            ($q:expr) => {{
                let mut q = $q
                    .bind(org.as_uuid())
                    .bind(f.kind.map(CommentKind::key))
                    .bind(f.service_id.map(|s| *s.as_uuid()));
                for b in &bounds {
                    for v in b {
                        q = q.bind(*v);
                    }
                }
                q
            }};
        }
        let totals: Vec<CommentWeek> =
            on_pool!(self, p => bind_weeks!(sqlx::query_as(&totals_sql)).fetch_all(p).await)?;
        let themes: Vec<ThemeWeek> =
            on_pool!(self, p => bind_weeks!(sqlx::query_as(&themes_sql)).fetch_all(p).await)?;
        Ok((totals.into_iter().filter(|t| t.items > 0).collect(), themes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_words_or_nothing() {
        for q in ["\"", "*", "NEAR(", "-", ":", "\"\"", "(", "^", "'", "a:b"] {
            let p = SearchQuery::parse(q);
            assert!(
                p.fts5().chars().filter(|c| *c == '"').count() % 2 == 0,
                "{q}"
            );
        }
        assert!(SearchQuery::parse("\"").is_empty());
        assert!(SearchQuery::parse("* - : NEAR(").terms == vec![vec!["near".to_string()]]);
        assert_eq!(
            SearchQuery::parse("a OR b").fts5(),
            "\"a\" AND \"or\" AND \"b\""
        );
    }

    #[test]
    fn phrases_and_words() {
        let q = SearchQuery::parse("phone \"on hold\" it's");
        assert_eq!(
            q.terms,
            vec![
                vec!["phone".to_string()],
                vec!["on".to_string(), "hold".to_string()],
                vec!["it".to_string()],
                vec!["s".to_string()]
            ]
        );
        assert_eq!(q.fts5(), "\"phone\" AND \"on hold\" AND \"it\" AND \"s\"");
        assert_eq!(
            q.tsquery(),
            "('phone') & ('on' <-> 'hold') & ('it') & ('s')"
        );
        // An unclosed quote runs to the end.
        assert_eq!(
            SearchQuery::parse("\"long wait").terms,
            vec![vec!["long".to_string(), "wait".to_string()]]
        );
        assert_eq!(
            SearchQuery::parse("información").terms,
            vec![vec!["información".to_string()]]
        );
    }

    #[test]
    fn a_week_is_whole_days_and_edge_hours() {
        const DAY_MS: i64 = 86_400_000;
        // Monday 05:00 UTC to the next Monday 05:00 UTC (New York in winter).
        let start = 20_000 * DAY_MS + 5 * HOUR_MS;
        let b = week_bounds(start, start + 7 * DAY_MS);
        let hours = (b[2] - b[1]) + (b[6] - b[5]);
        let days = b[4] - b[3];
        assert_eq!((hours, days), (24, 6));
        assert_eq!(b[1], 20_000 * 24 + 5);
        assert_eq!(b[2], 20_001 * 24);
        assert_eq!(b[5], 20_007 * 24);
        // Aligned on UTC days: no edge hours.
        let b = week_bounds(20_000 * DAY_MS, 20_007 * DAY_MS);
        assert_eq!((b[2] - b[1], b[4] - b[3], b[6] - b[5]), (0, 7, 0));
        // Shorter than a day: hours only.
        let b = week_bounds(start, start + 3 * HOUR_MS);
        assert_eq!((b[2] - b[1], b[4] - b[3], b[6] - b[5]), (3, 0, 0));
    }

    #[test]
    fn cursors_round_trip() {
        let c = SearchCursor {
            at_ms: 12,
            kind: CommentKind::Signal,
            item_id: Uuid::nil(),
        };
        assert_eq!(c.to_string().parse::<SearchCursor>().unwrap(), c);
        assert!("12_x_y".parse::<SearchCursor>().is_err());
    }
}
