//! A realistic demo agency, generated deterministically from a seed: three services on ten touchpoints, A-11
//! surveys of both versions, and months of what happened to its people: survey responses, operational events
//! (applications with their steps, documents asked for and asked for again, decisions, payments, calls with waits
//! and transfers, office visits, weekly backlogs) and signals (social posts, reviews, call transcripts, "report a
//! problem" forms, staff notes). Every person has a pseudonymous person key (from the email their survey answer
//! leaves, the same the pipeline derives for any channel) and a reference key for their application, so one
//! person's response, events and signals link up. The patterns worth finding are described in `journey`.
//!
//! Everything goes through the same pipeline as every channel (redacted, enriched, keyed) and is stored through the
//! store's bulk path, one transaction per batch (`sink`). Generation runs in chunks on several threads while one task
//! writes; a chunk depends only on the seed and its index. Times are relative to the start of the current week, so
//! a seed gives the same data all week (nothing is generated after the moment it runs).

mod journey;
mod sink;
mod words;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, bail};
use chrono::{Datelike, Duration, Utc};
use heard_domain::survey::SurveyDefinition;
use heard_domain::templates::{self, TrustScale};
use heard_domain::{Arrival, Channel, LocalizedText, OrgId, Role};
use heard_server::pipeline::Pipeline;
use heard_store::catalog::NewSurvey;
use heard_store::{Store, Touchpoint};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use journey::{Batch, Kind, Plan, Svc, WEEKS, World};
use sink::Sink;

pub const DEMO_EMAIL: &str = "admin@demo.heard.example";
pub const DEMO_PASSWORD: &str = "demo-password-1234";

pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub survey_path: String,
    /// An emailed invitation's survey link (`/o/{token}`) and its unsubscribe link, made when the demo agency is
    /// created; empty after.
    pub invitation_path: String,
    pub unsubscribe_path: String,
}

/// Seeds the demo agency only if the store has no organization yet. Returns how to sign in.
pub async fn seed_if_empty(
    store: &Store,
    secret: &[u8; 32],
    seed: u64,
    responses: usize,
) -> Result<Option<DemoLogin>> {
    if store.count_orgs().await? > 0 {
        let org = store.org_by_slug("demo").await.ok();
        let survey_path = match org {
            Some(o) => first_live_survey(store, o.id).await?,
            None => String::new(),
        };
        return Ok(Some(DemoLogin {
            email: DEMO_EMAIL.into(),
            password: DEMO_PASSWORD.into(),
            survey_path,
            invitation_path: String::new(),
            unsubscribe_path: String::new(),
        }));
    }
    eprintln!("Empty store: creating the demo agency with {responses} responses (once).");
    generate(
        store,
        secret,
        &Options {
            seed,
            responses,
            ..Options::default()
        },
    )
    .await?;
    let org = store.org_by_slug("demo").await?;
    let (invitation_path, unsubscribe_path) = demo_invitation(store, secret, &org).await?;
    demo_rule(store, &org).await?;
    demo_cases(store, secret, &org).await?;
    Ok(Some(DemoLogin {
        email: DEMO_EMAIL.into(),
        password: DEMO_PASSWORD.into(),
        survey_path: first_live_survey(store, org.id).await?,
        invitation_path,
        unsubscribe_path,
    }))
}

/// An invitation rule to show on the outreach pages: after a call, a text message to the first live survey. It is
/// paused, because the demo agency has no text message number (a sender would reach a real provider).
async fn demo_rule(store: &Store, org: &heard_store::Organization) -> Result<()> {
    let Some(survey) = store
        .surveys(org.id, None)
        .await?
        .into_iter()
        .find(|s| s.published_version.is_some())
    else {
        return Ok(());
    };
    let id = store
        .create_outreach_rule(
            org.id,
            &heard_store::outreach_queue::RuleWrite {
                name: "After a call",
                event_type: "call",
                service_id: Some(*survey.service_id.as_uuid()),
                touchpoint_id: None,
                channel: heard_domain::invitation_rules::Channel::Sms,
                survey_id: survey.id,
                delay_minutes: 30,
                sample_percent: 20,
                cap_days: heard_domain::invitation_rules::DEFAULT_CAP_DAYS,
            },
            heard_store::now_ms(),
        )
        .await?;
    store
        .set_outreach_rule_paused(org.id, id, true, heard_store::now_ms())
        .await?;
    Ok(())
}

