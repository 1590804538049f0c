//! Storage behaviour, every test on both SQLite and PostgreSQL. PostgreSQL is required: set HEARD_TEST_POSTGRES_URL
//! (default postgres://postgres@127.0.0.1:5432/postgres); each test gets a fresh database there.

use heard_domain::response::NewResponse;
use heard_domain::templates::{self, TrustScale};
use heard_domain::{Channel, Lang, LocalizedText, OrgId, ResponseId, Role, SurveyId};
use heard_store::catalog::{NewSurvey, Published};
use heard_store::responses::{Order, ResponseFilter};
use heard_store::{DatabaseUrl, Store, StoreError, StoreOptions};

mod support {
    use super::*;
    use sqlx::Connection;

    pub struct TestDb {
        pub store: Store,
        _dir: Option<tempfile::TempDir>,
    }

    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DatabaseUrl::sqlite_in(dir.path()), StoreOptions::default())
            .await
            .unwrap();
        TestDb {
            store,
            _dir: Some(dir),
        }
    }

    pub fn postgres_admin_url() -> String {
        std::env::var("HEARD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// A fresh database on the test server, so tests never see each other's rows.
    pub async fn postgres() -> TestDb {
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is required for the storage tests ({admin}): {e}")
            });
        let name = format!("heard_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("HEARD_TEST_POSTGRES_URL must end with a database name"),
        };
        let store = Store::open(&DatabaseUrl::parse(&url).unwrap(), StoreOptions::default())
            .await
            .unwrap();
        TestDb { store, _dir: None }
    }
}

/// Runs the body once on SQLite and once on PostgreSQL, as two tests.
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            use super::*;
            async fn run($store: Store) $body
            #[tokio::test]
            async fn sqlite() {
                let db = support::sqlite().await;
                run(db.store.clone()).await;
            }
            #[tokio::test]
            async fn postgres() {
                let db = support::postgres().await;
                run(db.store.clone()).await;
            }
        }
    };
}

async fn seed(store: &Store) -> (OrgId, heard_store::Service, heard_store::Survey) {
    let org = store
        .create_org(
            "Department of Examples",
            &format!("ex-{}", uuid::Uuid::new_v4().simple()),
            1,
        )
        .await
        .unwrap();
    let name = LocalizedText::new("Passports", "Pasaportes");
    let svc = store
        .create_service(org.id, &name, &LocalizedText::default(), 1)
        .await
        .unwrap();
    let def = templates::a11_v2(&name, TrustScale::Thumbs);
    let survey = store
        .create_survey(
            NewSurvey {
                org_id: org.id,
                service_id: svc.id,
                touchpoint_id: None,
                name: "Passport renewal",
                draft: &def,
                allowed_origins: &[],
                transaction_point: "post_interaction",
            },
            1,
        )
        .await
        .unwrap();
    (org.id, svc, survey)
}

fn response(
    org: OrgId,
    svc: &heard_store::Service,
    survey: SurveyId,
    key: &str,
    at: i64,
    trust: i16,
) -> NewResponse {
    let mut answers = heard_domain::response::Answers::new();
    answers.insert(
        "trust".into(),
        heard_domain::response::AnswerValue::Number(trust as i64),
    );
    NewResponse {
        id: ResponseId::new(),
        org_id: org,
        survey_id: survey,
        survey_version: 1,
        service_id: svc.id,
        touchpoint_id: None,
        channel: Channel::Website,
        language: Lang::en(),
        page_path: Some("/renew".into()),
        submitted_at: at,
        idempotency_key: key.into(),
        request_fingerprint: heard_domain::idempotency::RequestFingerprint::from_hex(format!(
            "{trust}"
        )),
        answers,
        trust: Some(trust),
        trust_positive: Some(trust == 1),
        person_key: None,
        contacts: vec![("email".into(), vec![1, 2, 3])],
        enrichment: None,
        sentiment: Some(if trust == 1 { "positive" } else { "negative" }.into()),
        themes: if trust == 1 {
            vec!["praise".into()]
        } else {
            vec!["wait_times".into(), "phone_access".into()]
        },
        urgent: false,
        raw_texts: vec![],
    }
}

