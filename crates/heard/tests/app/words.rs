//! Words people read: error messages that say how to put things right, and exports that read without a code book
//! (issue 16, items 10, 11, 15, 16 and 19, as a tester met them).

use serde_json::json;

/// `heard export --format ndjson` writes times as the CSV does (ISO 8601 with the organization's offset, the
/// milliseconds kept beside them), and refuses `--bom`, which only a CSV can carry, rather than ignoring it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heard_export_ndjson_has_local_times_and_refuses_a_bom() {
    let (url, dir) = crate::support::database(crate::support::Backend::Sqlite).await;
    let dir = dir.unwrap();
    let store = heard_store::Store::open(&url, heard_store::StoreOptions::default())
        .await
        .unwrap();
    let t = crate::support::tenant(&store, "Agencia", "cli-ndjson").await;
    store
        .set_org_time_zone(t.org, heard_domain::Zone::parse("America/Chicago").unwrap())
        .await
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-10-01T02:30:00Z")
        .unwrap()
        .timestamp_millis();
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
                idempotency_key: "cli-ndjson-0001".into(),
                submitted_at: at,
                answers: json!({"trust": 1}).as_object().unwrap().clone(),
                hidden: heard_domain::survey::HiddenAnswers::Reject,
                keep_raw_text: false,
            },
            &t.survey.draft,
        )
        .unwrap();
    store.submit(response).await.unwrap();
    store.close().await;
    let out = dir.path().join("out.ndjson");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_heard"))
            .args([
                "export",
                "--org",
                "cli-ndjson",
                "--format",
                "ndjson",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .arg("--data-dir")
            .arg(dir.path())
            .env("HEARD_LOG", "warn")
            .output()
            .unwrap()
    };
    let refused = run(&["--bom"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--bom") && err.contains("CSV"), "{err}");
    let ok = run(&[]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["submitted_at"], "2026-09-30T21:30:00-05:00");
    assert_eq!(line["submitted_at_ms"], at);
}

/// Strips tags and entities' most common forms, and squeezes whitespace, so assertions read like the page.
fn readable(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

// A name too long is refused saying how long it may be, not asking for a name that was given.
crate::both_backends!(a_too_long_service_name_says_how_long_it_may_be, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let long = "a".repeat(9000);
    let r = app
        .post(
            &s,
            &format!("/admin/o/{}/services", app.a.org),
            &[("name_en", long.as_str())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = readable(&r.text().await.unwrap());
    assert!(
        page.contains("The service's name in English is 9000 characters long; shorten it to 200 characters or fewer"),
        "{page}"
    );
    assert!(
        !page.contains("Enter the service's name in English"),
        "{page}"
    );
});

// A refused character in a field the page does not show (an unknown question) is dropped silently, as the server
// drops answers it does not ask for: the person is never asked to fix what they cannot see, and no "None" shows.
crate::both_backends!(
    a_control_character_in_an_unknown_question_is_dropped,
    |app| {
        let r = app
            .client
            .post(format!("{}/s/{}/{}", app.base, app.a.slug, app.a.survey.id))
            .form(&[
                ("idempotency_key", "words-unknown-0001"),
                ("lang", "es"),
                ("q.trust", "1"),
                ("q.nonexistent", "x\u{1}"),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let page = readable(&r.text().await.unwrap());
        assert!(!page.contains("None"), "{page}");
        assert!(status == 303 || status == 200, "{status} {page}");
        assert!(!page.contains("hidden character"), "{page}");
    }
);

// The per-survey CSV names the touchpoint in words beside its id, and the sentiment in words beside its code, like
// the other label and code pairs.
crate::both_backends!(the_export_has_touchpoint_and_sentiment_in_words, |app| {
    let tp = app
        .store
        .create_touchpoint(
            app.a.org,
            app.a.service.id,
            &heard_domain::LocalizedText::new("Front desk", "Recepción"),
            heard_domain::Channel::InPerson,
            1,
        )
        .await
        .unwrap();
    let response = heard_server::pipeline::Pipeline::new(&[9u8; 32])
        .prepare(
            heard_server::pipeline::Submission {
                org_id: app.a.org,
                survey_id: app.a.survey.id,
                survey_version: 1,
                service_id: app.a.service.id,
                touchpoint_id: Some(tp.id),
                channel: heard_domain::Channel::InPerson,
                language: heard_domain::Lang::en(),
                page_path: None,
                idempotency_key: "words-tp-0001".into(),
                submitted_at: 1_790_000_000_000,
                answers: json!({"trust": 0, "comment": "Terrible, rude and slow. I hated it."})
                    .as_object()
                    .unwrap()
                    .clone(),
                hidden: heard_domain::survey::HiddenAnswers::Reject,
                keep_raw_text: false,
            },
            &app.a.survey.draft,
        )
        .unwrap();
    app.store.submit(response).await.unwrap();
    let s = app.sign_in(&app.a.admin_email).await;
    let body = app
        .get(
            &s,
            &format!(
                "/admin/o/{}/responses.csv?survey={}",
                app.a.org, app.a.survey.id
            ),
        )
        .await
        .text()
        .await
        .unwrap();
    let body = body.trim_start_matches('\u{feff}');
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let row: Vec<String> = rdr
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let cell = |name: &str| {
        let i = h
            .iter()
            .position(|x| x == name)
            .unwrap_or_else(|| panic!("no {name} in {h:?}"));
        row[i].clone()
    };
    assert_eq!(cell("touchpoint"), "Front desk");
    assert_eq!(cell("touchpoint_id"), tp.id.to_string());
    assert_eq!(cell("sentiment"), "Negative");
    assert_eq!(cell("sentiment_code"), "negative");
});

// The embed page tells staff to fill hidden questions by id, so it lists each hidden question's id (and the editor
// shows it beside the question).
crate::both_backends!(the_embed_page_and_editor_show_hidden_question_ids, |app| {
    use heard_domain::survey::{Question, QuestionKind};
    let mut def = heard_domain::templates::blank(&app.a.service.name);
    def.questions.push(Question {
        id: "q6".into(),
        kind: QuestionKind::Hidden,
        prompt: heard_domain::LocalizedText::default(),
        help: heard_domain::LocalizedText::default(),
        required: false,
        options: vec![],
        show_if: None,
        a11: None,
        characteristic: None,
    });
    let survey = app
        .store
        .create_survey(
            heard_store::catalog::NewSurvey {
                org_id: app.a.org,
                service_id: app.a.service.id,
                touchpoint_id: None,
                name: "With a hidden question",
                draft: &def,
                allowed_origins: &[],
                transaction_point: "post_interaction",
            },
            1,
        )
        .await
        .unwrap();
    app.store
        .publish_survey(app.a.org, survey.id, None, 2)
        .await
        .unwrap();
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let embed = app
        .get(&s, &format!("/admin/o/{org}/surveys/{}/embed", survey.id))
        .await
        .text()
        .await
        .unwrap();
    let embed = readable(&embed);
    assert!(
        embed.contains("Hidden questions of this survey: q6 (question 2)"),
        "{embed}"
    );
    let edit = app
        .get(&s, &format!("/admin/o/{org}/surveys/{}/edit", survey.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        readable(&edit).contains("filled by the page, id q6"),
        "{edit}"
    );
});

// A refused character in a hidden question (filled from the page's address, never typed) is dropped silently: the
// Spanish page does not show the question's English wording nor ask the person to fix it.
crate::both_backends!(a_control_character_in_a_hidden_question_is_dropped, |app| {
    use heard_domain::survey::{Question, QuestionKind};
    let mut def = heard_domain::templates::blank(&app.a.service.name);
    def.questions.push(Question {
        id: "q6".into(),
        kind: QuestionKind::Hidden,
        prompt: heard_domain::LocalizedText::en_only("Case number"),
        help: heard_domain::LocalizedText::default(),
        required: false,
        options: vec![],
        show_if: None,
        a11: None,
        characteristic: None,
    });
    let survey = app
        .store
        .create_survey(
            heard_store::catalog::NewSurvey {
                org_id: app.a.org,
                service_id: app.a.service.id,
                touchpoint_id: None,
                name: "Hidden case number",
                draft: &def,
                allowed_origins: &[],
                transaction_point: "post_interaction",
            },
            1,
        )
        .await
        .unwrap();
    app.store
        .publish_survey(app.a.org, survey.id, None, 2)
        .await
        .unwrap();
    let r = app
        .client
        .post(format!("{}/s/{}/{}", app.base, app.a.slug, survey.id))
        .form(&[
            ("idempotency_key", "words-hidden-0001"),
            ("lang", "es"),
            ("q.comment", "Bien"),
            ("q.q6", "A-12\u{1}"),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let page = readable(&r.text().await.unwrap());
    assert_ne!(status, 422, "{page}");
    assert!(!page.contains("Case number"), "{page}");
});

// An invitation opened by someone with an account, not signed in, reads as one sentence: the full stop is not cut
// off from its words by the link's end, which text readers that break at elements showed as "decline .".
crate::both_backends!(the_invitation_page_reads_without_a_stray_space, |app| {
    let admin = app.sign_in(&app.a.admin_email).await;
    let r = app
        .post(
            &admin,
            &format!("/admin/o/{}/invitations", app.a.org),
            &[("email", app.b.admin_email.as_str()), ("role", "analyst")],
        )
        .await;
    let html = r.text().await.unwrap().replace("&#x2f;", "/");
    let path = html
        .split(&format!("{}/admin/invite/", app.base))
        .nth(1)
        .map(|s| format!("/admin/invite/{}", s.split(['"', '<', ' ']).next().unwrap()))
        .expect("an invitation link");
    let page = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("</a>."), "{page}");
    let page = readable(&page);
    assert!(page.contains("Sign in to accept or decline."), "{page}");
});