/// Cases to work on the case pages: service levels counted in weekday office hours (first response within one
/// working day, resolution within five, a supervisor told at a missed deadline), two teams, a status that waits on
/// another agency, and four cases about the newest responses whose answer on trust was negative: one new, one in
/// progress with the call centre, one waiting on another agency, one closed with its root cause. The new one has a
/// call back booked by the person for the first window offered (no messages: the demo has no SMS number).
async fn demo_cases(
    store: &Store,
    secret: &[u8; 32],
    org: &heard_store::Organization,
) -> Result<()> {
    use heard_domain::case::{CaseSettings, CaseSource, CaseStatus, Change, Priority, StatusKind};
    use heard_domain::sla::{CalendarSpec, EscalationSpec, SlaPolicySpec};
    let admin = store.user_by_email(DEMO_EMAIL).await?;
    let weekday = vec!["08:00-17:00".to_string()];
    let settings = CaseSettings {
        on_call: vec![],
        notify_deadlines: false,
        // People who answer "no" on trust are offered a call back.
        callbacks: heard_domain::callback::CallbackSettings {
            offer: heard_domain::callback::Offer::AfterNegative,
        },
        custom_statuses: vec![CaseStatus {
            key: "waiting_on_another_agency".into(),
            label: "Waiting on another agency".into(),
            kind: StatusKind::Pauses,
        }],
        sla: Some(SlaPolicySpec {
            calendar: CalendarSpec {
                time_zone: org.time_zone.name().to_string(),
                always_open: false,
                hours: ["mon", "tue", "wed", "thu", "fri"]
                    .into_iter()
                    .map(|d| (d.to_string(), weekday.clone()))
                    .collect(),
                holidays: vec![],
            },
            first_response_minutes: Some(9 * 60),
            next_update_minutes: None,
            resolution_minutes: Some(5 * 9 * 60),
            pause_statuses: vec![],
            end_statuses: None,
            warn_percent: None,
            escalations: vec![EscalationSpec {
                after_breach_minutes: 0,
                name: "Tell the supervisor".into(),
            }],
        }),
    };
    store
        .save_case_settings(org.id, &settings, admin.id)
        .await?;
    let call_centre = store
        .create_case_team(org.id, "Benefits call centre")
        .await?;
    store.create_case_team(org.id, "Field offices").await?;
    let low_trust = store
        .responses_page(
            org.id,
            &heard_store::responses::ResponseFilter {
                trust_positive: Some(false),
                urgent: Some(false),
                ..Default::default()
            },
            None,
            heard_store::responses::Order::NewestFirst,
            4,
        )
        .await?;
    let plans: [(&str, Priority, Vec<Change>); 4] = [
        ("Call back about a low trust rating", Priority::Normal, vec![]),
        (
            "Payment delayed: explain the next step",
            Priority::High,
            vec![
                Change::Owner { owner: Some(admin.id.to_string()) },
                Change::Status { status: "in_progress".into() },
            ],
        ),
        (
            "Waiting for the other agency's records",
            Priority::Normal,
            vec![
                Change::PublicUpdate {
                    body: "Called: we asked the other agency for the records and will write when they arrive.".into(),
                },
                Change::Status { status: "waiting_on_another_agency".into() },
            ],
        ),
        (
            "Letter did not say which document was missing",
            Priority::Low,
            vec![Change::PublicUpdate {
                body: "Called and explained which document to send.".into(),
            }],
        ),
    ];
    for (i, (r, (title, priority, changes))) in low_trust.iter().zip(plans).enumerate() {
        let c = store
            .open_case(
                org.id,
                &heard_store::cases::NewCase {
                    title: title.into(),
                    priority,
                    source: CaseSource::Staff,
                    team_id: (i == 1).then_some(call_centre.id),
                    owner_id: None,
                    service_id: None,
                    person_key: None,
                    response_id: Some(*r.id.as_uuid()),
                    note: None,
                },
                Some(admin.id),
            )
            .await?;
        if !changes.is_empty() {
            store
                .change_cases(org.id, &[c.id], &changes, admin.id)
                .await?;
        }
        if i == 0 {
            let sealer = heard_server::crypto::Sealer::new(secret);
            let phone = "+12025550143";
            let id = heard_domain::identity::PersonId::phone("phone", phone)
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let now = heard_store::now_ms();
            let settings = store.case_settings(org.id).await?;
            let policy = settings.policy_for(Priority::Normal).ok().flatten();
            let cal = heard_domain::callback::callback_calendar(
                policy.as_ref().map(|p| p.calendar()),
                org.time_zone,
            );
            if let Some(window) = heard_domain::callback::offered_windows(&cal, now).first() {
                store
                    .request_callback(
                        org.id,
                        &heard_store::callbacks::NewCallback {
                            case_id: Some(c.id),
                            response_id: None,
                            source: heard_domain::callback::Source::Status,
                            phone_sealed: sealer.seal(phone),
                            phone_key: sealer.person_key(org.id, &id).0,
                            email_sealed: None,
                            notify: heard_domain::callback::Notify::None,
                            language: "en".into(),
                            window: *window,
                            confirmed_already: false,
                        },
                        now,
                    )
                    .await?;
            }
        }
        if i == 3 {
            store
                .close_case(org.id, c.id, "The letter named no document", true, admin.id)
                .await?;
        }
    }
    Ok(())
}