both_backends!(publishing_makes_numbered_immutable_versions, |store| {
    let (org, _svc, survey) = seed(&store).await;
    assert_eq!(survey.published_version, None);
    assert_eq!(
        store.publish_survey(org, survey.id, None, 2).await.unwrap(),
        Published::New(1)
    );
    // Publishing the same draft again makes nothing.
    assert_eq!(
        store.publish_survey(org, survey.id, None, 3).await.unwrap(),
        Published::Unchanged(1)
    );
    let mut draft = survey.draft.clone();
    draft.title.set("en", "Changed");
    store
        .update_survey(
            org,
            survey.id,
            "Passport renewal",
            &draft,
            &[],
            "post_interaction",
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        store.publish_survey(org, survey.id, None, 4).await.unwrap(),
        Published::New(2)
    );
    let v1 = store.survey_version(org, survey.id, 1).await.unwrap();
    let v2 = store.survey_version(org, survey.id, 2).await.unwrap();
    assert_ne!(v1.definition.title.get("en"), "Changed");
    assert_eq!(v2.definition.title.get("en"), "Changed");
    assert_eq!(
        store
            .survey(org, survey.id)
            .await
            .unwrap()
            .published_version,
        Some(2)
    );
});

both_backends!(a_retried_submission_is_stored_once, |store| {
    let (org, svc, survey) = seed(&store).await;
    let first = store
        .submit(response(org, &svc, survey.id, "key-00000001", 10, 1))
        .await
        .unwrap();
    // The same request again (same fingerprint), a moment later.
    let again = store
        .submit(response(org, &svc, survey.id, "key-00000001", 11, 1))
        .await
        .unwrap();
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(first.id, again.id);
    let f = ResponseFilter {
        survey_id: Some(survey.id),
        ..Default::default()
    };
    assert_eq!(store.count_responses(org, &f).await.unwrap(), 1);
    assert_eq!(
        store.response_contacts(org, first.id).await.unwrap(),
        vec![("email".to_string(), vec![1, 2, 3])]
    );
});

both_backends!(
    a_key_reused_for_other_answers_is_refused_and_stores_nothing,
    |store| {
        let (org, svc, survey) = seed(&store).await;
        let first = store
            .submit(response(org, &svc, survey.id, "key-00000002", 10, 1))
            .await
            .unwrap();
        let other = store
            .submit(response(org, &svc, survey.id, "key-00000002", 11, 0))
            .await;
        assert!(
            matches!(other, Err(StoreError::IdempotencyKeyReused)),
            "{other:?}"
        );
        let f = ResponseFilter {
            survey_id: Some(survey.id),
            ..Default::default()
        };
        assert_eq!(store.count_responses(org, &f).await.unwrap(), 1);
        let kept = store.response(org, first.id).await.unwrap();
        assert_eq!(kept.trust, Some(1), "the first answers are kept");

        // Many at once with one key, so some share a group commit: one is stored, every copy of its request gets its
        // id, every other request is refused.
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = store.clone();
            let r = response(
                org,
                &svc,
                survey.id,
                "key-batch-0001",
                100 + i,
                (i % 2) as i16,
            );
            tasks.push(tokio::spawn(async move { (i % 2, s.submit(r).await) }));
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        assert_eq!(store.count_responses(org, &f).await.unwrap(), 2);
        let stored: Vec<_> = outcomes
            .iter()
            .filter_map(|(t, r)| r.as_ref().ok().map(|s| (*t, s.id)))
            .collect();
        let winner = stored[0].0;
        assert!(
            stored
                .iter()
                .all(|(t, id)| *t == winner && *id == stored[0].1)
        );
        assert_eq!(stored.len(), 20);
        assert!(outcomes.iter().all(|(t, r)| (*t == winner) == r.is_ok()
            && (r.is_ok() || matches!(r, Err(StoreError::IdempotencyKeyReused)))));
    }
);

