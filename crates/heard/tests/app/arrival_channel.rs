//! A response's channel is where it arrived (the widget and the hosted page on the web, a kiosk's QR code, or what
//! an API client states), kept apart from the touchpoint it is about (issue 16, item 18).

use heard_domain::templates::{self, TrustScale};
use heard_domain::{Channel, LocalizedText};
use heard_store::catalog::NewSurvey;
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, create_published_survey};

/// A published survey of tenant A attached to an in-person touchpoint (an office): its id and the touchpoint's.
async fn office_survey(app: &TestApp) -> (heard_domain::SurveyId, heard_domain::TouchpointId) {
    let now = heard_store::now_ms();
    let office = app
        .store
        .create_touchpoint(
            app.a.org,
            app.a.service.id,
            &LocalizedText::en_only("Downtown office"),
            Channel::InPerson,
            now,
        )
        .await
        .unwrap();
    let def = templates::a11_v2(&app.a.service.name, TrustScale::Thumbs);
    let origins = vec!["https://www.partner.gov".to_string()];
    let survey = create_published_survey(
        &app.store,
        NewSurvey {
            org_id: app.a.org,
            service_id: app.a.service.id,
            touchpoint_id: Some(office.id),
            name: "Office exit survey",
            draft: &def,
            allowed_origins: &origins,
            transaction_point: "post_interaction",
        },
        now,
    )
    .await;
    (survey.id, office.id)
}

async fn stored(app: &TestApp, survey: heard_domain::SurveyId) -> Vec<heard_store::StoredResponse> {
    let f = heard_store::responses::ResponseFilter {
        survey_id: Some(survey),
        ..Default::default()
    };
    app.store
        .responses_page(
            app.a.org,
            &f,
            None,
            heard_store::responses::Order::OldestFirst,
            10,
        )
        .await
        .unwrap()
}

both_backends!(
    a_widget_response_about_an_office_arrived_on_the_web,
    |app| {
        let (survey, office) = office_survey(&app).await;
        let url = format!(
            "{}/api/v1/{}/surveys/{}/responses",
            app.base, app.a.slug, survey
        );
        // Exactly what the widget sends from an agency's page: text/plain JSON, no channel.
        let r = app
        .client
        .post(&url)
        .header("origin", "https://www.partner.gov")
        .header("content-type", "text/plain")
        .body(json!({"idempotency_key": "widget-000000001", "answers": {"trust": 1}, "page_path": "/visit"}).to_string())
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        // An API client that says where the response came from (a call centre's system).
        let r = app
        .client
        .post(&url)
        .json(&json!({"idempotency_key": "phone-000000001", "answers": {"trust": 0}, "channel": "phone"}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let rows = stored(&app, survey).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].channel, "website",
            "the widget is on the web, not in person"
        );
        assert_eq!(
            rows[0].touchpoint_id,
            Some(office),
            "the touchpoint it is about stays"
        );
        assert_eq!(rows[1].channel, "phone");
        assert_eq!(rows[1].touchpoint_id, Some(office));
        // Staff see both, each for what it is.
        let session = app.sign_in(&app.a.admin_email).await;
        let html = app
            .get(
                &session,
                &format!("/admin/o/{}/responses/{}", app.a.org, rows[0].id),
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("Channel (where it arrived)</dt><dd>Website"),
            "{html}"
        );
        assert!(html.contains("Downtown office (In person)"), "{html}");

        // A widget's display is counted on the web too.
        let r = app
            .client
            .post(format!(
                "{}/api/v1/{}/surveys/{}/displays",
                app.base, app.a.slug, survey
            ))
            .header("origin", "https://www.partner.gov")
            .header("content-type", "text/plain")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let day = chrono::Utc::now().timestamp().div_euclid(86_400);
        let displays = app
            .store
            .displays(app.a.org, survey, day - 1, day + 2)
            .await
            .unwrap();
        assert_eq!(displays, vec![("website".to_string(), 1)]);
    }
);

both_backends!(
    the_hosted_page_is_the_web_and_its_qr_link_the_kiosk,
    |app| {
        let (survey, office) = office_survey(&app).await;
        let page = format!("{}/s/{}/{}", app.base, app.a.slug, survey);
        // Opened from a link: the web. Opened from the kiosk's QR code: the kiosk. The form carries it to the submit.
        for (query, key) in [("", "page-link-000001"), ("?via=qr", "page-qr-00000001")] {
            let html = app
                .client
                .get(format!("{page}{query}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let mut form = vec![("idempotency_key", key), ("lang", "en"), ("q.trust", "1")];
            if html.contains(r#"name="via" value="qr""#) {
                form.push(("via", "qr"));
            }
            let r = app.client.post(&page).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 303);
        }
        let rows = stored(&app, survey).await;
        let channels: Vec<&str> = rows.iter().map(|r| r.channel.as_str()).collect();
        assert_eq!(channels, vec!["website", "self_service_kiosk"]);
        assert!(rows.iter().all(|r| r.touchpoint_id == Some(office)));
        let day = chrono::Utc::now().timestamp().div_euclid(86_400);
        let mut displays = app
            .store
            .displays(app.a.org, survey, day - 1, day + 2)
            .await
            .unwrap();
        displays.sort();
        assert_eq!(
            displays,
            vec![
                ("self_service_kiosk".to_string(), 1),
                ("website".to_string(), 1)
            ]
        );
    }
);

both_backends!(the_share_page_qr_code_opens_the_kiosk_link, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let html = app
        .get(
            &s,
            &format!("/admin/o/{}/surveys/{}/share", app.a.org, app.a.survey.id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("via=qr"), "{html}");
});
