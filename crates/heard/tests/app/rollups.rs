//! Figures from rollups kept on ingest (issue 18, items 1 and 2): the rows the dashboards read (`response_days`,
//! `answer_days`) equal counts recomputed here from the raw responses after the group-commit writer, the bulk path,
//! the demo generator (`demo.rs` calls [`assert_rollups_match`]) and a change of time zone; and the A-11 statistics
//! page's figures against values computed by hand.

use std::collections::BTreeMap;

use heard_domain::response::{AnswerValue, Answers, NewResponse};
use heard_domain::survey::QuestionKind;
use heard_domain::{Channel, OrgId, ServiceId, TouchpointId, Zone};
use heard_server::pipeline::{Pipeline, Submission};
use heard_store::Store;
use heard_store::bulk::{BulkOutcome, BulkRows};
use heard_store::responses::ResponseFilter;
use heard_store::rollups::RollupScope;
use serde_json::json;

use crate::both_backends;
use crate::support::Tenant;

/// (survey, version, channel, language, local day) -> [responses, trust answers, positive, scale answers, scale sum]
type DayTable = BTreeMap<(String, i32, String, String, i64), [i64; 5]>;
/// (survey, version, local day, question, value, trust side) -> answers
type AnswerTable = BTreeMap<(String, i32, i64, String, String, i16), i64>;

/// Counts recomputed from every stored response of `org`, written out here independently of the product's rollup
/// code: the local day in `zone`, a trust answer on the scale when it is 2-5 or a negative 1, and each distinct value
/// of an answer to a closed question (scale, thumbs, yes/no, choices) per trust side.
async fn from_raw_rows(store: &Store, org: OrgId, zone: Zone) -> (DayTable, AnswerTable) {
    let (mut days, mut answers) = (DayTable::new(), AnswerTable::new());
    for s in store.surveys(org, None).await.unwrap() {
        let kinds: BTreeMap<(i32, String), QuestionKind> = store
            .survey_versions(org, s.id)
            .await
            .unwrap()
            .into_iter()
            .flat_map(|v| {
                v.definition
                    .questions
                    .into_iter()
                    .map(move |q| ((v.version, q.id), q.kind))
            })
            .collect();
        let f = ResponseFilter {
            survey_id: Some(s.id),
            ..Default::default()
        };
        for r in store.slim_responses(org, &f).await.unwrap() {
            let day = zone.day_number(r.submitted_at);
            let on_scale = matches!(r.trust, Some(2..=5))
                || (r.trust == Some(1) && r.trust_positive == Some(false));
            let e = days
                .entry((
                    s.id.to_string(),
                    r.survey_version,
                    r.channel.clone(),
                    r.language.clone(),
                    day,
                ))
                .or_default();
            e[0] += 1;
            e[1] += i64::from(r.trust_positive.is_some());
            e[2] += i64::from(r.trust_positive == Some(true));
            e[3] += i64::from(on_scale);
            e[4] += if on_scale {
                i64::from(r.trust.unwrap())
            } else {
                0
            };
            let side = match r.trust_positive {
                None => -1,
                Some(false) => 0,
                Some(true) => 1,
            };
            let a: Answers = serde_json::from_str(&r.answers).unwrap();
            for (q, v) in a {
                let closed = matches!(
                    kinds.get(&(r.survey_version, q.clone())),
                    Some(
                        QuestionKind::Agreement5
                            | QuestionKind::Thumbs
                            | QuestionKind::YesNo
                            | QuestionKind::SingleChoice
                            | QuestionKind::MultipleChoice
                    )
                );
                if !closed {
                    continue;
                }
                let mut values = match v {
                    AnswerValue::Number(n) => vec![n.to_string()],
                    AnswerValue::Text(t) => vec![t],
                    AnswerValue::Many(v) => v,
                };
                values.sort();
                values.dedup();
                for value in values.into_iter().filter(|v| !v.is_empty()) {
                    *answers
                        .entry((
                            s.id.to_string(),
                            r.survey_version,
                            day,
                            q.clone(),
                            value,
                            side,
                        ))
                        .or_default() += 1;
                }
            }
        }
    }
    (days, answers)
}

