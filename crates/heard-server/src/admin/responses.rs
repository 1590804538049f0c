//! Responses: a filtered list (newest first, keyset pages), one response in full, and a CSV export streamed page by
//! page with no row limit. Contact details are shown only to analysts and admins, opened from their sealed form.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use heard_domain::{ResponseId, ServiceId, SurveyId, Zone};
use heard_store::StoredResponse;
use heard_store::responses::{Order, ResponseFilter};
use minijinja::context;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::filters::{self, nonempty};
use super::{base_ctx, page};
use crate::auth::{Analyst, Viewer};
use crate::{AppError, AppResult, AppState};

const PAGE: i64 = 50;

#[derive(Deserialize, Default, Debug)]
pub struct ListQuery {
    survey: Option<String>,
    service: Option<String>,
    channel: Option<String>,
    language: Option<String>,
    trust: Option<String>,
    sentiment: Option<String>,
    theme: Option<String>,
    urgent: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

impl ListQuery {
    /// The filter; `from` and `to` are local days of the organization's `zone`, both included: a response at 22:30
    /// on September 30 in New York is found by a filter ending September 30.
    fn filter(&self, zone: &Zone) -> AppResult<ResponseFilter> {
        let (from_ms, to_ms) = filters::local_days(zone, &self.from, &self.to)?;
        Ok(ResponseFilter {
            survey_id: nonempty(&self.survey)
                .map(|s| s.parse::<SurveyId>())
                .transpose()?,
            service_id: nonempty(&self.service)
                .map(|s| s.parse::<ServiceId>())
                .transpose()?,
            channel: nonempty(&self.channel)
                .map(|c| {
                    c.parse::<heard_domain::Channel>()
                        .map(|c| c.key().to_string())
                })
                .transpose()?,
            language: nonempty(&self.language).map(str::to_string),
            trust_positive: match nonempty(&self.trust) {
                Some("positive") => Some(true),
                Some("negative") => Some(false),
                None => None,
                Some(_) => {
                    return Err(AppError::field(
                        "trust",
                        "not_an_option",
                        "trust is positive or negative",
                    ));
                }
            },
            sentiment: filters::sentiment(&self.sentiment)?,
            theme: filters::theme(nonempty(&self.theme))?,
            urgent: nonempty(&self.urgent).map(|_| true),
            from_ms,
            to_ms,
        })
    }

