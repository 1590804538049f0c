//! The one path every piece of feedback takes, whatever channel it came by: Collect → Protect → Enrich → Store.
//!
//! A channel adapter (hosted page, JSON API, and later SMS, email, bulk import) turns what arrived into a
//! `Submission`; `Pipeline::prepare` parses the answers against the exact survey version, seals contact details and
//! replaces them with a keyed person hash, redacts and enriches free text, and denormalizes the trust answer; the
//! store's group-commit writer then makes it durable. No channel writes responses any other way.

use heard_domain::identity::PersonId;
use heard_domain::response::{AnswerValue, NewResponse};
use heard_domain::survey::{A11Role, HiddenAnswers, QuestionKind, SurveyDefinition};
use heard_domain::{
    Channel, FieldErrors, Lang, OrgId, ResponseId, ServiceId, SurveyId, TouchpointId,
};
use heard_store::{Store, Submitted};
use serde_json::{Map, Value, json};

use crate::AppError;
use crate::crypto::Sealer;

/// What a channel collected, before any checking.
#[derive(Debug, Clone)]
pub struct Submission {
    pub org_id: OrgId,
    pub survey_id: SurveyId,
    pub survey_version: i32,
    pub service_id: ServiceId,
    pub touchpoint_id: Option<TouchpointId>,
    pub channel: Channel,
    pub language: Lang,
    pub page_path: Option<String>,
    pub idempotency_key: String,
    /// Milliseconds since the Unix epoch.
    pub submitted_at: i64,
    pub answers: Map<String, Value>,
    pub hidden: HiddenAnswers,
    /// Keep the original free text, sealed (an organization's choice; off by default).
    pub keep_raw_text: bool,
}

pub struct Pipeline {
    sealer: Sealer,
    analyzer: heard_text::Analyzer,
}