/// The rollup rows of `org` as stored, in the same shapes (service and touchpoint summed away).
async fn stored(store: &Store, org: OrgId) -> (DayTable, AnswerTable) {
    let all = RollupScope {
        survey: None,
        service: None,
        from_day: -100_000,
        to_day: 100_000,
    };
    let mut days = DayTable::new();
    for d in store.response_days(org, &all).await.unwrap() {
        let k = d.key;
        let e = days
            .entry((
                k.survey_id.to_string(),
                k.survey_version,
                k.channel,
                k.language,
                k.day,
            ))
            .or_default();
        let c = d.counts;
        for (slot, v) in e.iter_mut().zip([
            c.responses as i64,
            c.trust_answered as i64,
            c.trust_positive as i64,
            c.scale_n as i64,
            c.scale_sum,
        ]) {
            *slot += v;
        }
    }
    let mut answers = AnswerTable::new();
    for s in store.surveys(org, None).await.unwrap() {
        for a in store
            .answer_days(org, s.id, -100_000, 100_000)
            .await
            .unwrap()
        {
            let k = a.key;
            let side = match k.trust_positive {
                None => -1,
                Some(false) => 0,
                Some(true) => 1,
            };
            *answers
                .entry((
                    k.survey_id.to_string(),
                    k.survey_version,
                    k.day,
                    k.question_id,
                    k.value,
                    side,
                ))
                .or_default() += a.answers as i64;
        }
    }
    (days, answers)
}

