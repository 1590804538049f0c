//! A realistic demo agency, generated deterministically from a seed: three services on several channels, A-11
//! surveys of both versions, and months of responses with patterns worth finding: one service clearly worse, an
//! outage that sinks a few weeks, Spanish speakers faring worse online (a language-access gap), phone worse than
//! in person, comments in both languages (some with personal data for the redaction to catch). Responses go through
//! the same pipeline as every channel, so they are redacted, enriched and committed like real ones. Times are relative
//! to the start of the current week, so a seed gives the same data all week.

use anyhow::{Result, bail};
use chrono::{Datelike, Duration, Utc};
use futures_util::StreamExt;
use heard_domain::survey::{HiddenAnswers, SurveyDefinition};
use heard_domain::templates::{self, TrustScale};
use heard_domain::{Arrival, Channel, Lang, LocalizedText, OrgId, Role};
use heard_server::pipeline::{Pipeline, Submission};
use heard_store::catalog::NewSurvey;
use heard_store::{Store, Survey, Touchpoint};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const DEMO_EMAIL: &str = "admin@demo.heard.example";
pub const DEMO_PASSWORD: &str = "demo-password-1234";
const WEEKS: i64 = 30;

pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub survey_path: String,
}

struct SurveyPlan {
    survey: Survey,
    def: SurveyDefinition,
    /// Where its responses arrive (`Arrival`), not the channel of the touchpoint they are about.
    channel: Channel,
    /// Base probability of positive trust for this survey's service and channel.
    base: f64,
    /// Share of all responses.
    weight: f64,
    /// Share of people offered the survey who answer.
    response_rate: f64,
    outage: bool,
    service_key: &'static str,
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
        }));
    }
    eprintln!("Empty store: creating the demo agency with {responses} responses (once).");
    generate(
        store,
        secret,
        seed,
        responses,
        heard_domain::Zone::default(),
    )
    .await?;
    let org = store.org_by_slug("demo").await?;
    Ok(Some(DemoLogin {
        email: DEMO_EMAIL.into(),
        password: DEMO_PASSWORD.into(),
        survey_path: first_live_survey(store, org.id).await?,
    }))
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

fn lt(en: &str, es: &str) -> LocalizedText {
    LocalizedText::new(en, es)
}

