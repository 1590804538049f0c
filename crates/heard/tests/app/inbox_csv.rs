//! The inbox pages' tables as CSV (issue 18, item 9): the signals of the inbox's filtered view, the events view's
//! weekly counts and measures, and a person's timeline; each linked from its page, with the byte-order mark, codes
//! beside words, redacted text, formulas defused, and the roles and organizations that may not read them refused.

use heard_domain::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::inbox::{api_key, member, send};
use crate::support::{Session, TestApp};

/// A CSV download: its status, and its rows (header first) after the byte-order mark it must start with.
async fn csv(app: &TestApp, s: &Session, path: &str) -> (u16, Vec<Vec<String>>) {
    let r = app.get(s, path).await;
    let status = r.status().as_u16();
    if status != 200 {
        return (status, Vec::new());
    }
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = r.bytes().await.unwrap();
    let body = bytes
        .strip_prefix(heard_server::export::BOM)
        .unwrap_or_else(|| panic!("{path}: no byte-order mark"));
    let rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (status, rows)
}

/// The cell of `row` under `column`.
fn cell<'a>(rows: &'a [Vec<String>], row: &'a [String], column: &str) -> &'a str {
    let i = rows[0]
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    &row[i]
}

both_backends!(inbox_tables_download_as_csv, |app| {
    let key = api_key(&app, &app.a).await;
    let service = app.a.service.id.to_string();
    let org = app.a.org;
    send(&app, &key, "/api/v1/signals", json!([
        {"external_id": "w1", "source": "web_form", "text": "=HYPERLINK(\"http://x.example\") the form broke twice",
         "occurred_at": "2026-09-02T15:00:00Z", "service_id": service},
        {"external_id": "w2", "source": "web_form", "text": "No entiendo el formulario, ¿dónde subo la identificación?",
         "language": "es", "occurred_at": "2026-09-03T15:00:00Z", "person": {"email": "ana.lopez@example.gov"}},
        {"external_id": "w3", "source": "web_form", "text": "I don't see the point of living anymore, write to me at maria@example.com",
         "occurred_at": "2026-09-01T15:00:00Z"},
        {"external_id": "r1", "source": "review", "text": "Quick and kind staff.", "occurred_at": "2026-09-04T15:00:00Z"},
    ])).await;
    let call = |id: &str, at: &str, measures: Value| {
        json!({"external_id": id, "type": "call", "occurred_at": at,
        "service_id": service, "measures": measures, "person": {"email": "ana.lopez@example.gov"}})
    };
    // New York weeks: Mon Sep 7 to Sun Sep 13, 2026 and the week after.
    send(&app, &key, "/api/v1/events", json!([
        call("c1", "2026-09-07T04:00:00Z", json!({"wait": 60, "transfers": 1})),
        call("c2", "2026-09-09T15:00:00Z", json!({"wait": 120, "transfers": 0})),
        call("c3", "2026-09-11T15:00:00Z", json!({"wait": 300})),
        call("c4", "2026-09-14T03:30:00Z", json!({"wait": 600, "transfers": 2})),
        {"external_id": "o1", "type": "office_visit", "occurred_at": "2026-09-15T14:00:00Z", "service_id": service,
         "measures": {"wait": 1800}},
    ])).await;
    let admin = app.sign_in(&app.a.admin_email).await;

    // Signals: the filtered view, urgent first then newest, linked from the page with its filters.
    let (_, page) = {
        let r = app
            .get(&admin, &format!("/admin/o/{org}/signals?source=web_form"))
            .await;
        (r.status(), r.text().await.unwrap())
    };
    assert!(page.contains("signals match, of all dates"));
    assert!(
        page.contains(&format!("/admin/o/{org}/signals.csv?source=web_form\"")),
        "{page}"
    );
    let (status, rows) = csv(
        &app,
        &admin,
        &format!("/admin/o/{org}/signals.csv?source=web_form"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(rows[0].len(), 29);
    assert_eq!(&rows[0][..3], ["signal_id", "occurred_at", "received_at"]);
    let body = &rows[1..];
    assert_eq!(body.len(), 3, "the review is filtered out");
    let texts: Vec<&str> = body.iter().map(|r| cell(&rows, r, "text")).collect();
    assert!(
        texts[0].starts_with("I don't see the point"),
        "urgent first: {texts:?}"
    );
    assert!(
        texts[1].starts_with("No entiendo") && texts[2].starts_with("'=HYPERLINK"),
        "then newest; formulas defused: {texts:?}"
    );
    assert_eq!(cell(&rows, &body[0], "urgent"), "yes");
    assert!(cell(&rows, &body[0], "urgency_codes").contains("crisis"));
    assert_eq!(cell(&rows, &body[0], "source"), "Web form");
    assert_eq!(cell(&rows, &body[0], "source_code"), "web_form");
    assert_eq!(
        cell(&rows, &body[0], "occurred_at"),
        "2026-09-01T11:00:00-04:00",
        "local time with its offset"
    );
    assert_eq!(cell(&rows, &body[1], "language_code"), "es");
    assert_eq!(cell(&rows, &body[2], "service_id"), service);
    let all: String = body
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase();
    assert!(
        !all.contains("example.com") && !all.contains("ana.lopez"),
        "no contact details: {all}"
    );
    let person = cell(&rows, &body[1], "person_key").to_string();
    assert_eq!(person.len(), 32, "analysts and up get the person key");
    let (status, bad) = csv(
        &app,
        &admin,
        &format!("/admin/o/{org}/signals.csv?urgency=soon"),
    )
    .await;
    assert_eq!((status, bad.len()), (422, 0));

    // A viewer downloads the same list without person keys.
    member(&app, "viewer@agency-a.example.gov", Role::Viewer).await;
    let viewer = app.sign_in("viewer@agency-a.example.gov").await;
    let (status, vrows) = csv(&app, &viewer, &format!("/admin/o/{org}/signals.csv")).await;
    assert_eq!(status, 200);
    assert_eq!(vrows.len(), 5);
    assert!(
        vrows[1..]
            .iter()
            .all(|r| cell(&vrows, r, "person_key").is_empty())
    );

    // Events: counts per type and week with zeros, and measures unrounded in their units, as the page's table.
    let q = format!("service={service}&from=2026-09-07&to=2026-09-20");
    let (_, page) = {
        let r = app
            .get(&viewer, &format!("/admin/o/{org}/events?{q}"))
            .await;
        (r.status(), r.text().await.unwrap())
    };
    assert!(page.contains(&format!("/admin/o/{org}/events.csv?service={service}&amp;from=2026-09-07&amp;to=2026-09-20&amp;table=measures")), "{page}");
    let (status, counts) = csv(
        &app,
        &viewer,
        &format!("/admin/o/{org}/events.csv?{q}&table=counts"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        counts[0],
        [
            "service",
            "service_id",
            "week_of",
            "event_type",
            "event_type_code",
            "events"
        ]
    );
    let n = |ty: &str, week: &str| {
        counts[1..]
            .iter()
            .find(|r| r[4] == ty && r[2] == week)
            .map(|r| r[5].clone())
    };
    assert_eq!(n("call", "2026-09-07").as_deref(), Some("4"));
    assert_eq!(
        n("call", "2026-09-14").as_deref(),
        Some("0"),
        "weeks without events are zero"
    );
    assert_eq!(n("office_visit", "2026-09-14").as_deref(), Some("1"));
    assert_eq!(counts.len(), 5, "two types by two weeks");
    let (_, measures) = csv(
        &app,
        &viewer,
        &format!("/admin/o/{org}/events.csv?{q}&table=measures"),
    )
    .await;
    let wait = measures[1..]
        .iter()
        .find(|r| r[4] == "call" && r[6] == "wait" && r[2] == "2026-09-07")
        .unwrap();
    // Waits 60, 120, 300, 600: mean 270, median 210, 90th percentile 510 (worked in tests/app/inbox.rs).
    assert_eq!(&wait[7..], ["seconds", "4", "1080", "270", "210", "510"]);
    let (status, _) = csv(
        &app,
        &viewer,
        &format!("/admin/o/{org}/events.csv?{q}&table=bogus"),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = csv(
        &app,
        &viewer,
        &format!("/admin/o/{org}/events.csv?service={service}&from=2026-09-20&to=2026-09-07"),
    )
    .await;
    assert_eq!(status, 422);

    // A person's timeline: oldest first across kinds, for analysts and up, linked from the timeline page.
    let timeline = format!("/admin/o/{org}/people/{person}");
    let (_, page) = {
        let r = app.get(&admin, &timeline).await;
        (r.status(), r.text().await.unwrap())
    };
    assert!(page.contains("href=\"?format=csv\""));
    assert!(
        page.contains("5 items, from Sep 3, 2026"),
        "the timeline says its n and period"
    );
    let (status, t) = csv(&app, &admin, &format!("{timeline}?format=csv")).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = t[1..].iter().map(|r| cell(&t, r, "kind_code")).collect();
    assert_eq!(kinds, ["signal", "event", "event", "event", "event"]);
    assert!(cell(&t, &t[1], "text").starts_with("No entiendo"));
    assert_eq!(cell(&t, &t[2], "measures"), "transfers=1; wait=60");
    assert_eq!(cell(&t, &t[2], "what_code"), "call");
    assert_eq!(
        csv(&app, &viewer, &format!("{timeline}?format=csv"))
            .await
            .0,
        403
    );
    assert_eq!(
        csv(&app, &admin, &format!("{timeline}?format=pdf")).await.0,
        422
    );
    let b = app.sign_in(&app.b.admin_email).await;
    assert_eq!(
        csv(&app, &b, &format!("{timeline}?format=csv")).await.0,
        404
    );
    assert_eq!(
        csv(
            &app,
            &b,
            &format!("/admin/o/{}/people/{person}?format=csv", app.b.org)
        )
        .await
        .0,
        404
    );
    assert_eq!(
        csv(&app, &b, &format!("/admin/o/{org}/signals.csv"))
            .await
            .0,
        404
    );
    assert_eq!(
        csv(&app, &b, &format!("/admin/o/{org}/events.csv")).await.0,
        404
    );
});
