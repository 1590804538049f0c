//! One person's months with the agency, generated and prepared in chunks: an application with its steps, documents
//! asked for (and sometimes asked for again), decisions and payments, calls with waits and transfers, office visits,
//! and what they said about it (a survey response, and now and then a post, a review, a "report a problem" form or a
//! call transcript), all tied to one pseudonymous person. The patterns an analyst should find are put in here:
//!
//! - long waits (a call or an office wait over the limits below) and being asked again for a document lower trust;
//! - Spanish speakers are transferred more often on calls;
//! - the SNAP online application is where journeys break: most people who abandon do so at its document upload step;
//! - and, as before, the unemployment claims service is worse, an outage sinks three weeks of it, Spanish speakers
//!   fare worse online, and phone is worse than in person.
//!
//! A chunk is a pure function of (seed, chunk index), so the data is the same for a seed whatever the number of
//! threads, and each chunk's items go through the same pipeline as every channel (`Pipeline::prepare`,
//! `prepare_signal`, `prepare_event`) before the writer stores them.

use std::collections::BTreeMap;

use chrono::Datelike;
use heard_domain::event::{EventInput, NewEvent};
use heard_domain::identity::{PersonId, ReferenceId};
use heard_domain::intake::Common;
use heard_domain::response::NewResponse;
use heard_domain::signal::{Author, NewSignal, SignalInput, SignalSource};
use heard_domain::survey::{HiddenAnswers, SurveyDefinition};
use heard_domain::{Channel, Lang, OrgId, ServiceId, SurveyId, TouchpointId, Zone};
use heard_server::pipeline::{Pipeline, Submission};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use super::words::{self, Experience};

/// People per chunk: one unit of generation and of writing.
pub const CHUNK: usize = 2_000;
/// A call waited at least this long (seconds) is a long wait.
pub const LONG_CALL_WAIT: f64 = 20.0 * 60.0;
/// An office wait at least this long (seconds) is a long wait.
pub const LONG_OFFICE_WAIT: f64 = 45.0 * 60.0;
pub const WEEKS: i64 = 30;
const DAY: i64 = 86_400_000;
const MIN: i64 = 60_000;

/// Where a survey is answered, which decides how that person's journey went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Web,
    Phone,
    Office,
    Kiosk,
    Sms,
}

pub struct Plan {
    pub survey_id: SurveyId,
    pub touchpoint_id: TouchpointId,
    pub def: SurveyDefinition,
    /// Where its responses arrive (`Arrival`), not the channel of the touchpoint they are about.
    pub channel: Channel,
    /// Base probability of positive trust for this survey's service and channel.
    pub base: f64,
    /// Share of all responses.
    pub weight: f64,
    /// Share of people offered the survey who answer.
    pub response_rate: f64,
    pub outage: bool,
    /// Index into `World::services`.
    pub service: usize,
    pub kind: Kind,
}

pub struct Svc {
    pub key: &'static str,
    pub name: &'static str,
    pub id: ServiceId,
    pub web: TouchpointId,
    pub phone: TouchpointId,
    pub office: Option<TouchpointId>,
    pub kiosk: Option<TouchpointId>,
    pub sms: Option<TouchpointId>,
    /// Application number prefix.
    pub prefix: &'static str,
    pub steps: [&'static str; 4],
    /// Share of people needing a document, and of those asked for it again.
    pub documents: f64,
    pub asked_again: f64,
    /// Median call wait, seconds.
    pub call_wait: f64,
    /// Days from submission to decision.
    pub processing_days: (i64, i64),
    pub pays: bool,
}

/// Everything a chunk needs, read-only and shared by the generating threads.
pub struct World {
    pub org: OrgId,
    pub seed: u64,
    pub zone: Zone,
    pub start_ms: i64,
    pub end_ms: i64,
    pub now_ms: i64,
    pub responses: usize,
    /// People who went through a service without answering, per respondent.
    pub non_respondents: f64,
    pub plans: Vec<Plan>,
    pub services: Vec<Svc>,
}

/// One chunk's items, prepared for the store.
#[derive(Default)]
pub struct Batch {
    pub responses: Vec<NewResponse>,
    pub signals: Vec<NewSignal>,
    pub events: Vec<NewEvent>,
    /// (plan, local day) → people offered the survey.
    pub displays: BTreeMap<(usize, i64), i64>,
}

impl World {
    pub fn chunks(&self) -> usize {
        self.responses.div_ceil(CHUNK)
    }

