//! What people meet in reports and exports: days, weeks and quarters in the organization's time zone; exports that
//! open cleanly in Excel; and words, not codes, on every screen.

use crate::both_backends;
use crate::support::{Tenant, TestApp};
use serde_json::json;

/// 22:30 on Sunday, September 30, 2026 in New York: 02:30 on October 1 in UTC.
const EVENING_SEPT_30: &str = "2026-10-01T02:30:00Z";

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

/// Stores a response to the tenant's survey as if it arrived at `at_ms`, through the product's pipeline.
async fn submit_at(
    app: &TestApp,
    t: &Tenant,
    key: &str,
    answers: serde_json::Value,
    lang: heard_domain::Lang,
    at_ms: i64,
) -> heard_domain::ResponseId {
    app.store
        .submit(
            heard_server::pipeline::Pipeline::new(&[9u8; 32])
                .prepare(
                    heard_server::pipeline::Submission {
                        org_id: t.org,
                        survey_id: t.survey.id,
                        survey_version: 1,
                        service_id: t.service.id,
                        touchpoint_id: None,
                        channel: heard_domain::Channel::InPerson,
                        language: lang,
                        page_path: None,
                        idempotency_key: key.into(),
                        submitted_at: at_ms,
                        answers: answers.as_object().unwrap().clone(),
                        hidden: heard_domain::survey::HiddenAnswers::Reject,
                        keep_raw_text: false,
                    },
                    &t.survey.draft,
                )
                .unwrap(),
        )
        .await
        .unwrap()
        .id
}

async fn text(app: &TestApp, s: &crate::support::Session, path: &str) -> (u16, String) {
    let r = app.get(s, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Reads a CSV export: (header, rows), after checking and removing the byte-order mark.
fn read_csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let body = body
        .strip_prefix('\u{feff}')
        .expect("the export starts with a UTF-8 byte-order mark");
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let header = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == name || (name.starts_with('[') && h.ends_with(&format!(" {name}"))))
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    &row[i]
}

both_backends!(a_late_evening_response_counts_on_its_local_day, |app| {
    submit_at(
        &app,
        &app.a,
        "late-evening-0001",
        json!({"trust": 1, "went_well": ["ease"]}),
        heard_domain::Lang::en(),
        ms(EVENING_SEPT_30),
    )
    .await;
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let survey = app.a.survey.id;
    let matches = |html: &str| {
        html.split("<strong>")
            .nth(1)
            .and_then(|x| x.split("</strong>").next())
            .unwrap()
            .to_string()
    };
    // A filter ending September 30 finds it; one starting October 1 does not.
    let (st, html) = text(&app, &s, &format!("/admin/o/{org}/responses?to=2026-09-30")).await;
    assert_eq!((st, matches(&html).as_str()), (200, "1"));
    let (_, html) = text(
        &app,
        &s,
        &format!("/admin/o/{org}/responses?from=2026-10-01"),
    )
    .await;
    assert_eq!(matches(&html), "0");
    let (_, html) = text(
        &app,
        &s,
        &format!("/admin/o/{org}/responses?from=2026-09-30&to=2026-09-30"),
    )
    .await;
    assert_eq!(matches(&html), "1");
    // Shown at its local time.
    assert!(html.contains("Sep 30, 2026 22:30 EDT"), "{html}");
    // The urgent panel of the overview shows local times too.
    submit_at(
        &app,
        &app.a,
        "late-evening-0002",
        json!({"trust": 0, "comment": "I waited all day and I want to kill myself."}),
        heard_domain::Lang::en(),
        ms(EVENING_SEPT_30) + 60_000,
    )
    .await;
    let (_, html) = text(&app, &s, &format!("/admin/o/{org}")).await;
    assert!(html.contains(">Sep 30, 2026 22:31 EDT</a>"), "{html}");
    // It is in FY2026 Q4: on the dashboard and in the A-11 file.
    let path = format!("/admin/o/{org}/surveys/{survey}");
    let (_, html) = text(&app, &s, &format!("{path}?quarter=FY2026-Q4")).await;
    assert!(
        html.contains("Responses in FY2026-Q4</p><p class=\"heard-stat__value\">2</p>"),
        "{html}"
    );
    let (_, html) = text(&app, &s, &format!("{path}?quarter=FY2027-Q1")).await;
    assert!(html.contains("Responses in FY2027-Q1</p><p class=\"heard-stat__value\">0</p>"));
    let (_, csv) = text(&app, &s, &format!("{path}/a11-v2.csv?quarter=FY2026-Q4")).await;
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rdr.records().count(), 2, "{csv}");
    let (_, csv) = text(&app, &s, &format!("{path}/a11-v2.csv?quarter=FY2027-Q1")).await;
    assert_eq!(csv.lines().count(), 1, "{csv}");
    // The week of the trend is the local one: Monday, September 28.
    let (_, html) = text(&app, &s, &format!("{path}?quarter=FY2026-Q4")).await;
    assert!(html.contains("<th scope=\"row\">2026-09-28</th>"), "{html}");
    // Exports carry the local time with its offset.
    let (_, csv) = text(
        &app,
        &s,
        &format!("/admin/o/{org}/responses.csv?survey={survey}"),
    )
    .await;
    let (h, rows) = read_csv(&csv);
    assert_eq!(
        cell(&h, &rows[0], "submitted_at"),
        "2026-09-30T22:30:00-04:00"
    );

    // An admin moves the organization to Los Angeles: the same instant is 19:30 there.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/time-zone"),
            &[("time_zone", "America/Los_Angeles")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, csv) = text(
        &app,
        &s,
        &format!("/admin/o/{org}/responses.csv?survey={survey}"),
    )
    .await;
    let (h, rows) = read_csv(&csv);
    assert_eq!(
        cell(&h, &rows[0], "submitted_at"),
        "2026-09-30T19:30:00-07:00"
    );
    // An unknown zone is refused beside its field, and nothing changes.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/time-zone"),
            &[("time_zone", "Eastern")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"time_zone-error\""), "{html}");
    assert!(
        html.contains("&#x27;Eastern&#x27; is not a time zone name"),
        "{html}"
    );
    assert_eq!(
        app.store.org(org).await.unwrap().time_zone.name(),
        "America/Los_Angeles"
    );
    // The other organization keeps its own zone.
    assert_eq!(
        app.store.org(app.b.org).await.unwrap().time_zone.name(),
        "America/New_York"
    );
});