/// One email invitation to the first live survey, as if sent just now (no SMTP sender is set up in the demo, so no
/// send job is queued): its survey link, `/o/{token}`, and its unsubscribe link let a person try the pages an email
/// opens.
async fn demo_invitation(
    store: &Store,
    secret: &[u8; 32],
    org: &heard_store::Organization,
) -> Result<(String, String)> {
    use heard_server::outreach::{LINK_LIFETIME_MS, address_hash, survey_token, unsubscribe_token};
    let Some(survey) = store
        .surveys(org.id, None)
        .await?
        .into_iter()
        .find(|s| s.published_version.is_some())
    else {
        return Ok((String::new(), String::new()));
    };
    let sealer = heard_server::crypto::Sealer::new(secret);
    let address = "resident@example.org";
    let hash = address_hash(&sealer, org.id, "email", address)?;
    let now = heard_store::now_ms();
    let id = uuid::Uuid::now_v7();
    let token = survey_token(&sealer, id);
    let sealed = sealer.seal(address);
    let mut tx = store.begin().await?;
    tx.create_email_invitation(
        &heard_store::outreach::NewEmailInvitation {
            org_id: org.id,
            id,
            survey_id: survey.id,
            survey_version: survey.published_version.unwrap_or(1),
            person_key: &hash,
            address_sealed: &sealed,
            address_hash: &hash,
            language: "en",
            token_hash: &heard_server::crypto::sha256_hex(token.as_bytes()),
            expires_at: now + LINK_LIFETIME_MS,
        },
        now,
    )
    .await?;
    tx.move_email_invitation(
        org.id,
        id,
        heard_store::outreach::InvitationState::Sent,
        now,
    )
    .await?;
    tx.record_display(
        org.id,
        survey.id,
        heard_domain::Channel::Email,
        org.time_zone.day_number(now),
        1,
    )
    .await?;
    tx.commit().await?;
    Ok((
        format!("/o/{token}"),
        format!("/o/unsubscribe/{id}/{}", unsubscribe_token(&sealer, id)),
    ))
}

async fn first_live_survey(store: &Store, org: OrgId) -> Result<String> {
    let o = store.org(org).await?;
    Ok(store
        .surveys(org, None)
        .await?
        .into_iter()
        .find(|s| s.published_version.is_some())
        .map(|s| format!("/s/{}/{}", o.slug, s.id))
        .unwrap_or_default())
}

/// The demo's version 2 surveys also ask an age band (optional, with "prefer not to say"), marked as a customer
/// characteristic so the barriers page compares trust across its answers.
fn with_age_band(mut def: SurveyDefinition) -> SurveyDefinition {
    use heard_domain::survey::{Choice, CustomerCharacteristic, Question, QuestionKind};
    let option = |value: &str, en: &str, es: &str| Choice {
        value: value.into(),
        label: lt(en, es),
    };
    let at = def
        .questions
        .iter()
        .position(|q| q.a11 == Some(heard_domain::survey::A11Role::Comment))
        .unwrap_or(def.questions.len());
    def.questions.insert(
        at,
        Question {
            id: "age_band".into(),
            kind: QuestionKind::SingleChoice,
            prompt: lt("What is your age?", "¿Cuál es su edad?"),
            help: lt("Optional.", "Opcional."),
            required: false,
            options: vec![
                option("under_25", "Under 25", "Menos de 25"),
                option("25_44", "25 to 44", "De 25 a 44"),
                option("45_64", "45 to 64", "De 45 a 64"),
                option("65_plus", "65 or older", "65 o más"),
                option("prefer_not", "Prefer not to say", "Prefiero no decirlo"),
            ],
            show_if: None,
            a11: None,
            characteristic: Some(CustomerCharacteristic::AgeBand),
        },
    );
    def
}