both_backends!(concurrent_submissions_share_commits_and_all_land, |store| {
    let (org, svc, survey) = seed(&store).await;
    let mut tasks = Vec::new();
    for i in 0..300 {
        let s = store.clone();
        let r = response(
            org,
            &svc,
            survey.id,
            &format!("key-{i:08}"),
            1000 + i,
            (i % 2) as i16,
        );
        tasks.push(tokio::spawn(async move { s.submit(r).await }));
    }
    for t in tasks {
        assert!(!t.await.unwrap().unwrap().duplicate);
    }
    let f = ResponseFilter {
        survey_id: Some(survey.id),
        ..Default::default()
    };
    assert_eq!(store.count_responses(org, &f).await.unwrap(), 300);
    let positive = ResponseFilter {
        trust_positive: Some(true),
        ..f.clone()
    };
    assert_eq!(store.count_responses(org, &positive).await.unwrap(), 150);
});

both_backends!(pages_walk_every_response_exactly_once, |store| {
    let (org, svc, survey) = seed(&store).await;
    for i in 0..25 {
        store
            .submit(response(
                org,
                &svc,
                survey.id,
                &format!("page-{i:08}"),
                100 + i,
                1,
            ))
            .await
            .unwrap();
    }
    let f = ResponseFilter::default();
    for order in [Order::NewestFirst, Order::OldestFirst] {
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let page = store
                .responses_page(org, &f, cursor, order, 7)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            cursor = page.last().map(|r| r.cursor());
            seen.extend(page.into_iter().map(|r| r.submitted_at));
        }
        assert_eq!(seen.len(), 25);
        let mut sorted = seen.clone();
        sorted.sort();
        if order == Order::NewestFirst {
            sorted.reverse();
        }
        assert_eq!(seen, sorted);
    }
    let window = ResponseFilter {
        from_ms: Some(110),
        to_ms: Some(120),
        ..Default::default()
    };
    assert_eq!(store.count_responses(org, &window).await.unwrap(), 10);
});

