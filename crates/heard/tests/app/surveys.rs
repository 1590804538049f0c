//! Issue 16's quiet slips an author or analyst cannot see, and the A-11 v2 upload file checked cell by cell against
//! fixtures computed from the standard's rules (../shared/design/A11.md and GSA/touchpoints,
//! `app/models/form.rb`, `Form#to_a11_v2_csv`; `db/seeds/forms/a11.rb` for v1's required statements).

use heard_domain::fiscal::FiscalQuarter;
use heard_domain::survey::SurveyDefinition;
use heard_domain::templates::{self, TrustScale};
use heard_domain::{Channel, Lang, ResponseId, SurveyId};
use heard_store::catalog::NewSurvey;
use serde_json::json;

use crate::both_backends;
use crate::support::{Session, TestApp};

/// The page's text with the escapes the templates add undone, so tests read what a person reads.
fn readable(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The edit form as the page would post it for `def`, unchanged, with `name` and the PRA block.
fn edit_form(def: &SurveyDefinition, name: &str) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = vec![
        ("name".into(), name.into()),
        ("transaction_point".into(), "post_interaction".into()),
    ];
    for lang in ["en", "es"] {
        let get = |t: &heard_domain::LocalizedText| t.0.get(lang).cloned().unwrap_or_default();
        f.push((format!("title_{lang}"), get(&def.title)));
        f.push((format!("intro_{lang}"), get(&def.intro)));
        f.push((format!("thank_you_{lang}"), get(&def.thank_you)));
        for q in &def.questions {
            f.push((format!("q.{}.prompt_{lang}", q.id), get(&q.prompt)));
            f.push((format!("q.{}.help_{lang}", q.id), get(&q.help)));
            for o in &q.options {
                f.push((format!("q.{}.opt.{}_{lang}", q.id, o.value), get(&o.label)));
            }
        }
    }
    if let Some(p) = &def.pra {
        f.push(("pra_omb".into(), p.omb_control_number.clone()));
        f.push(("pra_expires".into(), p.expiration_date.to_string()));
        f.push(("pra_burden_en".into(), p.burden_statement.get("en").into()));
        f.push((
            "pra_burden_es".into(),
            p.burden_statement.0.get("es").cloned().unwrap_or_default(),
        ));
    }
    f
}

fn set(form: &mut Vec<(String, String)>, key: &str, value: &str) {
    form.retain(|(k, _)| k != key);
    form.push((key.into(), value.into()));
}

async fn post_form(
    app: &TestApp,
    s: &Session,
    path: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post(s, path, &f).await
}