fn lt(en: &str, es: &str) -> LocalizedText {
    LocalizedText::new(en, es)
}

/// What `generate` makes.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Survey responses, exactly; every respondent is one person with a journey of events behind the answer.
    pub responses: usize,
    /// People who went through the services without answering a survey, per respondent: their events and signals
    /// are generated too (0: respondents only).
    pub non_respondents: f64,
    /// The organization's time zone: its weeks, days and quarters.
    pub zone: heard_domain::Zone,
    /// Generating threads (0: one per CPU).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            responses: 20_000,
            non_respondents: 0.2,
            zone: heard_domain::Zone::default(),
            threads: 0,
        }
    }
}

/// Creates a demo organization with `o.responses` responses over the last weeks, and its people's events and signals.
pub async fn generate(store: &Store, secret: &[u8; 32], o: &Options) -> Result<String> {
    let (seed, responses, zone) = (o.seed, o.responses, o.zone);
    if !(0.0..=10.0).contains(&o.non_respondents) {
        bail!(
            "--non-respondents must be between 0 and 10 (people without a response per respondent)"
        );
    }
    let slug = if seed == 1 {
        "demo".to_string()
    } else {
        format!("demo-{seed}")
    };
    if store.org_by_slug(&slug).await.is_ok() {
        bail!(
            "this store already has the demo organization '{slug}'; use another --seed or an empty --data-dir"
        );
    }
    let mut rng = StdRng::seed_from_u64(seed);
    // Weeks, weekdays and display days are the organization's local ones.
    let now_ms = Utc::now().timestamp_millis();
    let today = zone.date(now_ms);
    let week_start = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let end_ms = zone.day_start_ms(week_start + Duration::days(7));
    let start_ms = end_ms - WEEKS * 7 * 86_400_000;
    // The agency's records reach back before the surveys began: applications take months.
    let created = start_ms - 90 * 86_400_000;

    let org = store
        .create_org_in("Department of Example Services", &slug, zone, created)
        .await?;
    let pra = heard_domain::pra::Pra::parse(
        "3245-0001",
        "2028-06-30",
        "We estimate this survey takes 2 minutes. You do not have to answer, and your benefits do not depend on it. An agency may not conduct or sponsor, and a person is not required to respond to, a collection of information unless it displays a currently valid OMB control number.",
        "Calculamos que esta encuesta toma 2 minutos. No tiene que responder y sus beneficios no dependen de ello. Una agencia no puede realizar ni patrocinar una recolección de información, y una persona no está obligada a responder, a menos que muestre un número de control de la OMB vigente.",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let ui = store
        .create_service(
            org.id,
            &lt(
                "Unemployment insurance claims",
                "Reclamos de seguro de desempleo",
            ),
            &lt(
                "Filing and managing unemployment insurance claims.",
                "Presentar y administrar reclamos de seguro de desempleo.",
            ),
            created,
        )
        .await?;
    let passport = store
        .create_service(
            org.id,
            &lt("Passport renewal", "Renovación de pasaporte"),
            &lt(
                "Renewing a passport online or at a kiosk.",
                "Renovar un pasaporte en línea o en un quiosco.",
            ),
            created,
        )
        .await?;
    let snap = store
        .create_service(
            org.id,
            &lt(
                "Food assistance (SNAP) applications",
                "Solicitudes de asistencia alimentaria (SNAP)",
            ),
            &lt(
                "Applying for and keeping food assistance.",
                "Solicitar y mantener la asistencia alimentaria.",
            ),
            created,
        )
        .await?;

    let tp = |s: &heard_store::Service, en: &str, es: &str, c: Channel| {
        let (sid, name) = (s.id, lt(en, es));
        async move {
            store
                .create_touchpoint(org.id, sid, &name, c, created)
                .await
        }
    };
    let ui_web = tp(
        &ui,
        "File a claim online",
        "Presentar un reclamo en línea",
        Channel::Website,
    )
    .await?;
    let ui_phone = tp(
        &ui,
        "Claims phone line",
        "Línea telefónica de reclamos",
        Channel::Phone,
    )
    .await?;
    let ui_office = tp(
        &ui,
        "Downtown career center",
        "Centro de empleo del centro",
        Channel::InPerson,
    )
    .await?;
    let pp_web = tp(
        &passport,
        "Online renewal",
        "Renovación en línea",
        Channel::Website,
    )
    .await?;
    let pp_kiosk = tp(
        &passport,
        "Passport kiosk, federal building",
        "Quiosco de pasaportes, edificio federal",
        Channel::SelfServiceKiosk,
    )
    .await?;
    let pp_phone = tp(
        &passport,
        "Passport information line",
        "Línea de información de pasaportes",
        Channel::Phone,
    )
    .await?;
    let snap_web = tp(
        &snap,
        "SNAP online application",
        "Solicitud de SNAP en línea",
        Channel::Website,
    )
    .await?;
    let snap_sms = tp(
        &snap,
        "Text message follow-up",
        "Seguimiento por mensaje de texto",
        Channel::SmsTextMessages,
    )
    .await?;
    let snap_office = tp(
        &snap,
        "County assistance office",
        "Oficina de asistencia del condado",
        Channel::InPerson,
    )
    .await?;
    let snap_phone = tp(
        &snap,
        "Food assistance helpline",
        "Línea de ayuda de asistencia alimentaria",
        Channel::Phone,
    )
    .await?;
    let touchpoints = 10;

    let services = vec![
        Svc {
            key: "ui",
            name: "Unemployment insurance",
            id: ui.id,
            web: ui_web.id,
            phone: ui_phone.id,
            office: Some(ui_office.id),
            kiosk: None,
            sms: None,
            prefix: "UI",
            steps: ["identity", "employment_history", "payment_method", "review"],
            documents: 0.45,
            asked_again: 0.35,
            call_wait: 420.0,
            processing_days: (10, 35),
            pays: true,
        },
        Svc {
            key: "passport",
            name: "Passport renewal",
            id: passport.id,
            web: pp_web.id,
            phone: pp_phone.id,
            office: None,
            kiosk: Some(pp_kiosk.id),
            sms: None,
            prefix: "PP",
            steps: ["photo", "travel_plans", "payment", "review"],
            documents: 0.15,
            asked_again: 0.1,
            call_wait: 180.0,
            processing_days: (14, 42),
            pays: false,
        },
        Svc {
            key: "snap",
            name: "SNAP",
            id: snap.id,
            web: snap_web.id,
            phone: snap_phone.id,
            office: Some(snap_office.id),
            kiosk: None,
            sms: Some(snap_sms.id),
            prefix: "SNAP",
            steps: ["household", "income", "upload_documents", "review"],
            documents: 0.7,
            asked_again: 0.35,
            call_wait: 300.0,
            processing_days: (10, 30),
            pays: true,
        },
    ];

    struct Spec<'a> {
        name: &'a str,
        service: &'a heard_store::Service,
        tp: &'a Touchpoint,
        /// How its responses arrive, which is their channel; the touchpoint is what they are about.
        arrives: Arrival,
        def: SurveyDefinition,
        base: f64,
        weight: f64,
        rate: f64,
        outage: bool,
        svc: usize,
        kind: Kind,
    }
    let specs = vec![
        Spec {
            name: "Online claim feedback",
            service: &ui,
            tp: &ui_web,
            arrives: Arrival::Widget,
            def: with_age_band(templates::a11_v2(&ui.name, TrustScale::Thumbs)),
            base: 0.56,
            weight: 0.22,
            rate: 0.06,
            outage: true,
            svc: 0,
            kind: Kind::Web,
        },
        Spec {
            name: "Claims line survey",
            service: &ui,
            tp: &ui_phone,
            arrives: Arrival::Phone,
            def: with_age_band(templates::a11_v2(&ui.name, TrustScale::Agreement5)),
            base: 0.50,
            weight: 0.12,
            rate: 0.12,
            outage: true,
            svc: 0,
            kind: Kind::Phone,
        },
        Spec {
            name: "Career center exit survey",
            service: &ui,
            tp: &ui_office,
            arrives: Arrival::KioskQr,
            def: templates::a11_v1(&ui.name),
            base: 0.64,
            weight: 0.08,
            rate: 0.30,
            outage: false,
            svc: 0,
            kind: Kind::Office,
        },
        Spec {
            name: "Passport renewal feedback",
            service: &passport,
            tp: &pp_web,
            arrives: Arrival::Widget,
            def: with_age_band(templates::a11_v2(&passport.name, TrustScale::Thumbs)),
            base: 0.84,
            weight: 0.20,
            rate: 0.07,
            outage: false,
            svc: 1,
            kind: Kind::Web,
        },
        Spec {
            name: "Passport kiosk survey",
            service: &passport,
            tp: &pp_kiosk,
            arrives: Arrival::KioskQr,
            def: with_age_band(templates::a11_v2(&passport.name, TrustScale::Thumbs)),
            base: 0.79,
            weight: 0.08,
            rate: 0.25,
            outage: false,
            svc: 1,
            kind: Kind::Kiosk,
        },
        Spec {
            name: "SNAP application feedback",
            service: &snap,
            tp: &snap_web,
            arrives: Arrival::HostedPage,
            def: with_age_band(templates::a11_v2(&snap.name, TrustScale::Thumbs)),
            base: 0.72,
            weight: 0.16,
            rate: 0.05,
            outage: false,
            svc: 2,
            kind: Kind::Web,
        },
        Spec {
            name: "SNAP text survey",
            service: &snap,
            tp: &snap_sms,
            arrives: Arrival::Sms,
            def: with_age_band(templates::a11_v2(&snap.name, TrustScale::Thumbs)),
            base: 0.68,
            weight: 0.08,
            rate: 0.15,
            outage: false,
            svc: 2,
            kind: Kind::Sms,
        },
        Spec {
            name: "County office survey",
            service: &snap,
            tp: &snap_office,
            arrives: Arrival::HostedPage,
            def: templates::a11_v1(&snap.name),
            base: 0.74,
            weight: 0.06,
            rate: 0.35,
            outage: false,
            svc: 2,
            kind: Kind::Office,
        },
    ];
    // Every demo survey ends by asking for an email for a reply: the contact answer the pipeline turns into the
    // person key that links a response to the person's events and signals.
    let email_question: heard_domain::survey::Question = serde_json::from_value(json!({
        "id": "email",
        "type": "email",
        "required": false,
        "prompt": {
            "en": "If you would like a reply, your email address",
            "es": "Si desea una respuesta, su correo electrónico"
        }
    }))?;
    let mut plans = Vec::new();
    for s in specs {
        let mut def = s.def;
        def.pra = Some(pra.clone());
        def.questions.push(email_question.clone());
        let origins = vec!["https://www.example.gov".to_string()];
        let survey = store
            .create_survey(
                NewSurvey {
                    org_id: org.id,
                    service_id: s.service.id,
                    touchpoint_id: Some(s.tp.id),
                    name: s.name,
                    draft: &def,
                    allowed_origins: &origins,
                    transaction_point: "post_interaction",
                },
                created,
            )
            .await?;
        store
            .publish_survey(org.id, survey.id, None, created)
            .await?;
        plans.push(Plan {
            survey_id: survey.id,
            touchpoint_id: s.tp.id,
            def,
            channel: s.arrives.channel(),
            base: s.base,
            weight: s.weight,
            response_rate: s.rate,
            outage: s.outage,
            service: s.svc,
            kind: s.kind,
        });
    }

    // Staff accounts: an admin, an analyst and a viewer.
    for (email, name, role) in [
        (DEMO_EMAIL, "Alex Admin", Role::Admin),
        ("analyst@demo.heard.example", "Ana Analyst", Role::Analyst),
        ("viewer@demo.heard.example", "Vic Viewer", Role::Viewer),
    ] {
        let hash = heard_server::auth::hash_password(DEMO_PASSWORD)
            .map_err(|e| anyhow::anyhow!(e.message()))?;
        let user = match store.user_by_email(email).await {
            Ok(u) => u,
            Err(_) => store.create_user(email, name, &hash, created).await?,
        };
        store.set_membership(org.id, user.id, role, created).await?;
        // The demo admin runs this installation: a site operator, who may create organizations.
        if email == DEMO_EMAIL {
            store.set_operator(user.id, true).await?;
        }
    }

    let world = Arc::new(World {
        org: org.id,
        seed,
        zone,
        start_ms,
        end_ms,
        now_ms,
        responses,
        non_respondents: o.non_respondents,
        plans,
        services,
    });
    let pipeline = Arc::new(Pipeline::new(secret));
    let sink = Sink::new(store, org.id);
    let counts = write_all(&world, &pipeline, &sink, o.threads).await?;

    // Customers served per quarter, as staff would enter them from operational records.
    let mut q = heard_domain::fiscal::FiscalQuarter::containing(today);
    for _ in 0..3 {
        for (s, base) in [(&ui, 180_000), (&passport, 95_000), (&snap, 120_000)] {
            let jitter = rng.random_range(0.9..1.1);
            store
                .set_service_volume(
                    org.id,
                    s.id,
                    q.year,
                    q.quarter as i32,
                    (base as f64 * jitter) as i64,
                )
                .await?;
        }
        q = q.previous();
    }
    // The standard journeys (a benefit application, the SNAP form's steps), computed by `heard serve`'s workers.
    for (id, def) in heard_server::journeys::default_journeys() {
        heard_server::journeys::save_definition(store, org.id, &zone, &id, &def).await?;
    }
    // The insight pages (key drivers, barriers, operations) read snapshots a job computes: one for this quarter
    // and the last, due now, so the first worker to run computes them.
    let now = heard_store::now_ms();
    let quarter = heard_domain::fiscal::FiscalQuarter::containing(today);
    for q in [quarter, quarter.previous()] {
        store
            .enqueue(heard_server::insights::refresh_now_job(org.id, q, now))
            .await?;
    }
    Ok(format!(
        "Demo organization '{slug}' ({}): 3 services, {touchpoints} touchpoints, {} surveys, {responses} responses, {} events and {} signals over {WEEKS} weeks. Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}.",
        org.id,
        world.plans.len(),
        counts.events,
        counts.signals,
    ))
}