both_backends!(another_organizations_rows_are_not_found, |store| {
    let (org_a, svc_a, survey_a) = seed(&store).await;
    let (org_b, _svc_b, _survey_b) = seed(&store).await;
    let r = store
        .submit(response(org_a, &svc_a, survey_a.id, "tenant-0001", 5, 1))
        .await
        .unwrap();
    assert!(matches!(
        store.survey(org_b, survey_a.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.service(org_b, svc_a.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.response(org_b, r.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .response_contacts(org_b, r.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .count_responses(org_b, &ResponseFilter::default())
            .await
            .unwrap(),
        0
    );
    // A touchpoint cannot be attached to another organization's service.
    assert!(
        store
            .create_touchpoint(
                org_b,
                svc_a.id,
                &LocalizedText::en_only("x"),
                Channel::Phone,
                1
            )
            .await
            .is_err()
    );
});

both_backends!(accounts_sessions_and_throttling, |store| {
    let (org, _, _) = seed(&store).await;
    let u = store
        .create_user("Ana@Example.gov", "Ana", "hash", 1)
        .await
        .unwrap();
    assert!(matches!(
        store.create_user("ana@example.gov", "Ana 2", "h", 1).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.user_by_email("ANA@example.gov").await.unwrap().id,
        u.id
    );
    store
        .set_membership(org, u.id, Role::Analyst, 1)
        .await
        .unwrap();
    assert_eq!(store.role_in(org, u.id).await.unwrap(), Some(Role::Analyst));
    store
        .set_membership(org, u.id, Role::Admin, 1)
        .await
        .unwrap();
    assert_eq!(store.memberships(u.id).await.unwrap()[0].role, Role::Admin);
    store
        .create_session(b"tokenhash", u.id, "csrf", 10, 100)
        .await
        .unwrap();
    assert_eq!(
        store
            .session(b"tokenhash", 50)
            .await
            .unwrap()
            .unwrap()
            .csrf_token,
        "csrf"
    );
    assert!(
        store.session(b"tokenhash", 100).await.unwrap().is_none(),
        "expired sessions are not returned"
    );
    // Sign-in throttling: five failures make this (account, address) wait; another address is not held up.
    for i in 0..5 {
        assert!(
            store
                .sign_in_wait("a@x.gov", "10.0.0.1", 1000 + i)
                .await
                .unwrap()
                .is_none()
        );
        store
            .record_sign_in_failure("A@x.gov", "10.0.0.1", 1000 + i)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .sign_in_wait("a@x.gov", "10.0.0.1", 2000)
            .await
            .unwrap(),
        Some(1004 + 60_000)
    );
    assert!(
        store
            .sign_in_wait("a@x.gov", "10.0.0.2", 2000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.sign_in_lockouts(None).await.unwrap().len(), 1);
    store
        .record_sign_in_success("a@x.gov", "10.0.0.1", 3000)
        .await
        .unwrap();
    assert!(
        store
            .sign_in_wait("a@x.gov", "10.0.0.1", 3000)
            .await
            .unwrap()
            .is_none()
    );
    let l = &store.sign_in_lockouts(Some("a@x.gov")).await.unwrap()[0];
    assert_eq!(
        (l.ended_at, l.ended_by.as_deref()),
        (Some(3000), Some("signed_in"))
    );
    // A lockout nobody ended closes when a later window begins; counting starts over then.
    for i in 0..5 {
        store
            .record_sign_in_failure("b@x.gov", "10.0.0.1", 1000 + i)
            .await
            .unwrap();
    }
    let day = 24 * 3_600_000;
    assert_eq!(
        store
            .record_sign_in_failure("b@x.gov", "10.0.0.1", 1000 + 2 * day)
            .await
            .unwrap(),
        None
    );
    let l = &store.sign_in_lockouts(Some("b@x.gov")).await.unwrap()[0];
    assert_eq!(
        (l.ended_at, l.ended_by.as_deref()),
        (Some(1004 + 60_000), Some("expired"))
    );
});

both_backends!(displays_and_volumes_add_up, |store| {
    let (org, svc, survey) = seed(&store).await;
    store
        .record_display(org, survey.id, Channel::Website, 20000, 1)
        .await
        .unwrap();
    store
        .record_display(org, survey.id, Channel::Website, 20000, 2)
        .await
        .unwrap();
    store
        .record_display(org, survey.id, Channel::InPerson, 20001, 4)
        .await
        .unwrap();
    store
        .record_display(org, survey.id, Channel::InPerson, 20005, 100)
        .await
        .unwrap();
    let d = store.displays(org, survey.id, 20000, 20005).await.unwrap();
    assert_eq!(
        d,
        vec![("in_person".to_string(), 4), ("website".to_string(), 3)]
    );
    store
        .set_service_volume(org, svc.id, 2027, 1, 5000)
        .await
        .unwrap();
    store
        .set_service_volume(org, svc.id, 2027, 1, 6000)
        .await
        .unwrap();
    assert_eq!(
        store.service_volume(org, svc.id, 2027, 1).await.unwrap(),
        Some(6000)
    );
});

both_backends!(
    text_analysis_columns_filter_and_raw_text_is_kept_apart,
    |store| {
        let (org, svc, survey) = seed(&store).await;
        store
            .submit(response(org, &svc, survey.id, "text-000001", 1, 1))
            .await
            .unwrap();
        store
            .submit(response(org, &svc, survey.id, "text-000002", 2, 0))
            .await
            .unwrap();
        let mut urgent = response(org, &svc, survey.id, "text-000003", 3, 0);
        urgent.urgent = true;
        urgent.raw_texts = vec![("comment".into(), vec![9, 9, 9])];
        let u = store.submit(urgent).await.unwrap();
        let count = |f: ResponseFilter| {
            let store = store.clone();
            async move { store.count_responses(org, &f).await.unwrap() }
        };
        assert_eq!(
            count(ResponseFilter {
                sentiment: Some("negative".into()),
                ..Default::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(ResponseFilter {
                theme: Some("phone_access".into()),
                ..Default::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(ResponseFilter {
                theme: Some("phone".into()),
                ..Default::default()
            })
            .await,
            0,
            "theme ids match whole"
        );
        assert_eq!(
            count(ResponseFilter {
                urgent: Some(true),
                ..Default::default()
            })
            .await,
            1
        );
        let r = store.response(org, u.id).await.unwrap();
        assert!(r.urgent);
        assert_eq!(
            r.themes,
            vec!["wait_times".to_string(), "phone_access".to_string()]
        );
        assert_eq!(
            store.response_raw_texts(org, u.id).await.unwrap(),
            vec![("comment".to_string(), vec![9, 9, 9])]
        );
        store.set_keep_raw_text(org, true).await.unwrap();
        assert!(store.org(org).await.unwrap().keep_raw_text);
    }
);