    fn in_outage(&self, t: i64) -> bool {
        let week = (t - self.start_ms).div_euclid(7 * DAY);
        (WEEKS - 11..=WEEKS - 9).contains(&week)
    }

    /// Generates and prepares chunk `c`: respondents `c*CHUNK..`, then that chunk's share of non-respondents.
    pub fn chunk(&self, c: usize, pipeline: &Pipeline) -> Batch {
        let mut rng = StdRng::seed_from_u64(
            self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (c as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        let first = c * CHUNK;
        let last = ((c + 1) * CHUNK).min(self.responses);
        let extra = ((last - first) as f64 * self.non_respondents).round() as usize;
        let mut out = Batch::default();
        out.responses.reserve(last - first);
        out.events.reserve((last - first + extra) * 8);
        for i in first..last {
            self.person(&mut rng, i as u64, Some(i), pipeline, &mut out);
        }
        let stride = (CHUNK as f64 * self.non_respondents).ceil() as u64 + 1;
        for j in 0..extra as u64 {
            let pid = self.responses as u64 + c as u64 * stride + j;
            self.person(&mut rng, pid, None, pipeline, &mut out);
        }
        out
    }

    fn pick_plan(&self, rng: &mut StdRng) -> usize {
        let total: f64 = self.plans.iter().map(|p| p.weight).sum();
        let mut pick = rng.random::<f64>() * total;
        for (j, p) in self.plans.iter().enumerate() {
            if pick < p.weight {
                return j;
            }
            pick -= p.weight;
        }
        self.plans.len() - 1
    }

    /// When a person answers (or would have): later weeks busier (the programme grew), weekdays more than weekends.
    fn moment(&self, rng: &mut StdRng) -> i64 {
        loop {
            let u: f64 = rng.random::<f64>().powf(0.8);
            let ms = self.start_ms + (u * (self.end_ms - self.start_ms - 1) as f64) as i64;
            let dow = self.zone.date(ms).weekday().num_days_from_monday();
            if dow < 5 || rng.random::<f64>() < 0.35 {
                // Later this week has not happened yet: a week earlier instead. Folding (rather than drawing again)
                // keeps the random sequence, and so everything else, independent of the hour it runs.
                return if ms > self.now_ms - MIN {
                    ms - 7 * DAY
                } else {
                    ms
                };
            }
        }
    }

    fn person(
        &self,
        rng: &mut StdRng,
        pid: u64,
        response: Option<usize>,
        pipeline: &Pipeline,
        out: &mut Batch,
    ) {
        let plan_idx = self.pick_plan(rng);
        let plan = &self.plans[plan_idx];
        let svc = &self.services[plan.service];
        let t = self.moment(rng);
        let spanish = rng.random::<f64>() < 0.22;
        let email = format!("resident{pid}@example.com");
        let person = PersonId::email("person", &email).expect("a valid demo email");
        let reference =
            ReferenceId::parse("reference", &format!("{}-{:09}", svc.prefix, pid)).expect("valid");
        let mut j = Journey {
            w: self,
            pipeline,
            out,
            pid,
            person,
            reference,
            service: svc.id,
            language: if spanish { "es" } else { "en" },
            seq: 0,
            x: Experience {
                spanish,
                ..Experience::default()
            },
        };

        // The application: where it was made follows where the survey is answered.
        let app_tp = match plan.kind {
            Kind::Office => svc.office.unwrap_or(svc.web),
            Kind::Kiosk => svc.kiosk.unwrap_or(svc.web),
            _ => svc.web,
        };
        let breaks_here = svc.key == "snap" && app_tp == svc.web;
        let mut abandon_p = match (plan.kind, svc.key) {
            (Kind::Office, _) => 0.03,
            (Kind::Kiosk, _) => 0.08,
            (_, "snap") => 0.30,
            (_, "ui") => 0.10,
            _ => 0.05,
        };
        if spanish && app_tp == svc.web {
            abandon_p += 0.05;
        }
        let span = rng.random_range(14..70) * DAY;
        let start = t - span;
        let program = json!(svc.key);
        // A new application, or a case opened before (a renewal, a recertification) with documents and payments.
        let new_app = rng.random::<f64>()
            < if matches!(plan.kind, Kind::Web | Kind::Kiosk) {
                0.85
            } else {
                0.4
            };
        let mut at = start;
        let mut abandon_at = None;
        let mut stuck_step = "";
        if new_app {
            j.event(
                rng,
                "application_started",
                start,
                Some(app_tp),
                &[],
                &[("program", program.clone())],
                true,
            );
            abandon_at = (rng.random::<f64>() < abandon_p).then(|| {
                if breaks_here && rng.random::<f64>() < 0.8 {
                    2 // upload_documents
                } else {
                    rng.random_range(0..4)
                }
            });
            for (k, step) in svc.steps.iter().enumerate() {
                if abandon_at == Some(k) {
                    stuck_step = step;
                    break;
                }
                let d = lognormal(rng, 300.0, 0.6).min(3600.0);
                at += (d * 1000.0) as i64;
                j.event(
                    rng,
                    "step_completed",
                    at,
                    Some(app_tp),
                    &[("duration", d)],
                    &[("step", json!(step))],
                    true,
                );
            }
        }
        j.x.abandoned = abandon_at.is_some();
        let mut calls_wanted = match plan.kind {
            Kind::Phone => rng.random_range(1..=3),
            _ if rng.random::<f64>() < 0.3 => 1,
            _ => 0,
        };
        let visits_wanted = match plan.kind {
            Kind::Office => rng.random_range(1..=2),
            _ if svc.office.is_some() && rng.random::<f64>() < 0.1 => 1,
            _ => 0,
        };
        if !j.x.abandoned {
            if new_app {
                at += 2 * MIN;
                j.event(
                    rng,
                    "application_submitted",
                    at,
                    Some(app_tp),
                    &[],
                    &[("program", program.clone())],
                    true,
                );
            }
            let mut cursor = at + rng.random_range(1..5) * DAY;
            if rng.random::<f64>() < svc.documents {
                let doc = *words::pick(
                    rng,
                    &[
                        "pay_stubs",
                        "proof_of_address",
                        "identity_document",
                        "employer_letter",
                    ],
                );
                let doc_tp = svc.sms.unwrap_or(svc.web);
                j.event(
                    rng,
                    "document_requested",
                    cursor,
                    Some(doc_tp),
                    &[],
                    &[("document", json!(doc))],
                    true,
                );
                cursor += rng.random_range(1..6) * DAY;
                j.event(
                    rng,
                    "document_received",
                    cursor,
                    Some(svc.web),
                    &[],
                    &[("document", json!(doc))],
                    true,
                );
                if rng.random::<f64>() < svc.asked_again {
                    j.x.asked_again = true;
                    cursor += rng.random_range(2..8) * DAY;
                    let times = 1 + (rng.random::<f64>() < 0.3) as u32;
                    j.event(
                        rng,
                        "information_asked_again",
                        cursor,
                        Some(doc_tp),
                        &[("times", times as f64)],
                        &[("information", json!(doc))],
                        true,
                    );
                    cursor += rng.random_range(1..5) * DAY;
                    j.event(
                        rng,
                        "document_received",
                        cursor,
                        Some(svc.web),
                        &[],
                        &[("document", json!(doc))],
                        true,
                    );
                    // Asked again, people call or come in to sort it out.
                    if rng.random::<f64>() < 0.5 {
                        calls_wanted += 1;
                    }
                }
            }
            if !new_app {
                if svc.pays {
                    let method = *words::pick(rng, &["direct_deposit", "debit_card"]);
                    let paid = cursor + rng.random_range(1..10) * DAY;
                    j.event(
                        rng,
                        "payment_issued",
                        paid,
                        None,
                        &[],
                        &[("method", json!(method))],
                        true,
                    );
                }
            } else {
                let decided =
                    cursor + rng.random_range(svc.processing_days.0..=svc.processing_days.1) * DAY;
                let approved = rng.random::<f64>() < 0.85;
                let decision = if approved { "approved" } else { "denied" };
                j.event(
                    rng,
                    "application_decided",
                    decided,
                    None,
                    &[("processing_time", ((decided - at) / 1000) as f64)],
                    &[("program", program), ("decision", json!(decision))],
                    true,
                );
                j.event(
                    rng,
                    "status_changed",
                    decided + MIN,
                    None,
                    &[],
                    &[("from", json!("submitted")), ("to", json!(decision))],
                    true,
                );
                if approved && svc.pays {
                    let method = *words::pick(rng, &["direct_deposit", "debit_card"]);
                    let paid = decided + rng.random_range(1..4) * DAY;
                    j.event(
                        rng,
                        "payment_issued",
                        paid,
                        None,
                        &[],
                        &[("method", json!(method))],
                        true,
                    );
                }
            }
        } else if rng.random::<f64>() < 0.4 {
            calls_wanted += 1; // Stuck, some call for help.
        }

        // Calls, between the application and the survey; the last right before it for a phone survey.
        let mut transcript_call: Option<(i64, Experience)> = None;
        for k in 0..calls_wanted {
            let when = if plan.kind == Kind::Phone && k + 1 == calls_wanted {
                t - rng.random_range(5..20) * MIN
            } else {
                start + rng.random_range(DAY..span.max(DAY + 1))
            };
            let mut wait = lognormal(rng, svc.call_wait, 0.9);
            if self.in_outage(when) && plan.outage {
                wait *= 2.5;
            }
            let wait = wait.min(3.0 * 3600.0).round();
            let abandoned = wait > LONG_CALL_WAIT && rng.random::<f64>() < 0.35;
            let transfers = if abandoned {
                0
            } else {
                let p = if spanish { 0.55 } else { 0.15 };
                let mut n = 0;
                while n < 4 && rng.random::<f64>() < if n == 0 { p } else { 0.35 } {
                    n += 1;
                }
                n
            };
            let handle = if abandoned {
                0.0
            } else {
                lognormal(rng, 420.0, 0.5).round()
            };
            let disposition = if abandoned {
                "abandoned"
            } else if transfers > 1 {
                "transferred"
            } else {
                *words::pick(
                    rng,
                    &[
                        "resolved",
                        "resolved",
                        "resolved",
                        "callback_scheduled",
                        "escalated",
                    ],
                )
            };
            j.x.long_wait |= wait >= LONG_CALL_WAIT;
            j.x.transfers = j.x.transfers.max(transfers);
            j.event(
                rng,
                "call",
                when,
                Some(svc.phone),
                &[
                    ("wait", wait),
                    ("handle_time", handle),
                    ("transfers", transfers as f64),
                ],
                &[
                    ("queue", json!(svc.key)),
                    ("abandoned", json!(abandoned)),
                    ("disposition", json!(disposition)),
                    ("language", json!(j.language)),
                ],
                true,
            );
            if !abandoned {
                transcript_call = Some((when + ((wait + handle) * 1000.0) as i64, j.x));
            }
        }
        for k in 0..visits_wanted {
            let Some(office) = svc.office else { break };
            let when = if plan.kind == Kind::Office && k + 1 == visits_wanted {
                t - rng.random_range(30..120) * MIN
            } else {
                start + rng.random_range(DAY..span.max(DAY + 1))
            };
            let median = if svc.key == "snap" { 1500.0 } else { 1100.0 };
            let wait = lognormal(rng, median, 0.7).min(4.0 * 3600.0).round();
            let service_time = lognormal(rng, 900.0, 0.4).round();
            j.x.long_wait |= wait >= LONG_OFFICE_WAIT;
            let purpose = *words::pick(rng, &["apply", "documents", "question", "documents"]);
            j.event(
                rng,
                "office_visit",
                when,
                Some(office),
                &[("wait", wait), ("service_time", service_time)],
                &[("office", json!(svc.key)), ("purpose", json!(purpose))],
                true,
            );
        }

        // How they felt: the survey's base, the service's known troubles, then what happened to them.
        let mut prob = plan.base;
        if plan.outage && self.in_outage(t) {
            prob -= 0.28;
        }
        if spanish && matches!(plan.channel, Channel::Website) {
            prob -= 0.17;
        }
        if spanish && svc.key == "snap" {
            prob -= 0.05;
        }
        if j.x.long_wait {
            prob -= 0.25;
        }
        if j.x.asked_again {
            prob -= 0.2;
        }
        if j.x.abandoned {
            prob -= 0.15;
        }
        prob -= 0.05 * j.x.transfers as f64;
        j.x.positive = rng.random::<f64>() < prob.clamp(0.03, 0.97);

        if let Some(i) = response {
            j.response(rng, plan_idx, i, t, &email);
        }

        // What they said elsewhere.
        let x = j.x;
        if let Some((when, cx)) = transcript_call.filter(|_| rng.random::<f64>() < 0.15) {
            let turns = words::transcript(
                &Experience {
                    positive: x.positive,
                    ..cx
                },
                rng,
            );
            j.signal(
                SignalSource::CallTranscript,
                Author::Public,
                when,
                Some(svc.phone),
                String::new(),
                turns,
                None,
                None,
            );
        }
        if matches!(plan.kind, Kind::Web)
            && rng.random::<f64>() < if x.abandoned { 0.12 } else { 0.02 }
        {
            let text = words::web_form(svc.key, stuck_step, &x, rng);
            let url = format!("https://www.example.gov/{}/apply", svc.key);
            j.signal(
                SignalSource::WebForm,
                Author::Public,
                t - 10 * MIN,
                Some(svc.web),
                text,
                Vec::new(),
                None,
                Some(url),
            );
        }
        if rng.random::<f64>() < 0.012 {
            let text = words::social(svc.name, &x, rng);
            let url = format!("https://social.example/posts/{pid}");
            j.signal(
                SignalSource::Social,
                Author::Public,
                t + rng.random_range(0..DAY),
                None,
                text,
                Vec::new(),
                None,
                Some(url),
            );
        }
        if rng.random::<f64>() < 0.01 {
            let (text, stars) = words::review(&x, rng);
            let tp = svc.office.or(svc.kiosk).unwrap_or(svc.web);
            j.signal(
                SignalSource::Review,
                Author::Public,
                t + rng.random_range(0..2 * DAY),
                Some(tp),
                text,
                Vec::new(),
                Some(stars),
                None,
            );
        }
        if (x.asked_again || x.transfers > 1 || x.long_wait) && rng.random::<f64>() < 0.03 {
            let text = words::staff_case_note(&x, rng).to_string();
            j.signal(
                SignalSource::StaffObservation,
                Author::Staff,
                t - 30 * MIN,
                None,
                text,
                Vec::new(),
                None,
                None,
            );
        }
    }
}

/// A log-normal draw with this median and shape.
fn lognormal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * z).exp()
}

struct Journey<'a> {
    w: &'a World,
    pipeline: &'a Pipeline,
    out: &'a mut Batch,
    pid: u64,
    person: PersonId,
    reference: ReferenceId,
    service: ServiceId,
    language: &'static str,
    seq: u32,
    x: Experience,
}

