//! Figures from rollups kept on ingest (issue 18, items 1 and 2): the rows the dashboards read (`response_days`,
//! `answer_days`) equal counts recomputed here from the raw responses after the group-commit writer, the bulk path,
//! the demo generator (`demo.rs` calls [`assert_rollups_match`]) and a change of time zone; and the A-11 statistics
//! page's figures against values computed by hand.

use std::collections::BTreeMap;

use heard_domain::response::{AnswerValue, Answers, NewResponse};
use heard_domain::survey::QuestionKind;
use heard_domain::{Channel, OrgId, TouchpointId, Zone};
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
fn prepared(
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
    let worker = heard_server::jobs::Worker::new(
        app.store.clone(),
        heard_server::jobs::JobRegistry::product(),
        Default::default(),
    );
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