/// Asserts that `org`'s rollups equal the counts recomputed from its raw responses, and that rebuilding them from
/// the responses changes nothing.
pub async fn assert_rollups_match(store: &Store, org: OrgId) {
    let zone = store.org(org).await.unwrap().time_zone;
    let want = from_raw_rows(store, org, zone).await;
    let got = stored(store, org).await;
    assert_eq!(got.0, want.0, "response_days differ from the responses");
    assert_eq!(got.1, want.1, "answer_days differ from the responses");
    let rebuilt = store.rebuild_rollups(org, None).await.unwrap();
    assert_eq!(
        rebuilt.responses,
        want.0.values().map(|v| v[0] as u64).sum::<u64>()
    );
    assert_eq!(
        stored(store, org).await,
        got,
        "a rebuild changed the rollups"
    );
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// A response to the tenant's survey made by the product's pipeline, as if it arrived at `at` on `channel`.
pub(crate) fn prepared(
    t: &Tenant,
    key: &str,
    answers: serde_json::Value,
    channel: Channel,
    touchpoint: Option<TouchpointId>,
    at: i64,
) -> NewResponse {
    Pipeline::new(&[9u8; 32])
        .prepare(
            Submission {
                org_id: t.org,
                survey_id: t.survey.id,
                survey_version: 1,
                service_id: t.service.id,
                touchpoint_id: touchpoint,
                channel,
                language: if key.ends_with('s') {
                    heard_domain::Lang::es()
                } else {
                    heard_domain::Lang::en()
                },
                page_path: None,
                idempotency_key: key.into(),
                submitted_at: at,
                answers: answers.as_object().unwrap().clone(),
                hidden: heard_domain::survey::HiddenAnswers::Reject,
                keep_raw_text: false,
            },
            &t.survey.draft,
        )
        .unwrap()
}

/// Answers to the tenant's A-11 v2 thumbs survey: positive ones choose what went well, negative ones what didn't.
fn answers(i: usize) -> serde_json::Value {
    match i % 4 {
        0 => json!({"trust": 1, "went_well": ["ease", "efficiency"], "comment": "Quick and clear"}),
        1 => json!({"trust": 0, "went_badly": ["transparency"]}),
        2 => json!({"trust": 1}),
        _ => json!({"trust": 0, "comment": "Slow"}),
    }
}

async fn bulk(store: &Store, org: OrgId, rows: &[NewResponse]) -> BulkOutcome {
    store
        .bulk_write(org, BulkRows::Responses(rows), None, |_| Vec::new())
        .await
        .unwrap()
}

both_backends!(rollups_follow_every_write_path_and_the_time_zone, |app| {
    let t = &app.a;
    // Around local midnight in New York (04:00 UTC in summer), over several days and channels.
    let base = ms("2026-08-03T03:30:00Z");
    for i in 0..24 {
        let at = base + (i as i64) * 5 * 3_600_000;
        let channel = [Channel::Website, Channel::Phone, Channel::InPerson][i % 3];
        let key = format!("writer-{i:04}{}", if i % 5 == 0 { "s" } else { "" });
        app.store
            .submit(prepared(
                t,
                &key,
                answers(i),
                channel,
                Some(t.touchpoint.id),
                at,
            ))
            .await
            .unwrap();
    }
    assert_rollups_match(&app.store, t.org).await;
    // The bulk path: a batch with a key the writer stored (a duplicate, not counted twice).
    let mut batch: Vec<NewResponse> = (0..30)
        .map(|i| {
            let at = base + (i as i64) * 7 * 3_600_000 + 1_800_000;
            prepared(
                t,
                &format!("bulk-{i:04}"),
                answers(i),
                Channel::Website,
                None,
                at,
            )
        })
        .collect();
    batch.push(prepared(
        t,
        "writer-0001",
        answers(1),
        Channel::Phone,
        Some(t.touchpoint.id),
        base + 5 * 3_600_000,
    ));
    match bulk(&app.store, t.org, &batch).await {
        BulkOutcome::Committed(r) => assert_eq!(r.iter().filter(|x| x.duplicate).count(), 1),
        other => panic!("{other:?}"),
    }
    // The same batch again stores and counts nothing.
    bulk(&app.store, t.org, &batch).await;
    assert_rollups_match(&app.store, t.org).await;
    let (days, answers) = stored(&app.store, t.org).await;
    assert_eq!(days.values().map(|v| v[0]).sum::<i64>(), 54);
    assert!(
        answers
            .keys()
            .any(|k| k.3 == "went_well" && k.4 == "ease" && k.5 == 1)
    );
    // Free text is never counted.
    assert!(!answers.keys().any(|k| k.3 == "comment"));
    // Another organization sees none of it.
    assert!(stored(&app.store, app.b.org).await.0.is_empty());

    // A change of time zone marks the rollups pending, the dashboard says so, and the job recomputes them.
    let s = app.sign_in(&t.admin_email).await;
    let r = app
        .post(
            &s,
            &format!("/admin/o/{}/time-zone", t.org),
            &[("time_zone", "America/Los_Angeles")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(app.store.rollups_pending(t.org).await.unwrap().is_some());
    let html = app
        .get(&s, &format!("/admin/o/{}/surveys/{}", t.org, t.survey.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("The figures are being recomputed after the time zone changed"),
        "{html}"
    );
    let worker = app.worker();
    assert!(worker.run_pending_once().await.unwrap() >= 1);
    assert!(app.store.rollups_pending(t.org).await.unwrap().is_none());
    let la = Zone::parse("America/Los_Angeles").unwrap();
    let (la_days, _) = from_raw_rows(&app.store, t.org, la).await;
    assert_eq!(stored(&app.store, t.org).await.0, la_days);
    // Days moved: the New York rollups were not kept.
    assert_ne!(la_days, days);
    assert_rollups_match(&app.store, t.org).await;
});

fn read_csv(body: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

both_backends!(a11_statistics_by_hand, |app| {
    let t = &app.a;
    let org = t.org;
    // FY2026 Q4 (July to September 2026): 20 trust answers on the web touchpoint, 15 positive; 5 by phone without a
    // touchpoint, all positive. FY2026 Q3: 20 on the web touchpoint, 10 positive. 100 customers served in Q4.
    let mut rows = Vec::new();
    for i in 0..20 {
        let at = ms("2026-08-10T15:00:00Z") + i * 3_600_000;
        let trust = if i < 15 { 1 } else { 0 };
        rows.push(prepared(
            t,
            &format!("q4-web-{i:04}"),
            json!({"trust": trust}),
            Channel::Website,
            Some(t.touchpoint.id),
            at,
        ));
        let at = ms("2026-05-10T15:00:00Z") + i * 3_600_000;
        let trust = if i < 10 { 1 } else { 0 };
        rows.push(prepared(
            t,
            &format!("q3-web-{i:04}"),
            json!({"trust": trust}),
            Channel::Website,
            Some(t.touchpoint.id),
            at,
        ));
    }
    for i in 0..5 {
        let at = ms("2026-09-01T15:00:00Z") + i * 3_600_000;
        rows.push(prepared(
            t,
            &format!("q4-phone-{i:04}"),
            json!({"trust": 1}),
            Channel::Phone,
            None,
            at,
        ));
    }
    bulk(&app.store, org, &rows).await;
    app.store
        .set_service_volume(org, t.service.id, 2026, 4, 100)
        .await
        .unwrap();
    let s = app.sign_in(&t.admin_email).await;
    let page = app
        .get(&s, &format!("/admin/o/{org}/statistics?quarter=FY2026-Q4"))
        .await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    // Service: 20 of 25 = 80.0%, Wilson with the correction for 100 customers: 63.6% to 90.2%; Q3 10 of 20; the
    // pooled z test of 0.8 against 0.5: z = 2.1213, p = 0.0339.
    for want in [
        "80.0%",
        "63.6% to 90.2%",
        "50.0% (20)",
        "+30.0 points",
        "0.034",
        // The web touchpoint and the website channel: 15 of 20 = 75.0%, 53.1% to 88.8%; +25.0 points, p = 0.102.
        "75.0%",
        "53.1% to 88.8%",
        "+25.0 points",
        "0.102",
        // Five phone answers are too few, never 100%.
        "Too few to report (n &lt; 11)",
        "Not tested (too few in a quarter)",
        "A-11 statistics",
        "href=\"/admin/o/",
    ] {
        assert!(html.contains(want), "{want} missing in {html}");
    }
    assert!(!html.contains("100.0%"), "{html}");
    let csv = app
        .get(
            &s,
            &format!("/admin/o/{org}/statistics.csv?quarter=FY2026-Q4&table=figures"),
        )
        .await
        .text()
        .await
        .unwrap();
    let rows = read_csv(&csv);
    let service = rows.iter().find(|r| r["level"] == "service").unwrap();
    assert_eq!(service["trust_answers"], "25");
    assert_eq!(service["percent_positive"], "0.800000");
    assert_eq!(service["ci95_low"], "0.635822");
    assert_eq!(service["ci95_high"], "0.901616");
    assert_eq!(service["finite_population_correction"], "yes");
    assert_eq!(service["previous_trust_answers"], "20");
    assert_eq!(service["change_points"], "30.000000");
    assert_eq!(service["p_value"], "0.033895");
    let phone = rows
        .iter()
        .find(|r| r["level"] == "channel" && r["touchpoint_or_channel"] == "Phone")
        .unwrap();
    assert_eq!(phone["trust_answers"], "5");
    assert_eq!(phone["percent_positive"], "");
    assert_eq!(phone["status"], "Too few to report (n < 11)");
    let web = rows
        .iter()
        .find(|r| r["level"] == "touchpoint" && r["touchpoint_or_channel"].starts_with("Web"))
        .unwrap();
    assert_eq!(
        (web["percent_positive"].as_str(), web["p_value"].as_str()),
        ("0.750000", "0.102470")
    );
    let collection = app
        .get(
            &s,
            &format!("/admin/o/{org}/statistics.csv?quarter=FY2026-Q4&table=collection"),
        )
        .await
        .text()
        .await
        .unwrap();
    let c = read_csv(&collection);
    assert_eq!(c[0]["respondents"], "25");
    assert_eq!(c[0]["customers_served"], "100");
    // Another organization's page shows none of it.
    let other = app.sign_in(&app.b.admin_email).await;
    let html = app
        .get(
            &other,
            &format!("/admin/o/{}/statistics?quarter=FY2026-Q4", app.b.org),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("80.0%"));
    let denied = app
        .get(
            &other,
            &format!("/admin/o/{org}/statistics?quarter=FY2026-Q4"),
        )
        .await;
    assert_eq!(denied.status().as_u16(), 404);
});

/// (service, local day, type) -> events, and (service, local day, type, measure) -> (n, sum)
type EventTable = BTreeMap<(String, i64, String), i64>;
type MeasureTable = BTreeMap<(String, i64, String, String), (i64, f64)>;

/// Event counts and measure sums recomputed from the raw events of `org` (the services given), written out here
/// independently of the product's rollup code; touchpoints summed away (the raw records do not carry them).
async fn events_from_raw(
    store: &Store,
    org: OrgId,
    zone: Zone,
    services: &[ServiceId],
) -> (EventTable, MeasureTable) {
    let (mut counts, mut measures) = (EventTable::new(), MeasureTable::new());
    for e in store.events(org).await.unwrap() {
        let service = e.service_id.map(ServiceId::from_uuid);
        if !service.is_some_and(|s| services.contains(&s)) {
            continue;
        }
        let s = e.service_id.unwrap().to_string();
        let day = zone.day_number(e.occurred_at);
        *counts
            .entry((s.clone(), day, e.event_type.clone()))
            .or_default() += 1;
        let m: BTreeMap<String, f64> = serde_json::from_str(&e.measures).unwrap();
        for (name, x) in m {
            let v = measures
                .entry((s.clone(), day, e.event_type.clone(), name))
                .or_default();
            v.0 += 1;
            v.1 += x;
        }
    }
    (counts, measures)
}

/// The stored event rollups of `org` for `services`, in the same shapes.
async fn events_stored(
    store: &Store,
    org: OrgId,
    services: &[ServiceId],
) -> (EventTable, MeasureTable) {
    let (mut counts, mut measures) = (EventTable::new(), MeasureTable::new());
    for s in services {
        let d = store.event_days(org, *s, -100_000, 100_000).await.unwrap();
        for (day, _, ty, n) in d.events {
            *counts.entry((s.to_string(), day, ty)).or_default() += n as i64;
        }
        for (day, _, ty, m, agg) in d.measures {
            assert_eq!(agg.n, agg.sketch.count(), "a sketch holds every value");
            let v = measures.entry((s.to_string(), day, ty, m)).or_default();
            v.0 += agg.n as i64;
            v.1 += agg.total;
        }
    }
    (counts, measures)
}

/// An event made by the product's pipeline.
fn event(
    t: &Tenant,
    key: &str,
    ty: &str,
    at: i64,
    touchpoint: bool,
    measures: &[(&str, f64)],
) -> heard_domain::event::NewEvent {
    Pipeline::new(&[9u8; 32]).prepare_event(
        t.org,
        heard_domain::event::EventInput {
            common: heard_domain::intake::Common {
                external_id: key.into(),
                occurred_at: at,
                service_id: Some(t.service.id),
                touchpoint_id: touchpoint.then_some(t.touchpoint.id),
                person: None,
                reference: None,
            },
            event_type: ty.into(),
            measures: measures.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            attributes: Default::default(),
        },
        "api",
        at,
    )
}

/// Type 7 percentile of sorted values (PostgreSQL's `percentile_cont`).
fn percentile(sorted: &[f64], tenths: usize) -> f64 {
    let n = sorted.len();
    let lo = tenths * (n - 1) / 10;
    let frac = ((tenths * (n - 1)) % 10) as f64 / 10.0;
    match sorted.get(lo + 1) {
        Some(b) if frac > 0.0 => sorted[lo] + frac * (b - sorted[lo]),
        _ => sorted[lo],
    }
}

both_backends!(event_rollups_follow_every_write_path, |app| {
    let t = &app.a;
    let org = t.org;
    let services = [t.service.id, app.b.service.id];
    let zone = app.store.org(org).await.unwrap().time_zone;
    // The ingestion API over HTTP: calls around local midnight, one without a service (not on the page).
    let key = crate::inbox::api_key(&app, t).await;
    let service = t.service.id.to_string();
    crate::inbox::send(
        &app,
        &key,
        "/api/v1/events",
        json!([
            {"external_id": "h1", "type": "call", "occurred_at": "2026-09-07T03:59:00Z", "service_id": service,
             "measures": {"wait": 60, "transfers": 1}},
            {"external_id": "h2", "type": "call", "occurred_at": "2026-09-07T04:00:00Z", "service_id": service,
             "measures": {"wait": 120}},
            {"external_id": "h3", "type": "office_visit", "occurred_at": "2026-09-08T14:00:00Z",
             "service_id": service, "measures": {"wait": 1800, "service_time": 600}},
            {"external_id": "h4", "type": "call", "occurred_at": "2026-09-08T14:00:00Z", "measures": {"wait": 5}},
        ]),
    )
    .await;
    // The store's API path directly: a retry of h2 (a duplicate) beside new events.
    let base = ms("2026-09-07T04:00:00Z");
    let mut api = vec![event(t, "h2", "call", base, false, &[("wait", 120.0)])];
    for i in 0..10 {
        api.push(event(
            t,
            &format!("a{i}"),
            "call",
            base + i * 9_000_000,
            i % 2 == 0,
            &[("wait", (30 + 7 * i) as f64)],
        ));
    }
    let got = app.store.insert_events(&api).await.unwrap();
    assert!(got[0].as_ref().unwrap().duplicate);
    assert_eq!(
        events_stored(&app.store, org, &services).await,
        events_from_raw(&app.store, org, zone, &services).await
    );

    // The bulk path: 400 calls in one week (past the sketch's exact limit), a duplicate of an API event, then the
    // same batch re-run (nothing counted twice).
    let mut z = 0x9e37_79b9_7f4a_7c15u64;
    let mut batch: Vec<heard_domain::event::NewEvent> = (0..400)
        .map(|i| {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            let u = (z >> 11) as f64 / (1u64 << 53) as f64;
            let wait = (240.0 * (3.0 * (u - 0.5)).exp()).round();
            event(
                t,
                &format!("b{i:04}"),
                "call",
                base + 7 * 86_400_000 + i * 1_500_000,
                i % 3 == 0,
                &[("wait", wait), ("transfers", (i % 3) as f64)],
            )
        })
        .collect();
    batch.push(event(
        t,
        "a3",
        "call",
        base + 3 * 9_000_000,
        false,
        &[("wait", 51.0)],
    ));
    for run in 0..2 {
        if run == 1 {
            // A re-run prepares its rows again: fresh ids, the same keys and content.
            for e in &mut batch {
                e.id = heard_domain::EventId::new();
            }
        }
        match app
            .store
            .bulk_write(org, BulkRows::Events(&batch), None, |_| Vec::new())
            .await
            .unwrap()
        {
            BulkOutcome::Committed(_) => {}
            other => panic!("{other:?}"),
        }
    }
    let raw = events_from_raw(&app.store, org, zone, &services).await;
    let stored_now = events_stored(&app.store, org, &services).await;
    assert_eq!(stored_now, raw);
    assert_eq!(raw.0.values().sum::<i64>(), 3 + 10 + 400);
    // Another organization sees none of it, even asking with this one's service.
    assert_eq!(
        events_stored(&app.store, app.b.org, &services).await,
        Default::default()
    );

    // The week's median and 90th percentile from the rollups are within the stated error of the exact ones (and
    // exact for a week of few values); counts, sums and means exactly.
    let week2 = (base + 7 * 86_400_000, base + 14 * 86_400_000);
    let week1 = (base, week2.0);
    let (counts, measures) = app
        .store
        .event_weeks(org, t.service.id, &zone, &[week1, week2])
        .await
        .unwrap();
    let all = app.store.events(org).await.unwrap();
    for (w, exact) in [(week1, true), (week2, false)] {
        let mut waits: Vec<f64> = all
            .iter()
            .filter(|e| {
                e.service_id == Some(*t.service.id.as_uuid())
                    && e.event_type == "call"
                    && (w.0..w.1).contains(&e.occurred_at)
            })
            .filter_map(|e| {
                serde_json::from_str::<BTreeMap<String, f64>>(&e.measures)
                    .unwrap()
                    .get("wait")
                    .copied()
            })
            .collect();
        waits.sort_by(|a, b| a.total_cmp(b));
        let c = counts
            .iter()
            .find(|c| c.week == w.0 && c.event_type == "call")
            .unwrap();
        assert_eq!(c.events as usize, waits.len());
        let m = measures
            .iter()
            .find(|m| m.week == w.0 && m.event_type == "call" && m.measure == "wait")
            .unwrap();
        assert_eq!(m.n as usize, waits.len());
        assert_eq!(m.sum, waits.iter().sum::<f64>());
        assert_eq!(m.exact, exact);
        let err = heard_domain::sketch::RELATIVE_ERROR;
        for (got, tenths) in [(m.median, 5), (m.p90, 9)] {
            let want = percentile(&waits, tenths);
            assert!(
                (got - want).abs() <= err * want + 1e-9,
                "week {w:?} p{tenths}0: {got} vs exact {want}"
            );
            if exact {
                assert_eq!(got, want);
            }
        }
    }

    // A rebuild from the raw events gives the same rows, twice over.
    let rebuilt = app.store.rebuild_rollups(org, None).await.unwrap();
    assert_eq!(rebuilt.events, 3 + 1 + 10 + 400);
    assert_eq!(events_stored(&app.store, org, &services).await, stored_now);
    let again = app
        .store
        .event_weeks(org, t.service.id, &zone, &[week1, week2])
        .await
        .unwrap();
    assert_eq!(again, (counts, measures));
    app.store.rebuild_rollups(org, None).await.unwrap();
    assert_eq!(events_stored(&app.store, org, &services).await, stored_now);

    // A change of time zone moves the days; the job recomputes them from the raw events.
    app.store
        .set_org_time_zone(org, Zone::parse("America/Los_Angeles").unwrap())
        .await
        .unwrap();
    let s = app.sign_in(&t.admin_email).await;
    let events_page =
        format!("/admin/o/{org}/events?service={service}&from=2026-09-07&to=2026-09-20");
    let html = app.get(&s, &events_page).await.text().await.unwrap();
    assert!(
        html.contains("The figures are being recomputed after the time zone changed"),
        "{html}"
    );
    let worker = app.worker();
    assert!(worker.run_pending_once().await.unwrap() >= 1);
    let la = Zone::parse("America/Los_Angeles").unwrap();
    let moved = events_from_raw(&app.store, org, la, &services).await;
    assert_ne!(moved.0, raw.0);
    assert_eq!(events_stored(&app.store, org, &services).await, moved);

    // The page says its quantiles are estimates when a week had many values, and no longer that it is recomputing.
    let html = app.get(&s, &events_page).await.text().await.unwrap();
    assert!(html.contains("within 1% of the exact value"), "{html}");
    assert!(!html.contains("being recomputed"));
});

/// A signal made by the product's pipeline.
fn signal(t: &Tenant, key: &str, at: i64) -> heard_domain::signal::NewSignal {
    Pipeline::new(&[9u8; 32]).prepare_signal(
        t.org,
        heard_domain::signal::SignalInput {
            common: heard_domain::intake::Common {
                external_id: key.into(),
                occurred_at: at,
                service_id: Some(t.service.id),
                touchpoint_id: None,
                person: None,
                reference: None,
            },
            source: heard_domain::signal::SignalSource::Review,
            author: heard_domain::signal::Author::Public,
            text: format!("The wait was long ({key})"),
            turns: Vec::new(),
            rating: Some(2),
            url: None,
            language: None,
        },
        at,
    )
}

/// Writes `rows` in one bulk batch; how many of them were duplicates.
async fn duplicates(store: &Store, org: OrgId, rows: BulkRows<'_>) -> usize {
    match store
        .bulk_write(org, rows, None, |_| Vec::new())
        .await
        .unwrap()
    {
        BulkOutcome::Committed(r) => r.iter().filter(|x| x.duplicate).count(),
        other => panic!("{other:?}"),
    }
}

// A batch sent again with the very same prepared rows (the same ids: a retry after a commit whose acknowledgement
// was lost) is all duplicates, alone or beside new rows, and the rollups still equal the raw rows.
both_backends!(
    a_resent_batch_of_the_same_prepared_rows_is_all_duplicates,
    |app| {
        let t = &app.a;
        let org = t.org;
        let services = [t.service.id];
        let zone = app.store.org(org).await.unwrap().time_zone;
        let base = ms("2026-09-07T04:00:00Z");
        let responses: Vec<NewResponse> = (0..12)
            .map(|i| {
                let at = base + i as i64 * 3_600_000;
                prepared(
                    t,
                    &format!("again-{i}"),
                    answers(i),
                    Channel::Website,
                    None,
                    at,
                )
            })
            .collect();
        let events: Vec<heard_domain::event::NewEvent> = (0..12)
            .map(|i| {
                event(
                    t,
                    &format!("e{i}"),
                    "call",
                    base + i * 3_600_000,
                    false,
                    &[("wait", i as f64)],
                )
            })
            .collect();
        let signals: Vec<heard_domain::signal::NewSignal> = (0..12)
            .map(|i| signal(t, &format!("s{i}"), base + i * 3_600_000))
            .collect();
        // First sending: all created.
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Responses(&responses)).await,
            0
        );
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Events(&events)).await,
            0
        );
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Signals(&signals)).await,
            0
        );
        let days = stored(&app.store, org).await;
        let event_days = events_stored(&app.store, org, &services).await;
        // The very same rows again: all duplicates, nothing counted.
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Responses(&responses)).await,
            12
        );
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Events(&events)).await,
            12
        );
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Signals(&signals)).await,
            12
        );
        assert_eq!(stored(&app.store, org).await, days);
        assert_eq!(events_stored(&app.store, org, &services).await, event_days);
        // The same rows beside new ones: only the new ones are created.
        let mut responses = responses;
        responses.push(prepared(
            t,
            "again-new",
            answers(0),
            Channel::Phone,
            None,
            base,
        ));
        let mut events = events;
        events.push(event(t, "e-new", "call", base, false, &[("wait", 99.0)]));
        let mut signals = signals;
        signals.push(signal(t, "s-new", base));
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Responses(&responses)).await,
            12
        );
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Events(&events)).await,
            12
        );
        assert_eq!(
            duplicates(&app.store, org, BulkRows::Signals(&signals)).await,
            12
        );
        // The rollups equal the raw rows, of which there is one each.
        assert_rollups_match(&app.store, org).await;
        let (days, _) = stored(&app.store, org).await;
        assert_eq!(days.values().map(|v| v[0]).sum::<i64>(), 13);
        let raw = events_from_raw(&app.store, org, zone, &services).await;
        assert_eq!(events_stored(&app.store, org, &services).await, raw);
        assert_eq!(raw.0.values().sum::<i64>(), 13);
        assert_eq!(app.store.signals(org).await.unwrap().len(), 13);
    }
);