impl Journey<'_> {
    /// An item's external id, unique within the demo's own organization: its kind, its person and its place in
    /// the journey (`e1042-3`). Short, because the id is kept twice per row (the row and its unique index).
    fn next_id(&mut self, kind: char) -> String {
        self.seq += 1;
        format!("{kind}{}-{}", self.pid, self.seq)
    }

    fn common(&mut self, kind: char, at: i64, tp: Option<TouchpointId>, person: bool) -> Common {
        Common {
            external_id: self.next_id(kind),
            occurred_at: at,
            service_id: Some(self.service),
            touchpoint_id: tp,
            person: person.then(|| self.person.clone()),
            reference: Some(self.reference.clone()),
        }
    }

    /// An event, unless it would happen after now (a case still open).
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        rng: &mut StdRng,
        ty: &str,
        at: i64,
        tp: Option<TouchpointId>,
        measures: &[(&str, f64)],
        attributes: &[(&str, Value)],
        person: bool,
    ) {
        // Drawn first, so what follows does not depend on whether this event is in the future.
        let received = at + rng.random_range(1..120) * 1000;
        if at > self.w.now_ms {
            return;
        }
        let source = match ty {
            "call" => "contact-centre",
            "office_visit" => "office-queue",
            _ => "case-management",
        };
        let common = self.common('e', at, tp, person);
        let input = EventInput {
            common,
            event_type: ty.to_string(),
            measures: measures.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map<_, _>>(),
        };
        let received = received.min(self.w.now_ms);
        self.out.events.push(
            self.pipeline
                .prepare_event(self.w.org, input, source, received),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn signal(
        &mut self,
        source: SignalSource,
        author: Author,
        at: i64,
        tp: Option<TouchpointId>,
        text: String,
        turns: Vec<heard_domain::signal::Turn>,
        rating: Option<i16>,
        url: Option<String>,
    ) {
        let at = at.min(self.w.now_ms - MIN);
        // A staff note is about the case; the others come from the person.
        let common = self.common('s', at, tp, author == Author::Public);
        let input = SignalInput {
            common,
            source,
            author,
            text,
            turns,
            rating,
            url,
            language: Lang::parse(self.language).ok(),
        };
        self.out
            .signals
            .push(self.pipeline.prepare_signal(self.w.org, input, at));
    }

    fn response(&mut self, rng: &mut StdRng, plan_idx: usize, i: usize, t: i64, email: &str) {
        let p = &self.w.plans[plan_idx];
        let svc = &self.w.services[p.service];
        let mut answers = answers_for(&p.def, svc.key, &self.x, rng);
        // The age band, from a generator of its own so the rest of the data stays as it was for a seed.
        if let Some(q) = p.def.questions.iter().find(|q| q.characteristic.is_some()) {
            let mut own = StdRng::seed_from_u64(self.pid ^ 0x0A6E_BA4D);
            if own.random::<f64>() < 0.8 {
                let pick = own.random::<f64>();
                let i = [0.15, 0.55, 0.85, 0.97, 1.0]
                    .iter()
                    .position(|&c| pick < c)
                    .unwrap_or(4)
                    .min(q.options.len().saturating_sub(1));
                answers.insert(q.id.clone(), json!(q.options[i].value));
            }
        }
        // Most leave their email for a reply: that is how a response links to the person's other records.
        if rng.random::<f64>() < 0.8 {
            answers.insert("email".into(), json!(email));
        }
        let day = self.w.zone.day_number(t);
        // Each respondent stands for 1/rate people who were offered the survey.
        let offered = (1.0 / p.response_rate + rng.random::<f64>() * 2.0 - 1.0)
            .round()
            .max(1.0) as i64;
        *self.out.displays.entry((plan_idx, day)).or_default() += offered;
        let s = Submission {
            org_id: self.w.org,
            survey_id: p.survey_id,
            survey_version: 1,
            service_id: svc.id,
            touchpoint_id: Some(p.touchpoint_id),
            channel: p.channel,
            language: Lang::parse(self.language).expect("valid"),
            page_path: matches!(p.channel, Channel::Website)
                .then(|| format!("/{}/confirmation", svc.key)),
            idempotency_key: format!("demo-{}-{i:08}", self.w.seed),
            submitted_at: t,
            answers,
            hidden: HiddenAnswers::Reject,
            keep_raw_text: false,
        };
        match self.pipeline.prepare(s, &p.def) {
            Ok(r) => self.out.responses.push(r),
            Err(e) => panic!("the demo's answers must fit its surveys: {e:?}"),
        }
    }
}

fn answers_for(
    def: &SurveyDefinition,
    service: &str,
    x: &Experience,
    rng: &mut StdRng,
) -> Map<String, Value> {
    use heard_domain::survey::{A11Role, QuestionKind};
    let positive = x.positive;
    let mut out = Map::new();
    let comment_p = if positive { 0.22 } else { 0.45 };
    match def.template {
        heard_domain::survey::TemplateKind::A11V1 => {
            // A latent experience drives every driver; efficiency lags for claims, employees shine in offices.
            let latent: f64 = if positive {
                rng.random_range(3.6..5.2)
            } else {
                rng.random_range(1.0..3.6)
            };
            for q in &def.questions {
                match q.kind {
                    QuestionKind::Agreement5 => {
                        let bias = match (q.a11, service) {
                            (Some(A11Role::Efficiency), "ui") => -0.8,
                            (Some(A11Role::Efficiency), _) if x.long_wait => -0.6,
                            (Some(A11Role::Employee), _) => 0.4,
                            (Some(A11Role::Transparency), _) => -0.2,
                            _ => 0.0,
                        };
                        if q.a11 == Some(A11Role::Employee) && rng.random::<f64>() < 0.1 {
                            continue; // Not everyone met an employee; the question is optional.
                        }
                        let v = (latent + bias + rng.random_range(-0.7..0.7))
                            .round()
                            .clamp(1.0, 5.0) as i64;
                        out.insert(q.id.clone(), json!(v));
                    }
                    QuestionKind::LongText if rng.random::<f64>() < comment_p / 2.0 => {
                        out.insert(q.id.clone(), json!(words::comment(service, x, rng)));
                    }
                    _ => {}
                }
            }
        }
        _ => {
            let trust = def
                .question_with_role(A11Role::Trust)
                .expect("v2 has trust");
            let v = match trust.kind {
                QuestionKind::Thumbs => json!(positive as i64),
                _ => json!(if positive {
                    rng.random_range(4..=5)
                } else {
                    rng.random_range(1..=3)
                }),
            };
            out.insert(trust.id.clone(), v);
            let (role, weights): (A11Role, [f64; 7]) = if positive {
                (A11Role::WentWell, [0.5, 0.6, 0.45, 0.3, 0.35, 0.25, 0.05])
            } else if service == "ui" {
                (A11Role::WentBadly, [0.45, 0.3, 0.65, 0.35, 0.2, 0.15, 0.1])
            } else {
                (A11Role::WentBadly, [0.35, 0.5, 0.45, 0.3, 0.25, 0.2, 0.1])
            };
            if let Some(q) = def.question_with_role(role) {
                let chosen: Vec<Value> = q
                    .options
                    .iter()
                    .zip(weights)
                    .filter(|(_, w)| rng.random::<f64>() < *w)
                    .map(|(o, _)| json!(o.value))
                    .collect();
                if !chosen.is_empty() {
                    out.insert(q.id.clone(), Value::Array(chosen));
                }
            }
            if let Some(q) = def.question_with_role(A11Role::Comment)
                && rng.random::<f64>() < comment_p
            {
                out.insert(q.id.clone(), json!(words::comment(service, x, rng)));
            }
        }
    }
    out
}

/// The organization's own records that are about no one person: a weekly backlog snapshot per service, and
/// frontline staff observations about touchpoints (a few a week).
pub fn agency_records(w: &World, pipeline: &Pipeline) -> Batch {
    let mut rng = StdRng::seed_from_u64(w.seed ^ 0xA5A5_5A5A_0F0F_F0F0);
    let mut out = Batch::default();
    let scale = (w.responses as f64 / 20_000.0).max(0.05);
    for week in 0..WEEKS {
        let at = w.start_ms + week * 7 * DAY + 7 * 3_600_000;
        if at > w.now_ms {
            break;
        }
        for (si, svc) in w.services.iter().enumerate() {
            let base = match svc.key {
                "ui" => 9_000.0,
                "snap" => 6_000.0,
                _ => 2_500.0,
            } * scale;
            let outage = svc.key == "ui" && (WEEKS - 11..=WEEKS - 8).contains(&week);
            let open = (base * rng.random_range(0.9..1.1) * if outage { 1.6 } else { 1.0 }).round();
            let oldest =
                (rng.random_range(20.0..40.0) * if outage { 1.8 } else { 1.0 } * 86_400.0_f64)
                    .round();
            let input = EventInput {
                common: Common {
                    external_id: format!("demo-{}-backlog-{}-{week:02}", w.seed, svc.key),
                    occurred_at: at,
                    service_id: Some(svc.id),
                    touchpoint_id: None,
                    person: None,
                    reference: None,
                },
                event_type: "backlog_snapshot".into(),
                measures: [
                    ("open_items".to_string(), open),
                    ("oldest_age".to_string(), oldest),
                ]
                .into(),
                attributes: [("queue".to_string(), json!(svc.key))]
                    .into_iter()
                    .collect(),
            };
            out.events
                .push(pipeline.prepare_event(w.org, input, "case-management", at));
            for n in 0..rng.random_range(1..=3) {
                let when = at + rng.random_range(0..5) * DAY + rng.random_range(60..480) * MIN;
                if when > w.now_ms {
                    continue;
                }
                let tp = match svc.key {
                    "snap" => svc.office.unwrap_or(svc.web),
                    "ui" => svc.phone,
                    _ => svc.kiosk.unwrap_or(svc.web),
                };
                let input = SignalInput {
                    common: Common {
                        external_id: format!("demo-{}-staff-{si}-{week:02}-{n}", w.seed),
                        occurred_at: when,
                        service_id: Some(svc.id),
                        touchpoint_id: Some(tp),
                        person: None,
                        reference: None,
                    },
                    source: SignalSource::StaffObservation,
                    author: Author::Staff,
                    text: words::staff_observation(svc.key, &mut rng).to_string(),
                    turns: Vec::new(),
                    rating: None,
                    url: None,
                    language: Some(Lang::en()),
                };
                out.signals
                    .push(pipeline.prepare_signal(w.org, input, when));
            }
        }
    }
    out
}
