//! The admin as staff use it: sign-in defences, building and publishing surveys, sharing, exports, roles.

use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, PASSWORD, spawn_app};

#[tokio::test]
async fn sign_in_is_throttled_and_forms_need_their_csrf_token() {
    let app = spawn_app(Backend::Sqlite).await;
    let login = |password: &'static str| {
        let app = &app;
        async move {
            let page = app
                .client
                .get(format!("{}/admin/login", app.base))
                .send()
                .await
                .unwrap();
            let cookie = page.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string();
            let csrf = cookie.split_once('=').unwrap().1.to_string();
            app.client
                .post(format!("{}/admin/login", app.base))
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", app.a.admin_email.as_str()),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(login("wrong password!!").await, 401);
    }
    assert_eq!(
        login(PASSWORD).await,
        429,
        "locked out after five failures, even with the right password"
    );
    // A form without the session's CSRF token is refused.
    let app2 = spawn_app(Backend::Sqlite).await;
    let s = app2.sign_in(&app2.a.admin_email).await;
    let r = app2
        .client
        .post(format!("{}/admin/o/{}/services", app2.base, app2.a.org))
        .header("cookie", &s.cookie)
        .form(&[("csrf", "forged"), ("name_en", "Sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app2.store.services(app2.a.org).await.unwrap().len(), 1);
    // Signed out, the session no longer works.
    let r = app2.post(&s, "/admin/logout", &[]).await;
    assert_eq!(r.status(), 303);
    let r = app2.get(&s, &format!("/admin/o/{}", app2.a.org)).await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/admin/login")
    );
}

both_backends!(staff_build_translate_publish_and_share_a_survey, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let page = app.get(&s, &format!("/admin/o/{org}")).await;
    let h = page.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(h["x-frame-options"], "DENY");
    let svc = app.a.service.id.to_string();
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/surveys"),
            &[
                ("name", "Office exit survey"),
                ("template", "a11_v1"),
                ("service", &svc),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let edit = r.headers()["location"].to_str().unwrap().to_string();
    let survey_id: heard_domain::SurveyId = edit.split('/').nth(5).unwrap().parse().unwrap();
    let survey = app.store.survey(org, survey_id).await.unwrap();
    assert_eq!(
        survey.draft.questions.len(),
        9,
        "A-11 v1 has seven drivers and two comments"
    );
    // Edit the Spanish wording and the PRA block, then publish.
    let mut form: Vec<(String, String)> = vec![
        ("name".into(), "Office exit survey".into()),
        ("transaction_point".into(), "post_interaction".into()),
        ("title_en".into(), "How was your visit?".into()),
        ("title_es".into(), "¿Cómo fue su visita?".into()),
        ("pra_omb".into(), "1234-5678".into()),
        ("pra_expires".into(), "2030-12-31".into()),
        ("pra_burden_en".into(), "It takes two minutes.".into()),
        ("publish".into(), "1".into()),
        // The introduction, thank-you message and burden statement have no Spanish: publish anyway.
        ("confirm".into(), "1".into()),
    ];
    for q in &survey.draft.questions {
        form.push((format!("q.{}.prompt_en", q.id), q.prompt.get("en").into()));
        form.push((
            format!("q.{}.prompt_es", q.id),
            format!("{} (revisado)", q.prompt.get("es")),
        ));
    }
    let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = app
        .post(&s, &format!("/admin/o/{org}/surveys/{survey_id}/edit"), &f)
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let survey = app.store.survey(org, survey_id).await.unwrap();
    assert_eq!(survey.published_version, Some(1));
    let public = app
        .client
        .get(format!("{}/s/{}/{survey_id}?lang=es", app.base, app.a.slug))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        public.contains("¿Cómo fue su visita?")
            && public.contains("(revisado)")
            && public.contains("OMB")
    );
    // A bad OMB number is refused with the field named, and nothing changes.
    let r = app
        .post(
            &s,
            &format!("/admin/o/{org}/surveys/{survey_id}/edit"),
            &[
                ("name", "x"),
                ("transaction_point", "relational"),
                ("title_en", "T"),
                ("pra_omb", "12"),
                ("pra_expires", "2030-01-01"),
                ("pra_burden_en", "b"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("the OMB control number looks like 1234-5678")
    );
    assert_eq!(
        app.store.survey(org, survey_id).await.unwrap().name,
        "Office exit survey"
    );
    // Share: link page, QR codes in SVG and PNG.
    let share = app
        .get(&s, &format!("/admin/o/{org}/surveys/{survey_id}/share"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(
        share.contains(&format!("/s/{}/{survey_id}", app.a.slug)),
        "{share}"
    );
    let svg = app
        .get(&s, &format!("/admin/o/{org}/surveys/{survey_id}/qr.svg"))
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let png = app
        .get(&s, &format!("/admin/o/{org}/surveys/{survey_id}/qr.png"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    // The dashboard renders for the new survey and for the service.
    assert_eq!(
        app.get(&s, &format!("/admin/o/{org}/surveys/{survey_id}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get(&s, &format!("/admin/o/{org}/services/{svc}"))
            .await
            .status(),
        200
    );
});

both_backends!(the_csv_export_streams_every_row, |app| {
    let n = 2_345;
    let mut tasks = Vec::new();
    for i in 0..n {
        let (client, url) = (app.client.clone(), app.submit_url(&app.a));
        tasks.push(tokio::spawn(async move {
            let body = json!({"idempotency_key": format!("export-{i:06}"), "answers": {"trust": i % 2, "comment": "=SUM(A1:A9) should not run"}});
            client.post(url).json(&body).send().await.unwrap().status().as_u16()
        }));
        if tasks.len() == 64 {
            for t in tasks.drain(..) {
                assert_eq!(t.await.unwrap(), 201);
            }
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let s = app.sign_in(&app.a.admin_email).await;
    let csv = app
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
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let header = rdr.headers().unwrap().clone();
    // Question columns end with their ids in brackets.
    assert!(
        header.iter().any(|h| h.ends_with(" [trust]"))
            && header.iter().any(|h| h.ends_with(" [went_well]"))
    );
    let rows: Vec<_> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), n);
    let comment = header
        .iter()
        .position(|h| h.ends_with(" [comment]"))
        .unwrap();
    assert!(
        rows.iter().all(|r| r[comment].starts_with("'=")),
        "formulas are defused"
    );
    // A viewer may read responses but not export them.
    let hash = heard_server::auth::hash_password(PASSWORD).unwrap();
    let viewer = app
        .store
        .create_user("viewer@agency-a.example.gov", "Viewer", &hash, 1)
        .await
        .unwrap();
    app.store
        .set_membership(app.a.org, viewer.id, heard_domain::Role::Viewer, 1)
        .await
        .unwrap();
    let v = app.sign_in("viewer@agency-a.example.gov").await;
    assert_eq!(
        app.get(&v, &format!("/admin/o/{}/responses", app.a.org))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get(&v, &format!("/admin/o/{}/responses.csv", app.a.org))
            .await
            .status(),
        403
    );
});

both_backends!(
    the_dashboard_and_the_a11_v2_file_show_what_was_submitted,
    |app| {
        let answers = [
            json!({"trust": 1, "went_well": ["ease", "efficiency"], "comment": "Quick."}),
            json!({"trust": 1}),
            json!({"trust": 0, "went_badly": ["efficiency"], "comment": "Too slow"}),
        ];
        for (i, a) in answers.iter().enumerate() {
            let body = json!({"idempotency_key": format!("a11-file-{i:04}"), "answers": a});
            assert_eq!(
                app.client
                    .post(app.submit_url(&app.a))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status(),
                201
            );
        }
        let s = app.sign_in(&app.a.admin_email).await;
        let quarter =
            heard_domain::fiscal::FiscalQuarter::containing(chrono::Utc::now().date_naive());
        let path = format!("/admin/o/{}/surveys/{}", app.a.org, app.a.survey.id);
        let html = app
            .get(&s, &format!("{path}?quarter={quarter}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("67%"),
            "two of three trust answers are positive"
        );
        let csv = app
            .get(&s, &format!("{path}/a11-v2.csv?quarter={quarter}"))
            .await
            .text()
            .await
            .unwrap();
        let mut rdr = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(header.len(), 17);
        assert_eq!(
            &header[..3],
            ["external_id", "question_1", "positive_effectiveness"]
        );
        let rows: Vec<Vec<String>> = rdr
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(rows.len(), 3);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let by_trust: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r[col("question_1")].as_str(),
                    r[col("positive_ease")].as_str(),
                    r[col("positive_effectiveness")].as_str(),
                    r[col("negative_efficiency")].as_str(),
                )
            })
            .collect();
        // The side a respondent was not shown is 0 (offered by the survey, not chosen), as in the file agencies
        // upload today; `null` is only for an indicator marked not applicable.
        assert!(by_trust.contains(&("1", "1", "0", "0")), "{by_trust:?}");
        assert!(by_trust.contains(&("1", "0", "0", "0")), "{by_trust:?}");
        assert!(by_trust.contains(&("0", "0", "0", "1")), "{by_trust:?}");
        // Another quarter has nothing.
        let csv = app
            .get(
                &s,
                &format!("{path}/a11-v2.csv?quarter={}", quarter.previous()),
            )
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(csv.lines().count(), 1);
        let r = app.get(&s, &format!("{path}?quarter=2027Q1")).await;
        assert_eq!(r.status(), 422);
    }
);