both_backends!(exports_open_in_excel_with_words_and_codes, |app| {
    submit_at(
        &app,
        &app.a,
        "excel-export-0001",
        json!({"trust": 0, "went_badly": ["ease", "other"], "comment": "Nadie me explicó el trámite, señor."}),
        heard_domain::Lang::es(),
        ms("2027-01-15T17:00:00Z"),
    )
    .await;
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let r = app
        .get(
            &s,
            &format!("/admin/o/{org}/responses.csv?survey={}", app.a.survey.id),
        )
        .await;
    let bytes = r.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a UTF-8 byte-order mark first"
    );
    let (h, rows) = read_csv(std::str::from_utf8(&bytes).unwrap());
    // Every header once.
    let mut sorted = h.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), h.len(), "duplicate headers in {h:?}");
    let row = &rows[0];
    // The A-11 flag and the trust question are apart; choices are words with their codes beside them.
    assert_eq!(cell(&h, row, "trust_positive"), "0");
    assert_eq!(cell(&h, row, "[trust]"), "Thumbs down (no)");
    assert_eq!(cell(&h, row, "[trust] code"), "0");
    assert_eq!(
        cell(&h, row, "[went_badly]"),
        "It was hard to do; Something else"
    );
    assert_eq!(cell(&h, row, "[went_badly] code"), "ease; other");
    assert_eq!(cell(&h, row, "channel"), "In person");
    assert_eq!(cell(&h, row, "channel_code"), "in_person");
    assert_eq!(cell(&h, row, "language"), "Spanish");
    assert_eq!(cell(&h, row, "language_code"), "es");
    assert!(cell(&h, row, "[comment]").contains("explicó el trámite, señor"));
    assert_eq!(cell(&h, row, "submitted_at"), "2027-01-15T12:00:00-05:00");

    // All surveys: one row per answer, with the question's wording, not a JSON column.
    let (_, csv) = text(&app, &s, &format!("/admin/o/{org}/responses.csv")).await;
    let (h, rows) = read_csv(&csv);
    assert!(!h.iter().any(|c| c.contains("json")), "{h:?}");
    let answers: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                cell(&h, r, "question_id"),
                cell(&h, r, "answer"),
                cell(&h, r, "answer_code"),
            )
        })
        .collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(answers.contains(&(
        "went_badly",
        "It was hard to do; Something else",
        "ease; other"
    )));
    assert!(answers.contains(&("trust", "Thumbs down (no)", "0")));
    let comment = rows
        .iter()
        .find(|r| cell(&h, r, "question_id") == "comment")
        .unwrap();
    assert!(!cell(&h, comment, "question").is_empty());
    assert_eq!(cell(&h, comment, "answer_code"), "");
});