impl Pipeline {
    pub fn new(secret: &[u8; 32]) -> Pipeline {
        Pipeline {
            sealer: Sealer::new(secret),
            analyzer: heard_text::Analyzer::new(),
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The themes the text engine knows, as (id, label), for filters.
    pub fn themes(&self) -> Vec<(String, String)> {
        self.analyzer
            .taxonomy()
            .themes()
            .iter()
            .map(|t| (t.id.clone(), t.label.clone()))
            .collect()
    }

    /// Checks and transforms a submission into what the store keeps. Field errors name `answers.<question>`.
    pub fn prepare(
        &self,
        s: Submission,
        def: &SurveyDefinition,
    ) -> Result<NewResponse, FieldErrors> {
        self.prepare_with(s, def, Enrich::Now)
    }

    /// [`Pipeline::prepare`], with enrichment now or left to a job (`Enrich::Later`: text redacted and crisis
    /// language flagged here, since urgent is immediate; sentiment, themes, intent and emotions by the job).
    pub fn prepare_with(
        &self,
        s: Submission,
        def: &SurveyDefinition,
        enrich: Enrich,
    ) -> Result<NewResponse, FieldErrors> {
        // Collect: parse against the exact version the respondent saw.
        let mut answers = def.parse_answers(&s.answers, s.hidden)?;
        // The request as it means, before contacts are sealed and text redacted: what a retry must repeat exactly.
        let request_fingerprint = self.sealer.fingerprint(&json!({
            "survey_id": s.survey_id.to_string(),
            "survey_version": s.survey_version,
            "answers": answers,
            "language": s.language.as_str(),
            "channel": s.channel.key(),
            "touchpoint_id": s.touchpoint_id.map(|t| t.to_string()),
            "page_path": s.page_path,
        }));

        // Protect: contact details leave the answers, sealed; analytics keeps only a keyed person hash.
        let mut contacts = Vec::new();
        let mut person_key = None;
        for q in def.questions.iter().filter(|q| q.kind.is_contact()) {
            if let Some(AnswerValue::Text(contact)) = answers.remove(&q.id) {
                // The same normalisation and per-organization key as signals and events, so one person links
                // across surveys and channels (`heard_domain::identity`).
                let id = if q.kind == QuestionKind::Email {
                    PersonId::email(&q.id, &contact)
                } else {
                    PersonId::phone(&q.id, &contact)
                };
                if let (None, Ok(id)) = (&person_key, id) {
                    person_key = Some(self.sealer.person_key(s.org_id, &id).0);
                }
                contacts.push((q.id.clone(), self.sealer.seal(&contact)));
            }
        }

        // Protect and enrich free text: the stored text is the redacted one; the analysis goes beside it. The original
        // is kept only if the organization turned that on, and then sealed like a contact. With enrichment deferred
        // (large imports, `Enrich::Later`) the text is redacted and checked for crisis language here, and the rest of
        // the analysis is left to the `imports.enrich` job.
        let mut fold = TextFold::default();
        let mut raw_texts = Vec::new();
        for q in def.questions.iter().filter(|q| q.kind.is_free_text()) {
            if let Some(AnswerValue::Text(text)) = answers.get_mut(&q.id) {
                if s.keep_raw_text {
                    raw_texts.push((q.id.clone(), self.sealer.seal(text)));
                }
                match enrich {
                    Enrich::Now => {
                        let a = self.analyzer.analyze(text, Some(s.language.as_str()));
                        *text = a.redacted.clone();
                        fold.add(&q.id, &a);
                    }
                    Enrich::Later => {
                        let (redacted, reasons) = self.analyzer.inline(text);
                        fold.urgent |= !reasons.is_empty();
                        *text = redacted;
                    }
                }
            }
        }
        let TextFold {
            enrichment,
            sentiment,
            themes,
            urgent,
        } = fold;

        let (trust, trust_positive) = trust_of(def, &answers);
        Ok(NewResponse {
            id: ResponseId::new(),
            org_id: s.org_id,
            survey_id: s.survey_id,
            survey_version: s.survey_version,
            service_id: s.service_id,
            touchpoint_id: s.touchpoint_id,
            channel: s.channel,
            language: s.language,
            page_path: s.page_path,
            submitted_at: s.submitted_at,
            idempotency_key: s.idempotency_key,
            request_fingerprint,
            answers,
            trust,
            trust_positive,
            person_key,
            contacts,
            enrichment: (!enrichment.is_empty()).then_some(Value::Object(enrichment)),
            sentiment: sentiment.map(str::to_string),
            themes,
            urgent,
            raw_texts,
        })
    }

    /// Prepares and stores; returns once the response is durable.
    pub async fn submit(
        &self,
        store: &Store,
        s: Submission,
        def: &SurveyDefinition,
    ) -> Result<Submitted, AppError> {
        let prepared = self.prepare(s, def)?;
        let submitted = store.submit(prepared).await?;
        Ok(submitted)
    }
}

/// The trust answer and whether it is positive: thumbs up, or 4-5 on the agreement scale.
pub fn trust_of(
    def: &SurveyDefinition,
    answers: &heard_domain::response::Answers,
) -> (Option<i16>, Option<bool>) {
    let Some(q) = def.question_with_role(A11Role::Trust) else {
        return (None, None);
    };
    let Some(n) = answers.get(&q.id).and_then(AnswerValue::as_number) else {
        return (None, None);
    };
    let positive = match q.kind {
        QuestionKind::Thumbs => n == 1,
        QuestionKind::Agreement5 => n >= 4,
        _ => return (None, None),
    };
    (Some(n as i16), Some(positive))
}

/// When free text is enriched: in the request (`Now`), or by the `imports.enrich` job after the batch committed
/// (`Later`, for large imports: redaction and the urgent flag still happen before storing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Enrich {
    #[default]
    Now,
    Later,
}

/// What a response's free-text answers add up to: the enrichment per question, the most negative label (one
/// complaint matters), every theme once, and whether any is urgent. The pipeline and the enrichment job both fold
/// analyses through it, so a response enriched later reads like one enriched at once.
#[derive(Default)]
pub struct TextFold {
    pub enrichment: Map<String, Value>,
    pub sentiment: Option<&'static str>,
    pub themes: Vec<String>,
    pub urgent: bool,
}

impl TextFold {
    /// Adds the analysis of question `id`'s answer.
    pub fn add(&mut self, id: &str, a: &heard_text::Analysis) {
        let v = enrichment_json(a);
        let label = match v["sentiment"]["label"].as_str() {
            Some("negative") => Some("negative"),
            Some("neutral") => Some("neutral"),
            Some("positive") => Some("positive"),
            _ => None,
        };
        let rank = |l: Option<&str>| match l {
            Some("negative") => 0,
            Some("neutral") => 1,
            Some("positive") => 2,
            _ => 3,
        };
        if rank(label) < rank(self.sentiment) {
            self.sentiment = label;
        }
        for t in v["themes"].as_array().into_iter().flatten() {
            if let Some(id) = t["id"]
                .as_str()
                .filter(|id| !self.themes.iter().any(|x| x == id))
            {
                self.themes.push(id.to_string());
            }
        }
        self.urgent |= v["urgency"].as_array().is_some_and(|u| !u.is_empty());
        self.enrichment.insert(id.to_string(), v);
    }
}

/// The stored enrichment of one analysed text: language, sentiment, themes, intent, emotions, urgency and the
/// personal-data entity types found (never the personal data itself). Survey answers and signals store the same
/// shape, so reports read both alike.
pub fn enrichment_json(a: &heard_text::Analysis) -> Value {
    json!({
        "language": a.language,
        "sentiment": a.sentiment,
        "themes": a.themes,
        "intent": a.intent,
        "emotions": a.emotions,
        "urgency": a.urgency,
        "pii": pii_types(&a.pii),
    })
}

/// The entity types found in a text (never the text itself), for filters and audits.
fn pii_types<T: serde::Serialize>(spans: &[T]) -> Vec<String> {
    let mut types: Vec<String> = spans
        .iter()
        .filter_map(|s| {
            serde_json::to_value(s)
                .ok()?
                .get("type")?
                .as_str()
                .map(str::to_string)
        })
        .collect();
    types.sort();
    types.dedup();
    types
}

/// Signals and events take the same path as responses: Protect (persons and references become per-organization
/// keyed hashes, free text is redacted) → Enrich (the text engine) → Store. The request fingerprint is taken of the
/// parsed item before anything is hashed or redacted, so a retry is recognised by what it means.
impl Pipeline {
    /// Protects and enriches a parsed signal. A transcript's turns are each redacted and kept; only the customer's
    /// turns are analysed, so an agent's courtesy never reads as the customer's satisfaction.
    pub fn prepare_signal(
        &self,
        org: OrgId,
        s: heard_domain::signal::SignalInput,
        received_at: i64,
    ) -> heard_domain::signal::NewSignal {
        self.prepare_signal_full(org, s, None, received_at, Enrich::Now)
    }

