//! Tenant isolation: a signed-in admin of organization A walks every admin route with organization B's ids and is
//! refused every time; B's data is unchanged afterwards.

use crate::both_backends;

both_backends!(every_admin_route_refuses_another_organizations_ids, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let b_resp = app
        .store
        .submit(
            heard_server::pipeline::Pipeline::new(&[9u8; 32])
                .prepare(
                    heard_server::pipeline::Submission {
                        org_id: app.b.org,
                        survey_id: app.b.survey.id,
                        survey_version: 1,
                        service_id: app.b.service.id,
                        touchpoint_id: None,
                        channel: heard_domain::Channel::Website,
                        language: heard_domain::Lang::en(),
                        page_path: None,
                        idempotency_key: "tenant-b-000001".into(),
                        submitted_at: heard_store::now_ms(),
                        answers: serde_json::json!({"trust": 0, "comment": "B's secret comment"})
                            .as_object()
                            .unwrap()
                            .clone(),
                        hidden: heard_domain::survey::HiddenAnswers::Reject,
                        keep_raw_text: false,
                    },
                    &app.b.survey.draft,
                )
                .unwrap(),
        )
        .await
        .unwrap();
    let (a, b) = (app.a.org, app.b.org);
    // B's admin and an invitation of B's, to name in A's member routes.
    let b_admin = app.store.user_by_email(&app.b.admin_email).await.unwrap();
    let b_inv = app
        .store
        .create_invitation(
            b,
            "someone@agency-b.example.gov",
            heard_domain::Role::Viewer,
            b"b-invitation-token-hash",
            b_admin.id,
            1,
            i64::MAX,
        )
        .await
        .unwrap();
    let (bu, bemail) = (b_admin.id, app.b.admin_email.clone());
    let (bs, bsv, br) = (app.b.survey.id, app.b.service.id, b_resp.id);
    // Every GET route, first inside B's organization, then inside A's with B's object ids.
    let gets = |org: String| {
        vec![
            format!("/admin/o/{org}"),
            format!("/admin/o/{org}/members"),
            format!("/admin/o/{org}/services/{bsv}"),
            format!("/admin/o/{org}/surveys/new"),
            format!("/admin/o/{org}/surveys/{bs}"),
            format!("/admin/o/{org}/surveys/{bs}/edit"),
            format!("/admin/o/{org}/surveys/{bs}/share"),
            format!("/admin/o/{org}/surveys/{bs}/embed"),
            format!("/admin/o/{org}/surveys/{bs}/qr.svg"),
            format!("/admin/o/{org}/surveys/{bs}/qr.png"),
            format!("/admin/o/{org}/surveys/{bs}/a11-v2.csv"),
            format!("/admin/o/{org}/responses/{br}"),
        ]
    };
    for path in gets(b.to_string()) {
        let r = app.get(&s, &path).await;
        assert_eq!(r.status(), 404, "GET {path} in another organization");
    }
    for path in gets(a.to_string()).into_iter().skip(4) {
        let r = app.get(&s, &path).await;
        assert_eq!(r.status(), 404, "GET {path} with another organization's id");
    }
    // Lists filtered by B's ids show nothing of B.
    for path in [
        format!("/admin/o/{a}/responses?survey={bs}"),
        format!("/admin/o/{a}/responses.csv?survey={bs}"),
        format!("/admin/o/{a}/responses?service={bsv}"),
    ] {
        let r = app.get(&s, &path).await;
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("secret comment") && !text.contains(&br.to_string()),
            "{path} leaked B's response"
        );
    }
    // Every POST route, the same two ways.
    let posts = |org: String| {
        vec![
            (
                format!("/admin/o/{org}/invitations"),
                vec![("email", "x@example.gov"), ("role", "admin")],
            ),
            (
                format!("/admin/o/{org}/services"),
                vec![("name_en", "Hijack")],
            ),
            (
                format!("/admin/o/{org}/services/{bsv}"),
                vec![("name_en", "Renamed")],
            ),
            (
                format!("/admin/o/{org}/services/{bsv}/touchpoints"),
                vec![("name_en", "Hijack"), ("channel", "website")],
            ),
            (
                format!("/admin/o/{org}/services/{bsv}/volume"),
                vec![("quarter", "FY2027-Q1"), ("customers", "1")],
            ),
            (
                format!("/admin/o/{org}/surveys"),
                vec![
                    ("name", "Hijack"),
                    ("template", "blank"),
                    ("service", "SVC"),
                ],
            ),
            (
                format!("/admin/o/{org}/surveys/{bs}/edit"),
                vec![
                    ("name", "Renamed"),
                    ("title_en", "Renamed"),
                    ("transaction_point", "relational"),
                ],
            ),
            (
                format!("/admin/o/{org}/surveys/{bs}/questions"),
                vec![("kind", "short_text"), ("prompt_en", "Hijack?")],
            ),
            (
                format!("/admin/o/{org}/surveys/{bs}/questions/comment/delete"),
                vec![],
            ),
            (format!("/admin/o/{org}/surveys/{bs}/publish"), vec![]),
            (
                format!("/admin/o/{org}/members/{bu}/role"),
                vec![("role", "viewer")],
            ),
            (format!("/admin/o/{org}/members/{bu}/remove"), vec![]),
            (format!("/admin/o/{org}/members/{bu}/sign-out"), vec![]),
            (
                format!("/admin/o/{org}/members/unlock"),
                vec![("email", "BEMAIL")],
            ),
            (
                format!("/admin/o/{org}/invitations/{b_inv}/withdraw"),
                vec![],
            ),
        ]
    };
    let bsv_s = bsv.to_string();
    // In A's own organization, adding members and services is allowed; from the third route on B's ids appear.
    for (path, form) in posts(b.to_string())
        .into_iter()
        .chain(posts(a.to_string()).into_iter().skip(2))
    {
        let form: Vec<(&str, &str)> = form
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    match *v {
                        "SVC" => bsv_s.as_str(),
                        "BEMAIL" => bemail.as_str(),
                        v => v,
                    },
                )
            })
            .collect();
        let r = app.post(&s, &path, &form).await;
        let status = r.status().as_u16();
        assert!(matches!(status, 404 | 422), "POST {path} gave {status}");
    }
    let r = app
        .post(
            &s,
            &format!("/admin/o/{b}/settings"),
            &[("keep_raw_text", "1")],
        )
        .await;
    assert_eq!(r.status(), 404, "POST settings of another organization");
    assert!(!app.store.org(b).await.unwrap().keep_raw_text);
    // B is untouched.
    let survey = app.store.survey(b, bs).await.unwrap();
    assert_eq!(survey.name, app.b.survey.name);
    assert_eq!(survey.published_version, Some(1));
    assert_eq!(survey.draft, app.b.survey.draft);
    assert_eq!(
        app.store.service(b, bsv).await.unwrap().name,
        app.b.service.name
    );
    assert_eq!(app.store.touchpoints(b).await.unwrap().len(), 1);
    assert_eq!(app.store.members(b).await.unwrap().len(), 1);
    assert_eq!(
        app.store.pending_invitations(b, 2).await.unwrap().len(),
        1,
        "B's invitation is not withdrawn"
    );
    assert_eq!(
        app.store.surveys(a, None).await.unwrap().len(),
        1,
        "no survey was created in A for B's service"
    );
});