both_backends!(people_read_words_not_codes, |app| {
    let id = submit_at(
        &app,
        &app.a,
        "words-not-codes-01",
        json!({"trust": 1, "went_well": ["ease", "efficiency"]}),
        heard_domain::Lang::es(),
        heard_store::now_ms(),
    )
    .await;
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let (st, html) = text(&app, &s, &format!("/admin/o/{org}/responses/{id}")).await;
    assert_eq!(st, 200);
    assert!(html.contains("Thumbs up (yes)"), "{html}");
    assert!(
        html.contains("It was easy; It took a reasonable amount of time"),
        "{html}"
    );
    assert!(html.contains("<dd>Spanish</dd>"), "{html}");
    assert!(html.contains("<dd>In person</dd>"), "{html}");
    assert!(
        !html.contains(">1<") && !html.contains("ease; efficiency"),
        "{html}"
    );
    let (_, html) = text(&app, &s, &format!("/admin/o/{org}/responses")).await;
    assert!(
        html.contains("<td data-label=\"Language\">Spanish</td>"),
        "{html}"
    );

    // The dashboard names indicators, channels and languages.
    let (_, html) = text(
        &app,
        &s,
        &format!("/admin/o/{org}/surveys/{}", app.a.survey.id),
    )
    .await;
    assert!(
        html.contains("<th scope=\"row\">Ease (easy to do)</th>"),
        "{html}"
    );
    assert!(html.contains("<th scope=\"row\">Spanish</th>"), "{html}");
    assert!(html.contains("<th scope=\"row\">In person</th>"), "{html}");
    assert!(html.contains("<dd>After an interaction</dd>"), "{html}");

    // Question types in words on a blank survey's editor.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/surveys"),
            &[
                ("name", "Front desk"),
                ("template", "blank"),
                ("service", &app.a.service.id.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let edit = r.headers()["location"].to_str().unwrap().to_string();
    let questions = edit.replace("/edit", "/questions");
    // A missing translation is named by its language.
    let r = app
        .post(
            &s,
            &questions,
            &[("kind", "short_text"), ("prompt_en", "Anything else?")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Question 2, “Anything else?”, has no wording in Spanish"),
        "{html}"
    );
    let r = app
        .post(
            &s,
            &questions,
            &[
                ("kind", "multiple_choice"),
                ("prompt_en", "What did you come for?"),
                ("prompt_es", "¿A qué vino?"),
                ("options_en", "A permit\nA renewal"),
                ("options_es", "Un permiso\nUna renovación"),
            ],
        )
        .await;
    let status = r.status();
    assert_eq!(status, 303, "{}", r.text().await.unwrap());
    let (_, html) = text(&app, &s, &edit).await;
    assert!(html.contains("Multiple choice"), "{html}");
    assert!(
        !html.contains("MultipleChoice") && !html.contains("“o1”"),
        "{html}"
    );

    // An empty service name is a form error on the same page, in words.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/services"),
            &[("name_en", ""), ("name_es", "Permisos")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<h1>Agency A</h1>"),
        "the overview, not an error page: {html}"
    );
    assert!(
        html.contains("Enter the service&#x27;s name in English"),
        "{html}"
    );
    assert!(
        html.contains("value=\"Permisos\""),
        "what was typed is kept"
    );
    let svc = app.a.service.id;
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/services/{svc}"),
            &[("name_en", "")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Enter the service&#x27;s name in English"),
        "{html}"
    );
    assert!(html.contains("<h2>Name and description</h2>"), "{html}");

    // A mistyped filter date is explained in words, not as a field code.
    let (st, html) = text(
        &app,
        &s,
        &format!("/admin/o/{org}/responses?from=30/09/2026"),
    )
    .await;
    assert_eq!(st, 422);
    assert!(html.contains("From: use a date like 2026-10-01"), "{html}");
    assert!(
        !html.contains("from:") && !html.contains("problem(s)"),
        "{html}"
    );

    // So is a customer count that is not a number.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/services/{svc}/volume"),
            &[("quarter", "FY2026-Q4"), ("customers", "lots")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"customers-error\">Enter a whole number of customers"),
        "{html}"
    );
    assert!(html.contains("Customers served in FY2026-Q4"), "{html}");

    // Templates in words on the overview.
    let (_, html) = text(&app, &s, &format!("/admin/o/{org}")).await;
    assert!(
        html.contains("<td data-label=\"Template\">A-11 version 2</td>"),
        "{html}"
    );

    // Roles in words.
    let (_, html) = text(&app, &s, &format!("/admin/o/{org}/members")).await;
    assert!(html.contains(" selected>Administrator</option>"), "{html}");
});

/// `heard export` writes the same format as the admin download, in the organization's zone, and starts with a
/// byte-order mark when asked (`--bom`). The storage paths are the ones the tests above run on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heard_export_writes_local_times_and_a_bom_on_request() {
    let (url, dir) = crate::support::database(crate::support::Backend::Sqlite).await;
    let dir = dir.unwrap();
    let store = heard_store::Store::open(&url, heard_store::StoreOptions::default())
        .await
        .unwrap();
    let t = crate::support::tenant(&store, "Agencia", "cli-export").await;
    store
        .set_org_time_zone(t.org, heard_domain::Zone::parse("America/Chicago").unwrap())
        .await
        .unwrap();
    let response = heard_server::pipeline::Pipeline::new(&[9u8; 32])
        .prepare(
            heard_server::pipeline::Submission {
                org_id: t.org,
                survey_id: t.survey.id,
                survey_version: 1,
                service_id: t.service.id,
                touchpoint_id: None,
                channel: heard_domain::Channel::Phone,
                language: heard_domain::Lang::es(),
                page_path: None,
                idempotency_key: "cli-export-0001".into(),
                submitted_at: ms(EVENING_SEPT_30),
                answers: json!({"trust": 1, "went_well": ["employee"]})
                    .as_object()
                    .unwrap()
                    .clone(),
                hidden: heard_domain::survey::HiddenAnswers::Reject,
                keep_raw_text: false,
            },
            &t.survey.draft,
        )
        .unwrap();
    store.submit(response).await.unwrap();
    store.close().await;
    let run = |extra: &[&str]| {
        let out = dir.path().join("out.csv");
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
            .args([
                "export",
                "--org",
                "cli-export",
                "--survey",
                &t.survey.id.to_string(),
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .arg("--data-dir")
            .arg(dir.path())
            .env("HEARD_LOG", "warn")
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(&out).unwrap()
    };
    let plain = run(&[]);
    assert!(!plain.starts_with(b"\xEF\xBB\xBF"));
    let with_bom = run(&["--bom"]);
    assert_eq!(&with_bom[3..], &plain[..]);
    let (h, rows) = read_csv(std::str::from_utf8(&with_bom).unwrap());
    assert_eq!(
        cell(&h, &rows[0], "submitted_at"),
        "2026-09-30T21:30:00-05:00"
    );
    assert_eq!(cell(&h, &rows[0], "[went_well]"), "Staff were helpful");
    assert_eq!(cell(&h, &rows[0], "[went_well] code"), "employee");
    assert_eq!(cell(&h, &rows[0], "channel"), "Phone");
}

both_backends!(organizations_are_created_in_a_chosen_time_zone, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let r = app
        .post(
            &s,
            "/admin/orgs",
            &[
                ("name", "Mountain office"),
                ("slug", "mountain"),
                ("time_zone", "Mars/Olympus"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"time_zone-error\""), "{html}");
    assert!(
        app.store.org_by_slug("mountain").await.is_err(),
        "nothing half-written"
    );
    let r = app
        .post(
            &s,
            "/admin/orgs",
            &[
                ("name", "Mountain office"),
                ("slug", "mountain"),
                ("time_zone", "America/Denver"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let org = app.store.org_by_slug("mountain").await.unwrap();
    assert_eq!(org.time_zone.name(), "America/Denver");
    // Without a choice, New York.
    let r = app
        .post(
            &s,
            "/admin/orgs",
            &[("name", "Main office"), ("slug", "main-office")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let org = app.store.org_by_slug("main-office").await.unwrap();
    assert_eq!(org.time_zone.name(), "America/New_York");
});