    /// [`Pipeline::prepare_signal`], with enrichment now or left to the `imports.enrich` job (`Enrich::Later`: the
    /// text redacted and crisis language flagged here; no enrichment, sentiment or themes until the job ran, and the
    /// language is the one given, or `und` until then).
    pub fn prepare_signal_with(
        &self,
        org: OrgId,
        s: heard_domain::signal::SignalInput,
        received_at: i64,
        enrich: Enrich,
    ) -> heard_domain::signal::NewSignal {
        self.prepare_signal_full(org, s, None, received_at, enrich)
    }

    /// Prepares a signal from one of Heard's own forms (`heard_domain::voice`): the signal exactly as
    /// `prepare_signal` does, and the form's extras protected the same way: attribute text redacted, the contact
    /// sealed (the signal's person is already its keyed hash). A retry of the same form is recognised by the
    /// signal, its attributes and its sender.
    pub fn prepare_form_signal(
        &self,
        org: OrgId,
        f: heard_domain::voice::FormSignal,
        received_at: i64,
    ) -> (
        heard_domain::signal::NewSignal,
        heard_domain::voice::ProtectedExtras,
    ) {
        let signal =
            self.prepare_signal_full(org, f.signal, Some(&f.extras), received_at, Enrich::Now);
        let attributes = f
            .extras
            .attributes
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, Value::String(heard_text::redact(&s).0)),
                v => (k, v),
            })
            .collect();
        let extras = heard_domain::voice::ProtectedExtras {
            attributes,
            sent_by: f.extras.sent_by,
            sealed_contact: f.extras.contact.as_deref().map(|c| self.sealer.seal(c)),
        };
        (signal, extras)
    }

    fn prepare_signal_full(
        &self,
        org: OrgId,
        s: heard_domain::signal::SignalInput,
        extras: Option<&heard_domain::voice::Extras>,
        received_at: i64,
        enrich: Enrich,
    ) -> heard_domain::signal::NewSignal {
        use heard_domain::signal::{NewSignal, Turn};
        let mut meaning = json!({
            "kind": "signal",
            "source": s.source.key(),
            "author": s.author.key(),
            "text": s.text,
            "turns": s.turns,
            "rating": s.rating,
            "url": s.url,
            "language": s.language.as_ref().map(|l| l.as_str()),
            "occurred_at": s.common.occurred_at,
            "service_id": s.common.service_id.map(|x| x.to_string()),
            "touchpoint_id": s.common.touchpoint_id.map(|x| x.to_string()),
            "person": s.common.person.as_ref().map(|p| p.as_str()),
            "reference": s.common.reference.as_ref().map(|r| r.as_str()),
        });
        // Only a form's signal has extras; the API's fingerprints stay exactly what they were, so retries of items
        // stored before forms existed are still recognised. A form's time is when it arrived, not something the
        // person said: a second send of the same form a moment later is the same signal.
        if let Some(x) = extras {
            meaning["occurred_at"] = Value::Null;
            meaning["attributes"] = Value::Object(x.attributes.clone());
            meaning["sent_by"] = json!(x.sent_by.map(|u| u.to_string()));
        }
        let request_fingerprint = self.sealer.fingerprint(&meaning);
        let hint = s.language.as_ref().map(|l| l.as_str());
        let customer = s.customer_text();
        let (text, language, urgent, enrichment, sentiment, themes) = match enrich {
            Enrich::Now => {
                let a = self.analyzer.analyze(&customer, hint);
                let enrichment = enrichment_json(&a);
                let sentiment = enrichment["sentiment"]["label"]
                    .as_str()
                    .map(str::to_string);
                (
                    a.redacted,
                    hint.map(str::to_string).unwrap_or(a.language),
                    !a.urgency.is_empty(),
                    Some(enrichment),
                    sentiment,
                    a.themes.iter().map(|t| t.id.clone()).collect(),
                )
            }
            Enrich::Later => {
                let (redacted, reasons) = self.analyzer.inline(&customer);
                (
                    redacted,
                    hint.unwrap_or("und").to_string(),
                    !reasons.is_empty(),
                    None,
                    None,
                    Vec::new(),
                )
            }
        };
        let turns: Vec<Turn> = s
            .turns
            .iter()
            .map(|t| Turn {
                speaker: t.speaker,
                text: heard_text::redact(&t.text).0,
            })
            .collect();
        let (person_key, reference_key) = self.sealed_keys(org, &s.common);
        NewSignal {
            id: heard_domain::SignalId::new(),
            org_id: org,
            source: s.source,
            author: s.author,
            service_id: s.common.service_id,
            touchpoint_id: s.common.touchpoint_id,
            external_id: s.common.external_id,
            request_fingerprint,
            // An address may carry a name or an email in its query string: redacted like any text.
            url: s.url.map(|u| heard_text::redact(&u).0),
            rating: s.rating,
            language,
            text,
            turns,
            urgent,
            enrichment,
            sentiment,
            themes,
            person_key,
            reference_key,
            occurred_at: s.common.occurred_at,
            received_at,
        }
    }

    /// The keyed hashes of a signal's or an event's person and reference (never the values themselves), per
    /// organization, so the same person links across channels within it and nowhere else.
    fn sealed_keys(
        &self,
        org: OrgId,
        c: &heard_domain::intake::Common,
    ) -> (
        Option<heard_domain::identity::PersonKey>,
        Option<heard_domain::identity::ReferenceKey>,
    ) {
        (
            c.person.as_ref().map(|p| self.sealer.person_key(org, p)),
            c.reference
                .as_ref()
                .map(|r| self.sealer.reference_key(org, r)),
        )
    }

    /// Protects a parsed event: person and reference hashed, attribute strings redacted.
    pub fn prepare_event(
        &self,
        org: OrgId,
        e: heard_domain::event::EventInput,
        source: &str,
        received_at: i64,
    ) -> heard_domain::event::NewEvent {
        let request_fingerprint = self.sealer.fingerprint(&json!({
            "kind": "event",
            "type": e.event_type,
            "source": source,
            "measures": e.measures,
            "attributes": e.attributes,
            "occurred_at": e.common.occurred_at,
            "service_id": e.common.service_id.map(|x| x.to_string()),
            "touchpoint_id": e.common.touchpoint_id.map(|x| x.to_string()),
            "person": e.common.person.as_ref().map(|p| p.as_str()),
            "reference": e.common.reference.as_ref().map(|r| r.as_str()),
        }));
        let attributes = e
            .attributes
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, Value::String(heard_text::redact(&s).0)),
                v => (k, v),
            })
            .collect();
        let (person_key, reference_key) = self.sealed_keys(org, &e.common);
        heard_domain::event::NewEvent {
            id: heard_domain::EventId::new(),
            org_id: org,
            event_type: e.event_type,
            source: source.to_string(),
            occurred_at: e.common.occurred_at,
            received_at,
            service_id: e.common.service_id,
            touchpoint_id: e.common.touchpoint_id,
            person_key,
            reference_key,
            measures: e.measures,
            attributes,
            external_id: e.common.external_id,
            request_fingerprint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heard_domain::LocalizedText;
    use heard_domain::templates::{TrustScale, a11_v2};

    /// A survey's email answer and a signal's person are one person: the same normalisation and the same
    /// per-organization key, whatever case the two channels wrote it in.
    #[test]
    fn a_response_contact_and_a_signal_person_are_one_person() {
        let p = Pipeline::new(&[3u8; 32]);
        let org = OrgId::new();
        let mut def = a11_v2(&LocalizedText::en_only("Benefits"), TrustScale::Thumbs);
        def.questions.push(
            serde_json::from_value(json!({"id": "email", "type": "email", "required": false,
                "prompt": {"en": "Your email"}}))
            .unwrap(),
        );
        let now = 1_800_000_000_000;
        let answers = json!({"trust": 1, "email": "Ana.Lopez@Example.gov"});
        let r = p
            .prepare(
                Submission {
                    org_id: org,
                    survey_id: SurveyId::new(),
                    survey_version: 1,
                    service_id: ServiceId::new(),
                    touchpoint_id: None,
                    channel: Channel::Website,
                    language: Lang::en(),
                    page_path: None,
                    idempotency_key: "k-00000001".into(),
                    submitted_at: now,
                    answers: answers.as_object().unwrap().clone(),
                    hidden: HiddenAnswers::Reject,
                    keep_raw_text: false,
                },
                &def,
            )
            .unwrap();
        let item = json!({"external_id": "s1", "source": "email", "text": "Thanks",
            "person": {"email": " ana.lopez@example.GOV"}});
        let signal =
            heard_domain::signal::parse_signal(item.as_object().unwrap(), "", now).unwrap();
        let s = p.prepare_signal(org, signal.clone(), now);
        assert!(r.person_key.is_some());
        assert_eq!(r.person_key, s.person_key.map(|k| k.0));
        let elsewhere = p.prepare_signal(OrgId::new(), signal, now);
        assert_ne!(r.person_key, elsewhere.person_key.map(|k| k.0));
    }

    /// A form's signal: the same form sent again later is the same signal (its time is not what it says), another
    /// sender is not; the contact is sealed and its text is nowhere in the clear; attribute text is redacted.
    #[test]
    fn a_form_signal_is_recognised_on_a_second_send_and_protected() {
        use heard_domain::voice::{ObservationForm, ReportForm, parse_observation, parse_report};
        let p = Pipeline::new(&[3u8; 32]);
        let org = OrgId::new();
        let svc = ServiceId::new();
        let form = ReportForm {
            what: "The page froze",
            contact: "202-555-0199",
            ..Default::default()
        };
        let at = |now| {
            let f = parse_report(&form, svc, &[], Lang::en(), "k", now).unwrap();
            p.prepare_form_signal(org, f, now)
        };
        let (first, extras) = at(1_800_000_000_000);
        let (later, _) = at(1_800_000_005_000);
        assert_eq!(first.request_fingerprint, later.request_fingerprint);
        let sealed = extras.sealed_contact.unwrap();
        assert_eq!(p.sealer().open(&sealed).as_deref(), Some("202-555-0199"));
        assert!(first.person_key.is_some());

        let services = vec![(svc, vec![])];
        let obs = |who| {
            let f = parse_observation(
                &ObservationForm {
                    what: "Queue out the door",
                    frequency: "daily",
                    fix: "Call ana.lopez@example.gov for the rota",
                    service: &svc.to_string(),
                    ..Default::default()
                },
                &services,
                who,
                "t",
                5,
            )
            .unwrap();
            p.prepare_form_signal(org, f, 5)
        };
        let (a, ax) = obs(heard_domain::UserId::new());
        let (b, _) = obs(heard_domain::UserId::new());
        assert_ne!(a.request_fingerprint, b.request_fingerprint);
        let fix = ax.attributes["fix"].as_str().unwrap();
        assert!(!fix.contains("ana.lopez"), "{fix}");
    }
}