struct Counts {
    events: u64,
    signals: u64,
}

/// Generates chunks on `threads` threads (each chunk a pure function of the seed and its index) while this task
/// writes finished chunks through the sink; a bounded channel between them holds memory to a few chunks.
async fn write_all(
    world: &Arc<World>,
    pipeline: &Arc<Pipeline>,
    sink: &Sink<'_>,
    threads: usize,
) -> Result<Counts> {
    let bar = ProgressBar::new(world.responses as u64).with_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {pos}/{len} responses ({per_sec}, {eta} left)",
        )
        .expect("valid template"),
    );
    bar.set_message("Writing the demo");
    let agency = journey::agency_records(world, pipeline);
    let mut counts = Counts {
        events: agency.events.len() as u64,
        signals: agency.signals.len() as u64,
    };
    sink.write(agency).await?;

    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    }
    .clamp(1, 16);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(threads * 2);
    let next = Arc::new(AtomicUsize::new(0));
    let chunks = world.chunks();
    let mut workers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let (tx, next, world, pipeline) =
            (tx.clone(), next.clone(), world.clone(), pipeline.clone());
        workers.push(std::thread::spawn(move || {
            loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= chunks {
                    return;
                }
                if tx.blocking_send(world.chunk(c, &pipeline)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut displays: BTreeMap<(usize, i64), i64> = BTreeMap::new();
    while let Some(b) = rx.recv().await {
        for (k, n) in &b.displays {
            *displays.entry(*k).or_default() += n;
        }
        let n = b.responses.len() as u64;
        counts.events += b.events.len() as u64;
        counts.signals += b.signals.len() as u64;
        sink.write(b).await?;
        bar.inc(n);
        bar.set_message(format!(
            "Writing the demo: {} events, {} signals;",
            counts.events, counts.signals
        ));
    }
    for w in workers {
        if w.join().is_err() {
            bail!("a demo generating thread failed");
        }
    }
    bar.finish_and_clear();
    for ((idx, day), n) in &displays {
        let p = &world.plans[*idx];
        sink.store()
            .record_display(world.org, p.survey_id, p.channel, *day, *n)
            .await?;
    }
    Ok(counts)
}