async fn submit(
    app: &TestApp,
    slug: &str,
    survey: SurveyId,
    key: &str,
    answers: serde_json::Value,
) {
    let r = app
        .client
        .post(format!(
            "{}/api/v1/{slug}/surveys/{survey}/responses",
            app.base
        ))
        .json(&json!({"idempotency_key": format!("surveys-{key}"), "answers": answers}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert_eq!(status, 201, "{}", r.text().await.unwrap());
}

async fn versions(app: &TestApp, survey: SurveyId) -> usize {
    app.store
        .survey_versions(app.a.org, survey)
        .await
        .unwrap()
        .len()
}

/// A survey of tenant A's service built from `def` and published once.
async fn published_survey(app: &TestApp, name: &str, def: &SurveyDefinition) -> SurveyId {
    let s = app
        .store
        .create_survey(
            NewSurvey {
                org_id: app.a.org,
                service_id: app.a.service.id,
                touchpoint_id: None,
                name,
                draft: def,
                allowed_origins: &[],
                transaction_point: "post_interaction",
            },
            1,
        )
        .await
        .unwrap();
    app.store
        .publish_survey(app.a.org, s.id, None, 2)
        .await
        .unwrap();
    s.id
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

both_backends!(a_deleted_question_id_is_never_reused, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let def = templates::blank(&app.a.service.name);
    let id = published_survey(&app, "Free-form", &def).await;
    let base = format!("/admin/o/{org}/surveys/{id}");
    let add = |kind: &'static str, prompt: &'static str, options: &'static str| {
        vec![
            ("kind".to_string(), kind.to_string()),
            ("prompt_en".into(), prompt.into()),
            ("prompt_es".into(), format!("{prompt} (es)")),
            ("options_en".into(), options.into()),
            ("options_es".into(), options.into()),
        ]
    };
    for (kind, prompt) in [
        ("short_text", "Your office?"),
        ("long_text", "What happened?"),
    ] {
        let r = post_form(
            &app,
            &s,
            &format!("{base}/questions"),
            &add(kind, prompt, ""),
        )
        .await;
        assert_eq!(r.status(), 303);
    }
    let ids: Vec<String> = app
        .store
        .survey(org, id)
        .await
        .unwrap()
        .draft
        .questions
        .iter()
        .map(|q| q.id.clone())
        .collect();
    assert_eq!(ids, ["comment", "q2", "q3"]);
    assert_eq!(
        app.post(&s, &format!("{base}/publish"), &[("confirm", "1")])
            .await
            .status(),
        303
    );
    submit(
        &app,
        &app.a.slug,
        id,
        "old-q3",
        json!({"q3": "The line was long"}),
    )
    .await;
    // Delete q3, add a choice question and publish: the new one is q4, never a second q3.
    assert_eq!(
        app.post(&s, &format!("{base}/questions/q3/delete"), &[])
            .await
            .status(),
        303
    );
    let r = post_form(
        &app,
        &s,
        &format!("{base}/questions"),
        &add("single_choice", "How did you come?", "Bus\nCar"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let draft = app.store.survey(org, id).await.unwrap().draft;
    let new = draft.questions.last().unwrap();
    assert_eq!(new.id, "q4");
    assert_eq!(
        app.post(&s, &format!("{base}/publish"), &[("confirm", "1")])
            .await
            .status(),
        303
    );
    submit(&app, &app.a.slug, id, "new-q4", json!({"q4": "o2"})).await;
    // The export keeps the two questions in two columns.
    let csv = app
        .get(&s, &format!("/admin/o/{org}/responses.csv?survey={id}"))
        .await
        .text()
        .await
        .unwrap();
    let (header, rows) = csv_rows(&csv);
    let col = |h: &str| header.iter().position(|x| x == h).unwrap();
    // Headers read as the questions' wording with their ids in brackets (issue 16 item 10).
    let (q3, q4) = (col("What happened? [q3]"), col("How did you come? [q4]"));
    let mut cells: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[q3].clone(), r[q4].clone()))
        .collect();
    cells.sort();
    // A choice is exported as its label, its code beside it (issue 16 item 10).
    assert_eq!(
        rows.iter().filter(|r| r[col("[q4] code")] == "o2").count(),
        1
    );
    assert_eq!(
        cells,
        [
            (String::new(), "Car".to_string()),
            ("The line was long".to_string(), String::new())
        ]
    );
});

both_backends!(
    publishing_an_unchanged_draft_says_so_and_makes_nothing,
    |app| {
        let s = app.sign_in(&app.a.admin_email).await;
        let (org, id) = (app.a.org, app.a.survey.id);
        assert_eq!(versions(&app, id).await, 1);
        // From the dashboard's button.
        let r = app
            .post(&s, &format!("/admin/o/{org}/surveys/{id}/publish"), &[])
            .await;
        assert_eq!(r.status(), 200);
        assert!(readable(&r.text().await.unwrap()).contains(
            "The questions have not changed since version 1, so no new version was published."
        ));
        // From the editor, saving the same texts.
        let def = app.store.survey(org, id).await.unwrap().draft;
        let mut form = edit_form(&def, "Agency A survey");
        form.push(("na_shown".into(), "1".into()));
        set(&mut form, "publish", "1");
        let r = post_form(
            &app,
            &s,
            &format!("/admin/o/{org}/surveys/{id}/edit"),
            &form,
        )
        .await;
        assert_eq!(r.status(), 200);
        // The settings were saved even though nothing was published, and the page says so.
        assert!(readable(&r.text().await.unwrap()).contains(
            "Settings saved. The questions have not changed since version 1, so no new version was published."
        ));
        assert_eq!(versions(&app, id).await, 1);
        assert_eq!(
            app.store.survey(org, id).await.unwrap().published_version,
            Some(1)
        );
    }
);

both_backends!(
    missing_translations_and_changed_trust_wording_are_listed_before_publishing,
    |app| {
        let s = app.sign_in(&app.a.admin_email).await;
        let (org, id) = (app.a.org, app.a.survey.id);
        let def = app.store.survey(org, id).await.unwrap().draft;
        let mut form = edit_form(&def, "Agency A survey");
        set(&mut form, "pra_omb", "1234-5678");
        set(&mut form, "pra_expires", "2030-12-31");
        set(&mut form, "pra_burden_en", "It takes about two minutes.");
        set(&mut form, "pra_burden_es", "");
        set(&mut form, "thank_you_es", "");
        set(&mut form, "q.trust.prompt_en", "Do you trust us?");
        set(&mut form, "publish", "1");
        let r = post_form(
            &app,
            &s,
            &format!("/admin/o/{org}/surveys/{id}/edit"),
            &form,
        )
        .await;
        assert_eq!(r.status(), 200);
        let page = readable(&r.text().await.unwrap());
        assert!(page.contains("Check before you publish"), "{page}");
        assert!(page.contains(
        "No Spanish translation of the burden statement (Paperwork Reduction Act): the Spanish page will show another language's wording instead."
    ));
        assert!(page.contains("No Spanish translation of the thank-you message"));
        assert!(page.contains("The “Trust” question's English wording differs from A-11's"));
        assert!(page.contains("href=\"#pra_burden_es\""));
        assert!(page.contains("Publish anyway"));
        // Saved, not published.
        assert_eq!(versions(&app, id).await, 1);
        // The editor lists them whenever the author opens it.
        let edit = readable(
            &app.get(&s, &format!("/admin/o/{org}/surveys/{id}/edit"))
                .await
                .text()
                .await
                .unwrap(),
        );
        assert!(edit.contains("No Spanish translation of the burden statement"));
        assert!(!edit.contains("Publish anyway"));
        // The author may publish anyway.
        let r = app
            .post(
                &s,
                &format!("/admin/o/{org}/surveys/{id}/publish"),
                &[("confirm", "1")],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(versions(&app, id).await, 2);
        let v2 = app
            .store
            .survey_version(org, id, 2)
            .await
            .unwrap()
            .definition;
        assert_eq!(v2.questions[0].prompt.get("en"), "Do you trust us?");
        // Publishing again: nothing changed, so nothing to confirm either.
        let r = app
            .post(&s, &format!("/admin/o/{org}/surveys/{id}/publish"), &[])
            .await;
        let page = readable(&r.text().await.unwrap());
        assert!(page.contains(
            "The questions have not changed since version 2, so no new version was published."
        ));
        assert!(!page.contains("Publish anyway"));
        assert_eq!(versions(&app, id).await, 2);
    }
);

both_backends!(the_a11_v2_file_matches_the_reference_cell_by_cell, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let (org, id, slug) = (app.a.org, app.a.survey.id, app.a.slug.clone());
    // Version 1 (thumbs, all seven indicators offered).
    submit(
        &app,
        &slug,
        id,
        "v2-a",
        json!({"trust": 1, "went_well": ["ease", "effectiveness"]}),
    )
    .await;
    submit(
        &app,
        &slug,
        id,
        "v2-b",
        json!({"trust": 0, "went_badly": ["efficiency"], "comment": "=2+3 -fine +ok @all, write ana@example.gov"}),
    )
    .await;
    // The agency marks humanity and employee not applicable and publishes version 2.
    let def = app.store.survey(org, id).await.unwrap().draft;
    let mut form = edit_form(&def, "Agency A survey");
    form.push(("na_shown".into(), "1".into()));
    form.push(("na_humanity".into(), "on".into()));
    form.push(("na_employee".into(), "on".into()));
    set(&mut form, "publish", "1");
    let r = post_form(
        &app,
        &s,
        &format!("/admin/o/{org}/surveys/{id}/edit"),
        &form,
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let v2 = app
        .store
        .survey_version(org, id, 2)
        .await
        .unwrap()
        .definition;
    assert_eq!(templates::not_applicable(&v2), ["humanity", "employee"]);
    // The editor shows the boxes ticked.
    let edit = app
        .get(&s, &format!("/admin/o/{org}/surveys/{id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains("name=\"na_humanity\" aria-describedby=\"na-hint\" checked"));
    submit(
        &app,
        &slug,
        id,
        "v2-c",
        json!({"trust": 1, "went_well": ["other"]}),
    )
    .await;
    // Effectiveness and ease cannot be marked not applicable.
    let mut bad = edit_form(&v2, "Agency A survey");
    bad.push(("na_shown".into(), "1".into()));
    bad.push(("na_ease".into(), "on".into()));
    let r = post_form(&app, &s, &format!("/admin/o/{org}/surveys/{id}/edit"), &bad).await;
    assert_eq!(r.status(), 422);

    // A 5-point v2 survey writes the value.
    let scale = published_survey(
        &app,
        "Scale",
        &templates::a11_v2(&app.a.service.name, TrustScale::Agreement5),
    )
    .await;
    submit(
        &app,
        &slug,
        scale,
        "v2-d",
        json!({"trust": 4, "went_well": ["ease"]}),
    )
    .await;
    submit(&app, &slug, scale, "v2-e", json!({"trust": 2})).await;
    // Bidirectional controls are invisible formatting, not text: the A-11 file drops them like the other exports.
    submit(
        &app,
        &slug,
        scale,
        "v2-f",
        json!({"trust": 3, "comment": "slow \u{202E}enil\u{202C} line"}),
    )
    .await;

    let quarter = FiscalQuarter::containing(chrono::Utc::now().date_naive());
    let file = |survey: SurveyId| {
        let (app, s) = (&app, &s);
        async move {
            let r = app
                .get(
                    s,
                    &format!("/admin/o/{org}/surveys/{survey}/a11-v2.csv?quarter={quarter}"),
                )
                .await;
            assert_eq!(r.status(), 200);
            csv_rows(&r.text().await.unwrap())
        }
    };
    let (header, rows) = file(id).await;
    assert_eq!(header[1], "question_1");
    // Cells 1.. of each row (external_id is the response id), computed from the rules: 1 chosen, 0 offered by the
    // question whichever side was shown, null only where marked not applicable; trust as given; comment as stored.
    let tail = |r: &Vec<String>| r[1..].join(",");
    let got: Vec<String> = rows.iter().map(tail).collect();
    let expected = [
        "1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,",
        "0,0,0,0,0,0,0,0,0,0,1,0,0,0,0,=2+3 -fine +ok @all, write <EMAIL_ADDRESS>",
        "1,0,0,0,0,null,null,1,0,0,0,0,null,null,0,",
    ];
    assert_eq!(got.len(), 3, "{got:?}");
    for e in expected {
        assert!(got.iter().any(|g| g == e), "{e} not in {got:?}");
    }
    let (_, rows) = file(scale).await;
    let got: Vec<String> = rows.iter().map(tail).collect();
    for e in [
        "4,0,1,0,0,0,0,0,0,0,0,0,0,0,0,",
        "2,0,0,0,0,0,0,0,0,0,0,0,0,0,0,",
        "3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,slow enil line",
    ] {
        assert!(got.iter().any(|g| g == e), "{e} not in {got:?}");
    }
    // The dashboard says how Heard's file differs.
    let dash = readable(
        &app.get(&s, &format!("/admin/o/{org}/surveys/{id}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(dash.contains("a11-v2.csv") && dash.contains("<EMAIL_ADDRESS>"));

    // A v1 survey: only satisfaction and trust are required, and it has no v2 file.
    let v1 = published_survey(&app, "Version 1", &templates::a11_v1(&app.a.service.name)).await;
    submit(
        &app,
        &slug,
        v1,
        "v1-a",
        json!({"satisfaction": 4, "trust": 5}),
    )
    .await;
    let r = app
        .get(
            &s,
            &format!("/admin/o/{org}/surveys/{v1}/a11-v2.csv?quarter={quarter}"),
        )
        .await;
    assert_eq!(r.status(), 409);
    let dash = app
        .get(&s, &format!("/admin/o/{org}/surveys/{v1}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!dash.contains("a11-v2.csv"));
    let blank = published_survey(&app, "Blank", &templates::blank(&app.a.service.name)).await;
    let r = app
        .get(
            &s,
            &format!("/admin/o/{org}/surveys/{blank}/a11-v2.csv?quarter={quarter}"),
        )
        .await;
    assert_eq!(r.status(), 409);
    let dash = app
        .get(&s, &format!("/admin/o/{org}/surveys/{blank}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!dash.contains("a11-v2.csv") && !dash.contains("A-11 quarterly collection"));
});

both_backends!(
    a_services_a11_figures_count_a11_surveys_and_flag_impossible_volumes,
    |app| {
        let s = app.sign_in(&app.a.admin_email).await;
        let (org, slug) = (app.a.org, app.a.slug.clone());
        let svc = app.a.service.id;
        let today = chrono::Utc::now().date_naive();
        let quarter = FiscalQuarter::containing(today);
        let day = today
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp()
            .div_euclid(86_400);
        // The A-11 survey: 10 offered, 3 respondents.
        app.store
            .record_display(org, app.a.survey.id, Channel::Website, day, 10)
            .await
            .unwrap();
        for i in 0..3 {
            submit(
                &app,
                &slug,
                app.a.survey.id,
                &format!("a11-{i}"),
                json!({"trust": 1}),
            )
            .await;
        }
        // A v1 survey: its respondents count toward A-11's response rate, but its "confidence" statement is not v2's
        // trust question, so its answers stay out of the service's trust figure.
        let v1 = published_survey(&app, "Version 1", &templates::a11_v1(&app.a.service.name)).await;
        for i in 0..3 {
            submit(
                &app,
                &slug,
                v1,
                &format!("v1-{i}"),
                json!({"satisfaction": 2, "trust": 1}),
            )
            .await;
        }
        // A blank survey answered through the API, with no display counted.
        let blank = published_survey(&app, "Blank", &templates::blank(&app.a.service.name)).await;
        for i in 0..28 {
            submit(
                &app,
                &slug,
                blank,
                &format!("blank-{i}"),
                json!({"comment": "Fine"}),
            )
            .await;
        }
        let page = |path: String| {
            let (app, s) = (&app, &s);
            async move { readable(&app.get(s, &path).await.text().await.unwrap()) }
        };
        let service = page(format!("/admin/o/{org}/services/{svc}?quarter={quarter}")).await;
        // 6 / 10, not 34 / 10 = 340%.
        assert!(service.contains("60.0%"), "{service}");
        assert!(!service.contains("340.0%"));
        // Trust: the three v2 thumbs up, not pooled with the v1 answers.
        assert!(
            service.contains("95% interval 44% to 100%, 3 answers"),
            "{service}"
        );
        assert!(service.contains("Trust counts the A-11 version 2 surveys' trust question only"));
        assert!(service.contains("No (not an A-11 survey)"));
        assert!(!service.contains("customers-warning"));
        // Two customers served for six A-11 respondents cannot be right: said on the service page and the dashboard.
        let r = app
            .post(
                &s,
                &format!("/admin/o/{org}/services/{svc}/volume"),
                &[("quarter", &quarter.to_string()), ("customers", "2")],
            )
            .await;
        assert_eq!(r.status(), 303);
        let service = page(format!("/admin/o/{org}/services/{svc}?quarter={quarter}")).await;
        assert!(service.contains("customers-warning"), "{service}");
        assert!(service.contains("(2) are fewer than the 6 respondents"));
        let dash = page(format!(
            "/admin/o/{org}/surveys/{}?quarter={quarter}",
            app.a.survey.id
        ))
        .await;
        assert!(
            dash.contains("(2) are fewer than the 3 respondents"),
            "{dash}"
        );
        // Not a 0-width interval: 3 of 3 positive without the correction is 44% to 100%.
        assert!(dash.contains("95% interval 44% to 100%"), "{dash}");
    }
);

both_backends!(
    every_figure_on_a_dashboard_follows_the_quarter_chosen,
    |app| {
        let s = app.sign_in(&app.a.admin_email).await;
        let (org, id) = (app.a.org, app.a.survey.id);
        let quarter = FiscalQuarter::containing(chrono::Utc::now().date_naive());
        let before = quarter.previous();
        // One response in the middle of the previous quarter, stored as the pipeline would.
        let mid = before
            .start()
            .checked_add_days(chrono::Days::new(40))
            .unwrap();
        let at = mid
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let mut answers = heard_domain::response::Answers::new();
        answers.insert(
            "trust".into(),
            heard_domain::response::AnswerValue::Number(1),
        );
        app.store
            .submit(heard_domain::response::NewResponse {
                id: ResponseId::new(),
                org_id: org,
                survey_id: id,
                survey_version: 1,
                service_id: app.a.service.id,
                touchpoint_id: None,
                channel: Channel::Website,
                language: Lang::en(),
                page_path: None,
                submitted_at: at,
                idempotency_key: "last-quarter".into(),
                request_fingerprint: heard_domain::idempotency::RequestFingerprint::from_hex(
                    "last-quarter",
                ),
                answers,
                trust: Some(1),
                trust_positive: Some(true),
                person_key: None,
                contacts: vec![],
                enrichment: None,
                sentiment: None,
                themes: vec![],
                urgent: false,
                raw_texts: vec![],
            })
            .await
            .unwrap();
        submit(&app, &app.a.slug, id, "this-quarter", json!({"trust": 0})).await;
        let week = |d: chrono::NaiveDate| {
            use chrono::Datelike;
            d.checked_sub_days(chrono::Days::new(u64::from(
                d.weekday().num_days_from_monday(),
            )))
            .unwrap()
            .to_string()
        };
        for path in [
            format!("/admin/o/{org}/surveys/{id}?quarter={quarter}"),
            format!(
                "/admin/o/{org}/services/{}?quarter={quarter}",
                app.a.service.id
            ),
        ] {
            let html = readable(&app.get(&s, &path).await.text().await.unwrap());
            // The trend is the chosen quarter's weeks: from the week of its first day, and not last quarter's.
            assert!(
                html.contains(&format!("<th scope=\"row\">{}</th>", week(quarter.start()))),
                "{path}"
            );
            assert!(
                !html.contains(&week(mid)),
                "{path}: last quarter's week is in the trend"
            );
            assert!(
                html.contains("Weekly trust, ") && html.contains(&format!(", {quarter}</title>"))
            );
            // No all-time count beside the quarter's.
            assert!(!html.contains(" in all<"), "{path}");
        }
        // The previous quarter shows its own week, and not this one's.
        let html = readable(
            &app.get(&s, &format!("/admin/o/{org}/surveys/{id}?quarter={before}"))
                .await
                .text()
                .await
                .unwrap(),
        );
        assert!(html.contains(&format!("<th scope=\"row\">{}</th>", week(mid))));
    }
);

// A question's wording left blank in Spanish blocks saving, and the block and the page agree: the error names the
// question by number and wording, and no warning says the Spanish page would show another language instead.
both_backends!(
    a_blank_spanish_question_is_named_and_blocked_in_one_voice,
    |app| {
        let s = app.sign_in(&app.a.admin_email).await;
        let (org, id) = (app.a.org, app.a.survey.id);
        let def = app.store.survey(org, id).await.unwrap().draft;
        let mut form = edit_form(&def, "Agency A survey");
        form.push(("na_shown".into(), "1".into()));
        let q1 = &def.questions[0];
        set(&mut form, &format!("q.{}.prompt_es", q1.id), "");
        set(&mut form, "publish", "1");
        let r = post_form(
            &app,
            &s,
            &format!("/admin/o/{org}/surveys/{id}/edit"),
            &form,
        )
        .await;
        assert_eq!(r.status(), 422);
        let page = readable(&r.text().await.unwrap());
        let expected = format!(
            "Question 1, “{}”, has no wording in Spanish: write it in Spanish before saving, since every question is asked in each language of the survey",
            q1.prompt.get("en")
        );
        assert!(page.contains(&expected), "{page}");
        assert!(!page.contains("the question has no wording"), "{page}");
        assert!(!page.contains("another language's wording"), "{page}");
    }
);