    /// The query string without the cursor, for links to next pages and to the export.
    fn params(&self) -> String {
        filters::query_string(&[
            ("survey", &self.survey),
            ("service", &self.service),
            ("channel", &self.channel),
            ("language", &self.language),
            ("trust", &self.trust),
            ("sentiment", &self.sentiment),
            ("theme", &self.theme),
            ("urgent", &self.urgent),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

/// A channel code in words ("In person"); an unknown code as stored.
fn channel_label(key: &str) -> String {
    key.parse::<heard_domain::Channel>()
        .map(|c| c.label().to_string())
        .unwrap_or_else(|_| key.to_string())
}

use crate::labels::sentiment_word;

fn row_view(r: &StoredResponse, survey_names: &BTreeMap<SurveyId, String>) -> minijinja::Value {
    let comment = r
        .answers
        .iter()
        .find_map(|(_, v)| v.as_text().filter(|t| t.len() > 20))
        .map(|t| t.chars().take(160).collect::<String>());
    // Theme labels come from the analysis stored with the response, so they read as they did when it arrived.
    let mut themes: Vec<String> = Vec::new();
    for a in r
        .enrichment
        .as_ref()
        .and_then(|e| e.as_object())
        .into_iter()
        .flat_map(|o| o.values())
    {
        for t in a["themes"].as_array().into_iter().flatten() {
            if let Some(l) = t["label"]
                .as_str()
                .filter(|l| !themes.iter().any(|x| x == l))
            {
                themes.push(l.to_string());
            }
        }
    }
    // Stored with enrichment left to the job queue (`Enrich::Later`): the text is redacted and checked for crisis
    // language, and its sentiment and themes are not read yet.
    let pending = r.enrichment.is_none() && r.answers.iter().any(|(_, v)| v.as_text().is_some());
    context! {
        id => r.id.to_string(), submitted_at => r.submitted_at, pending => pending, survey => survey_names.get(&r.survey_id).cloned().unwrap_or_default(),
        version => r.survey_version, channel => channel_label(&r.channel), language => crate::i18n::language_name(&r.language, "en"),
        trust => r.trust, trust_positive => r.trust_positive,
        comment => comment, sentiment => r.sentiment.as_deref().map(sentiment_word), themes => themes, urgent => r.urgent,
    }
}

/// Responses a list's count may read before it says "more than" instead.
const COUNT_CAP: i64 = 10_000;

/// How many responses match: from the dashboards' rollups when the filter is one they keep (survey, service,
/// channel, language, trust answer and local dates; rebuilt rollups are exact), else by counting at most
/// `COUNT_CAP` rows (`(COUNT_CAP, true)` means more).
async fn count(state: &AppState, m: &Viewer, f: &ResponseFilter) -> AppResult<(i64, bool)> {
    let pending = state.store.rollups_pending(m.org_id()).await?.is_some();
    if f.sentiment.is_none() && f.theme.is_none() && f.urgent.is_none() && !pending {
        let zone = m.org.time_zone;
        // Date filters are local days (`ListQuery::filter`), so they fall on the rollups' day boundaries.
        let scope = heard_store::rollups::RollupScope {
            survey: f.survey_id,
            service: f.service_id,
            from_day: f
                .from_ms
                .map(|t| zone.day_number(t))
                .unwrap_or(i64::MIN / 4),
            to_day: f.to_ms.map(|t| zone.day_number(t)).unwrap_or(i64::MAX / 4),
        };
        let n = state
            .store
            .count_from_rollups(
                m.org_id(),
                &scope,
                f.channel.as_deref(),
                f.language.as_deref(),
                f.trust_positive,
            )
            .await?;
        return Ok((n, false));
    }
    Ok(state
        .store
        .count_responses_capped(m.org_id(), f, COUNT_CAP)
        .await?)
}

pub async fn list(
    State(state): State<AppState>,
    m: Viewer,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let f = q.filter(&m.org.time_zone)?;
    let cursor = nonempty(&q.before)
        .map(|s| s.parse::<heard_store::responses::Cursor>())
        .transpose()?;
    let rows = state
        .store
        .responses_page(m.org_id(), &f, cursor, Order::NewestFirst, PAGE)
        .await?;
    let (total, total_capped) = count(&state, &m, &f).await?;
    let surveys = state.store.surveys(m.org_id(), None).await?;
    let names: BTreeMap<SurveyId, String> =
        surveys.iter().map(|s| (s.id, s.name.clone())).collect();
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.cursor().to_string()))
        .flatten();
    let services = state.store.services(m.org_id()).await?;
    Ok(page(
        &state,
        "responses.html",
        base_ctx(&m, "responses"),
        context! {
            rows => rows.iter().map(|r| row_view(r, &names)).collect::<Vec<_>>(), total => total, total_capped => total_capped, next => next, params => q.params(),
            filter => context!{ survey => q.survey, service => q.service, channel => q.channel, language => q.language, trust => q.trust,
                sentiment => q.sentiment, theme => q.theme, urgent => q.urgent, from => q.from, to => q.to },
            themes => state.pipeline.themes().into_iter().map(|(id, label)| context!{ id => id, label => label }).collect::<Vec<_>>(),
            surveys => surveys.iter().map(|s| context!{ id => s.id.to_string(), name => s.name }).collect::<Vec<_>>(),
            services => services.iter().map(|s| context!{ id => s.id.to_string(), name => s.name.get("en") }).collect::<Vec<_>>(),
            channels => heard_domain::Channel::ALL.iter().map(|c| context!{ key => c.key(), label => c.label() }).collect::<Vec<_>>(),
        },
    ))
}

pub async fn show(
    State(state): State<AppState>,
    m: Viewer,
    Path((_, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let id: ResponseId = id.parse().map_err(|_| AppError::NotFound)?;
    let r = state.store.response(m.org_id(), id).await?;
    let survey = state.store.survey(m.org_id(), r.survey_id).await?;
    let version = state
        .store
        .survey_version(m.org_id(), r.survey_id, r.survey_version)
        .await?;
    let def = &version.definition;
    // Staff read the answers as the words the respondent chose (the English wording of the version answered).
    let answers: Vec<_> = def
        .questions
        .iter()
        .map(|q| {
            let a = r.answers.get(&q.id);
            let enrichment = r.enrichment.as_ref().and_then(|e| e.get(&q.id)).cloned();
            let sentiment = enrichment.as_ref().and_then(|e| e["sentiment"]["label"].as_str()).map(sentiment_word);
            context! { id => q.id, prompt => q.prompt.get("en"), answer => a.map(|a| crate::labels::answer_words(Some(q), a, "en")),
                enrichment => minijinja::Value::from_serialize(&enrichment), sentiment => sentiment,
                pending => r.enrichment.is_none() && q.kind.is_free_text() && a.and_then(|a| a.as_text()).is_some(),
                contact => q.kind.is_contact() }
        })
        .collect();
    let prompt = |qid: &str| {
        def.question(qid)
            .map(|q| q.prompt.get("en").to_string())
            .unwrap_or_else(|| qid.to_string())
    };
    // What the response is about, shown apart from its channel (where it arrived).
    let touchpoint = match r.touchpoint_id {
        Some(t) => state
            .store
            .touchpoint(m.org_id(), t)
            .await
            .ok()
            .map(|t| format!("{} ({})", t.name.get("en"), t.channel.label())),
        None => None,
    };
    // Contact details are personal data: only roles that work cases may read them.
    let contacts: Vec<_> = if m.role >= heard_domain::Role::Analyst {
        state
            .store
            .response_contacts(m.org_id(), id)
            .await?
            .into_iter()
            .map(|(q, sealed)| context! { question => prompt(&q), value => state.pipeline.sealer().open(&sealed).unwrap_or_else(|| "(cannot be opened with this server's key)".into()) })
            .collect()
    } else {
        vec![]
    };
    // The original words are kept only by organizations that chose to, sealed; the same roles as contacts may read them.
    let originals: Vec<_> = if m.role >= heard_domain::Role::Analyst {
        state
            .store
            .response_raw_texts(m.org_id(), id)
            .await?
            .into_iter()
            .filter_map(|(q, sealed)| {
                Some(context! { question => prompt(&q), value => state.pipeline.sealer().open(&sealed)? })
            })
            .collect()
    } else {
        vec![]
    };
    // The person's timeline is for the same roles as contact details; only the key's short form is shown.
    let person = if m.role >= heard_domain::Role::Analyst {
        state.store.response_person_key(m.org_id(), id).await?
    } else {
        None
    };
    // The cases this response is linked to, with their status in words.
    let settings = state.store.case_settings(m.org_id()).await?;
    let cases: Vec<_> = state
        .store
        .cases_linked_to(m.org_id(), heard_domain::case::LinkKind::Response, *id.as_uuid())
        .await?
        .into_iter()
        .map(|c| {
            let status = settings.status(&c.status).map(|s| s.label).unwrap_or(c.status);
            context! { id => c.id.to_string(), number => c.number, title => c.title, status => status,
                priority => c.priority.key() }
        })
        .collect();
    Ok(page(
        &state,
        "response.html",
        base_ctx(&m, "responses"),
        context! { r => row_view(&r, &BTreeMap::from([(survey.id, survey.name.clone())])), answers => answers, contacts => contacts, originals => originals,
        page_path => r.page_path, touchpoint => touchpoint,
        person => person.clone(), person_short => person.as_deref().map(super::inbox::short_key), cases => cases,
        tags => state.store.item_tags(m.org_id(), heard_store::rules::HitKind::Response, *id.as_uuid()).await? },
    ))
}

/// Streams every matching response as CSV (the format of `crate::export`: a UTF-8 byte-order mark first, local
/// times, labels with their codes), one page at a time, so an export of millions of rows holds one page in memory.
/// With a survey filter each question is a column; otherwise each answer is a row.
pub async fn export(
    State(state): State<AppState>,
    m: Analyst,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let f = q.filter(&m.org.time_zone)?;
    let org = m.org_id();
    let exporter =
        crate::export::Exporter::load(&state.store, org, m.org.time_zone, f.survey_id).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut cursor = None;
        let mut first = true;
        loop {
            let page = match store
                .responses_page(org, &f, cursor, Order::OldestFirst, 1000)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    // The client sees a truncated download rather than a silently short file.
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let buf = Vec::with_capacity(128 * 1024);
            let mut w = csv::Writer::from_writer(buf);
            if first {
                let _ = w.write_record(exporter.header());
                first = false;
            }
            let done = page.len() < 1000;
            cursor = page.last().map(|r| r.cursor());
            for r in &page {
                for row in exporter.rows(r) {
                    let _ = w.write_record(row);
                }
            }
            let chunk = w.into_inner().unwrap_or_default();
            if tx.send(Ok(chunk)).await.is_err() || done {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    super::csv_table::attachment("heard-responses.csv", Body::from_stream(stream))
}