/// Creates a demo organization in time zone `zone` with `responses` responses over the last weeks.
pub async fn generate(
    store: &Store,
    secret: &[u8; 32],
    seed: u64,
    responses: usize,
    zone: heard_domain::Zone,
) -> Result<String> {
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
    let today = zone.date(Utc::now().timestamp_millis());
    let week_start = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let end_ms = zone.day_start_ms(week_start + Duration::days(7));
    let start_ms = end_ms - WEEKS * 7 * 86_400_000;
    let created = start_ms - 86_400_000;

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
        key: &'static str,
    }
    let specs = vec![
        Spec {
            name: "Online claim feedback",
            service: &ui,
            tp: &ui_web,
            arrives: Arrival::Widget,
            def: templates::a11_v2(&ui.name, TrustScale::Thumbs),
            base: 0.50,
            weight: 0.22,
            rate: 0.06,
            outage: true,
            key: "ui",
        },
        Spec {
            name: "Claims line survey",
            service: &ui,
            tp: &ui_phone,
            arrives: Arrival::Phone,
            def: templates::a11_v2(&ui.name, TrustScale::Agreement5),
            base: 0.42,
            weight: 0.12,
            rate: 0.12,
            outage: true,
            key: "ui",
        },
        Spec {
            name: "Career center exit survey",
            service: &ui,
            tp: &ui_office,
            arrives: Arrival::KioskQr,
            def: templates::a11_v1(&ui.name),
            base: 0.58,
            weight: 0.08,
            rate: 0.30,
            outage: false,
            key: "ui",
        },
        Spec {
            name: "Passport renewal feedback",
            service: &passport,
            tp: &pp_web,
            arrives: Arrival::Widget,
            def: templates::a11_v2(&passport.name, TrustScale::Thumbs),
            base: 0.81,
            weight: 0.20,
            rate: 0.07,
            outage: false,
            key: "passport",
        },
        Spec {
            name: "Passport kiosk survey",
            service: &passport,
            tp: &pp_kiosk,
            arrives: Arrival::KioskQr,
            def: templates::a11_v2(&passport.name, TrustScale::Thumbs),
            base: 0.76,
            weight: 0.08,
            rate: 0.25,
            outage: false,
            key: "passport",
        },
        Spec {
            name: "SNAP application feedback",
            service: &snap,
            tp: &snap_web,
            arrives: Arrival::HostedPage,
            def: templates::a11_v2(&snap.name, TrustScale::Thumbs),
            base: 0.64,
            weight: 0.16,
            rate: 0.05,
            outage: false,
            key: "snap",
        },
        Spec {
            name: "SNAP text survey",
            service: &snap,
            tp: &snap_sms,
            arrives: Arrival::Sms,
            def: templates::a11_v2(&snap.name, TrustScale::Thumbs),
            base: 0.60,
            weight: 0.08,
            rate: 0.15,
            outage: false,
            key: "snap",
        },
        Spec {
            name: "County office survey",
            service: &snap,
            tp: &snap_office,
            arrives: Arrival::HostedPage,
            def: templates::a11_v1(&snap.name),
            base: 0.66,
            weight: 0.06,
            rate: 0.35,
            outage: false,
            key: "snap",
        },
    ];
    let mut plans = Vec::new();
    for s in specs {
        let mut def = s.def;
        def.pra = Some(pra.clone());
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
        plans.push(SurveyPlan {
            survey,
            def,
            channel: s.arrives.channel(),
            base: s.base,
            weight: s.weight,
            response_rate: s.rate,
            outage: s.outage,
            service_key: s.key,
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

    // Plan every response first (deterministic), then write them concurrently so group commit batches them.
    let total_weight: f64 = plans.iter().map(|p| p.weight).sum();
    let mut submissions = Vec::with_capacity(responses);
    let mut displays: BTreeMap<(usize, i64), i64> = BTreeMap::new();
    for i in 0..responses {
        let mut pick = rng.random::<f64>() * total_weight;
        let mut idx = 0;
        for (j, p) in plans.iter().enumerate() {
            if pick < p.weight {
                idx = j;
                break;
            }
            pick -= p.weight;
        }
        let p = &plans[idx];
        // Later weeks get somewhat more responses (the programme grew); weekdays more than weekends.
        let t = loop {
            let u: f64 = rng.random::<f64>().powf(0.8);
            let ms = start_ms + (u * (end_ms - start_ms - 1) as f64) as i64;
            let dow = zone.date(ms).weekday().num_days_from_monday();
            if dow < 5 || rng.random::<f64>() < 0.35 {
                break ms.min(Utc::now().timestamp_millis() - 60_000);
            }
        };
        let week = (t - start_ms) / (7 * 86_400_000);
        let spanish = rng.random::<f64>() < 0.22;
        let mut prob = p.base;
        if p.outage && (WEEKS - 11..=WEEKS - 9).contains(&week) {
            prob -= 0.28;
        }
        if spanish && matches!(p.channel, Channel::Website) {
            prob -= 0.17;
        }
        if spanish && p.service_key == "snap" {
            prob -= 0.05;
        }
        let positive = rng.random::<f64>() < prob.clamp(0.03, 0.97);
        let lang = if spanish { "es" } else { "en" };
        let answers = answers_for(&p.def, positive, lang, p.service_key, &mut rng);
        let day = zone.day_number(t);
        // Each respondent stands for 1/rate people who were offered the survey.
        let offered = (1.0 / p.response_rate + rng.random::<f64>() * 2.0 - 1.0)
            .round()
            .max(1.0) as i64;
        *displays.entry((idx, day)).or_default() += offered;
        submissions.push(Submission {
            org_id: org.id,
            survey_id: p.survey.id,
            survey_version: 1,
            service_id: p.survey.service_id,
            touchpoint_id: p.survey.touchpoint_id,
            channel: p.channel,
            language: Lang::parse(lang).expect("valid"),
            page_path: matches!(p.channel, Channel::Website)
                .then(|| format!("/{}/confirmation", p.service_key)),
            idempotency_key: format!("demo-{seed}-{i:08}"),
            submitted_at: t,
            answers,
            hidden: HiddenAnswers::Reject,
            keep_raw_text: false,
        });
    }

    let bar = ProgressBar::new(responses as u64).with_style(
        ProgressStyle::with_template(
            "{msg} {bar:40} {pos}/{len} responses ({per_sec}, {eta} left)",
        )
        .expect("valid template"),
    );
    bar.set_message("Writing demo responses");
    let pipeline = Pipeline::new(secret);
    let defs: Vec<SurveyDefinition> = plans.iter().map(|p| p.def.clone()).collect();
    let survey_index: BTreeMap<_, _> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (p.survey.id, i))
        .collect();
    let mut stream = futures_util::stream::iter(submissions.into_iter().map(|s| {
        let def = &defs[survey_index[&s.survey_id]];
        let prepared = pipeline.prepare(s, def);
        async move {
            let r = prepared.map_err(|e| anyhow::anyhow!("demo answers invalid: {e}"))?;
            store.submit(r).await.map_err(anyhow::Error::from)
        }
    }))
    .buffer_unordered(256);
    while let Some(r) = stream.next().await {
        r?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    for ((idx, day), n) in &displays {
        store
            .record_display(org.id, plans[*idx].survey.id, plans[*idx].channel, *day, *n)
            .await?;
    }
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
    Ok(format!(
        "Demo organization '{slug}' ({}): 3 services, 8 touchpoints, {} surveys, {responses} responses over {WEEKS} weeks. Sign in as {DEMO_EMAIL} with password {DEMO_PASSWORD}.",
        org.id,
        plans.len()
    ))
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Comments by service and tone, in English and Spanish. A few carry personal data the redaction must remove.
fn comment(service: &str, positive: bool, lang: &str, rng: &mut StdRng) -> String {
    let en_neg: &[&str] = match service {
        "ui" => &[
            "I waited three hours on hold and the call dropped twice.",
            "The website kept logging me out and I had to verify my identity again and again.",
            "Nobody told me why my payment was late. I still have not received my benefits after six weeks.",
            "I had to upload the same documents three times. Why do you keep asking for the same information?",
            "The letter was confusing and I did not understand if I am eligible.",
            "Please call me back at 202-555-0147, I have been trying for weeks.",
            "I can't check the status of my claim anywhere, I just wait and hope.",
            "The online form crashed on the last page and I lost everything.",
        ],
        "passport" => &[
            "The kiosk was out of order and staff were not around to help.",
            "It took too long to get my passport back, I almost missed my trip.",
            "The photo upload kept failing with no explanation.",
        ],
        _ => &[
            "The office line was so long I had to leave before I was seen.",
            "I was asked for my pay stubs again even though I sent them last month.",
            "The caseworker was rude and I felt judged.",
            "My email is maria.lopez@example.com, nobody answers my messages.",
            "There was no interpreter and I could not explain my situation.",
        ],
    };
    let en_pos: &[&str] = &[
        "Quick and easy, thank you!",
        "The staff member was very helpful and patient with me.",
        "Much better than last year, the new website is clear.",
        "I got my answer the same day. Great service.",
        "Everything worked and I knew what to expect.",
    ];
    let es_neg: &[&str] = &[
        "La página no estaba en español y no entendí qué documentos necesitaba.",
        "Esperé mucho tiempo en el teléfono y nadie me ayudó.",
        "Me pidieron los mismos papeles otra vez.",
        "No hay información clara sobre el estado de mi solicitud.",
        "El sitio web es muy difícil de usar en el celular.",
    ];
    let es_pos: &[&str] = &[
        "Muy rápido y fácil, gracias.",
        "La persona que me atendió fue muy amable.",
        "Todo salió bien y entendí los pasos.",
    ];
    let list = match (lang, positive) {
        ("es", true) => es_pos,
        ("es", false) => es_neg,
        (_, true) => en_pos,
        (_, false) => en_neg,
    };
    pick(rng, list).to_string()
}

fn answers_for(
    def: &SurveyDefinition,
    positive: bool,
    lang: &str,
    service: &str,
    rng: &mut StdRng,
) -> Map<String, Value> {
    use heard_domain::survey::{A11Role, QuestionKind};
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
                        out.insert(q.id.clone(), json!(comment(service, positive, lang, rng)));
                    }
                    _ => {}
                }
            }
            // Trust positivity follows the trust answer itself.
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
                out.insert(q.id.clone(), json!(comment(service, positive, lang, rng)));
            }
        }
    }
    out
}
