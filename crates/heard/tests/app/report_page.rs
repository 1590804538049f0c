//! People's own words through Heard's own forms (issue 17): the public "Report a problem / Tell us about your
//! experience" page of a service at `/r/{org}/{service}`, and the frontline staff observation form in the admin.
//! Both become signals by the ingestion API's path: redacted, enriched, crisis made urgent, idempotent by the
//! form's own key, and every tenant's services its own.

use heard_domain::Role;
use heard_domain::identity::PersonId;
use heard_server::crypto::Sealer;
use serde_json::Value;

use crate::both_backends;
use crate::support::{PASSWORD, Tenant, TestApp};

fn report_path(t: &Tenant) -> String {
    format!("/r/{}/{}", t.slug, t.service.id)
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no {name} in the page"))
        .to_string()
}

/// Shows the report page (in `lang` when given) and returns its HTML.
async fn page(app: &TestApp, t: &Tenant, query: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{}{query}", app.base, report_path(t)))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts the report form as a browser on our own page would.
async fn send(app: &TestApp, t: &Tenant, form: &[(&str, &str)]) -> (u16, String) {
    let r = app
        .client
        .post(format!("{}{}", app.base, report_path(t)))
        .header("origin", &app.base)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Unescapes the few entities minijinja writes, so assertions read as a person would.
fn readable(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

both_backends!(
    a_report_is_stored_as_a_redacted_enriched_public_signal_once,
    |app| {
        let (status, html) = page(&app, &app.a, "").await;
        assert_eq!(status, 200);
        assert!(html.contains("Tell us about your experience"), "{html}");
        assert!(
            html.contains(&format!("value=\"{}\"", app.a.touchpoint.id)),
            "the service's touchpoints are offered"
        );
        let token = hidden(&html, "token");
        let tp = app.a.touchpoint.id.to_string();
        let what = "The upload page kept failing and nobody answered. Call me at 202-555-0199 or write ana.lopez@example.com. This was awful.";
        let form = [
            ("token", token.as_str()),
            ("lang", "en"),
            ("what", what),
            ("touchpoint", tp.as_str()),
            ("rating", "1"),
            (
                "url",
                "https://benefits.example.gov/upload?email=ana.lopez@example.com",
            ),
            ("contact", "Ana.Lopez@Example.com"),
            ("website", ""),
        ];
        let (status, thanks) = send(&app, &app.a, &form).await;
        assert_eq!(status, 200, "{thanks}");
        assert!(thanks.contains("Thank you for telling us"), "{thanks}");
        assert!(readable(&thanks).contains("we will use it only to reply"));
        assert!(
            !thanks.contains("988"),
            "no crisis notice for words without crisis language"
        );

        let stored = app.store.signals(app.a.org).await.unwrap();
        assert_eq!(stored.len(), 1);
        let s = &stored[0];
        assert_eq!(
            (s.source.as_str(), s.author.as_str()),
            ("web_form", "public")
        );
        assert_eq!(s.rating, Some(1));
        assert_eq!(s.language, "en");
        assert!(
            !s.text.contains("202-555-0199") && !s.text.contains("ana.lopez"),
            "redacted: {}",
            s.text
        );
        assert!(s.text.contains("upload page kept failing"), "{}", s.text);
        let url = s.url.as_deref().unwrap();
        assert!(
            !url.contains("ana.lopez"),
            "the address is redacted too: {url}"
        );
        assert_eq!(s.sentiment.as_deref(), Some("negative"));
        let enrichment: Value = serde_json::from_str(s.enrichment.as_deref().unwrap()).unwrap();
        assert!(
            enrichment["pii"].as_array().unwrap().len() >= 2,
            "{enrichment}"
        );
        assert!(!s.urgent);
        // The person is a keyed hash of the normalised contact, the same one a survey's email answer gets; the contact
        // itself is kept only sealed.
        let sealer = Sealer::new(&[9u8; 32]);
        let person = PersonId::email("contact", "ana.lopez@example.com").unwrap();
        assert_eq!(
            s.person_key.as_deref(),
            Some(sealer.person_key(app.a.org, &person).0.as_str())
        );
        let f = app.store.signal_form_fields(app.a.org, s.id).await.unwrap();
        assert_eq!(f.service_id, Some(*app.a.service.id.as_uuid()));
        assert_eq!(f.touchpoint_id, Some(*app.a.touchpoint.id.as_uuid()));
        assert_eq!(f.sent_by, None);
        assert_eq!(
            sealer.open(f.sealed_contact.as_deref().unwrap()).as_deref(),
            Some("Ana.Lopez@Example.com")
        );
        let attrs: Value = serde_json::from_str(f.attributes.as_deref().unwrap()).unwrap();
        assert_eq!(attrs, serde_json::json!({"reply_wanted": true}));
        // The signal's page says the person asked for a reply; the contact is opened for analysts and up only.
        let signal_page = format!("/admin/o/{}/signals/{}", app.a.org, s.id);
        let admin = app.sign_in(&app.a.admin_email).await;
        let shown = app.get(&admin, &signal_page).await.text().await.unwrap();
        assert!(
            readable(&shown).contains("Asked for a reply at <bdi>Ana.Lopez@Example.com"),
            "{shown}"
        );
        let now = heard_store::now_ms();
        let hash = heard_server::auth::hash_password(PASSWORD).unwrap();
        let v = app
            .store
            .create_user("viewer@agency-a.example.gov", "Vic Viewer", &hash, now)
            .await
            .unwrap();
        app.store
            .set_membership(app.a.org, v.id, Role::Viewer, now)
            .await
            .unwrap();
        let vs = app.sign_in("viewer@agency-a.example.gov").await;
        let shown = app.get(&vs, &signal_page).await.text().await.unwrap();
        assert!(
            shown.contains("Asked for a reply (analysts and admins"),
            "{shown}"
        );
        assert!(!readable(&shown).contains("Ana.Lopez@Example.com"));
        // Another organization cannot read it by id.
        assert!(app.store.signal_form_fields(app.b.org, s.id).await.is_err());

        // Sent twice (a double click, a refresh): one signal, the same thank-you.
        let (status, again) = send(&app, &app.a, &form).await;
        assert_eq!(status, 200);
        assert!(again.contains("Thank you for telling us"));
        assert_eq!(app.store.signals(app.a.org).await.unwrap().len(), 1);
        // The same form with other words: refused, nothing stored, what was typed kept under a new key.
        let mut changed = form;
        changed[2].1 = "Actually it worked the second time.";
        let (status, refused) = send(&app, &app.a, &changed).await;
        assert_eq!(status, 409);
        assert!(
            readable(&refused).contains("This form was already sent with other words"),
            "{refused}"
        );
        assert!(refused.contains("Actually it worked the second time."));
        assert_ne!(
            hidden(&refused, "token"),
            token,
            "a fresh key to send it as a new message"
        );
        assert_eq!(app.store.signals(app.a.org).await.unwrap().len(), 1);
    }
);

both_backends!(
    every_error_names_its_field_and_keeps_what_was_typed,
    |app| {
        let (_, html) = page(&app, &app.a, "").await;
        let token = hidden(&html, "token");
        // Another organization's touchpoint is not one of this service's.
        let theirs = app.b.touchpoint.id.to_string();
        let (status, html) = send(
            &app,
            &app.a,
            &[
                ("token", token.as_str()),
                ("lang", "en"),
                ("what", "   "),
                ("touchpoint", theirs.as_str()),
                ("rating", "9"),
                ("url", "ftp://files.example.gov/x"),
                ("contact", "call me maybe"),
            ],
        )
        .await;
        assert_eq!(status, 422);
        let text = readable(&html);
        for line in [
            "What happened: Tell us what happened, in a few words or more.",
            "Which part of the service: Choose one of the parts of the service listed",
            "Your experience: Choose one of the answers shown.",
            "Web address: Enter a web address that starts with https:// or http://, or leave this empty.",
            "Email or phone number: Enter a phone number like 202-555-0123",
        ] {
            assert!(text.contains(line), "missing {line:?} in {text}");
        }
        assert!(
            text.contains("value=\"ftp://files.example.gov/x\""),
            "the address typed is kept"
        );
        assert!(
            html.contains("value=\"call me maybe\""),
            "the contact typed is kept"
        );
        assert!(html.contains("aria-invalid=\"true\""));
        assert_eq!(hidden(&html, "token"), token, "the same form, the same key");
        assert!(app.store.signals(app.a.org).await.unwrap().is_empty());

        // Too long, and a bad email.
        let long = "a".repeat(5001);
        let (status, html) = send(
            &app,
            &app.a,
            &[
                ("token", token.as_str()),
                ("what", long.as_str()),
                ("contact", "ana@"),
            ],
        )
        .await;
        assert_eq!(status, 422);
        let text = readable(&html);
        assert!(
            text.contains(
                "What happened: This is too long. Shorten it to 5000 characters or fewer."
            ),
            "{text}"
        );
        assert!(
            text.contains("Email or phone number: Enter an email address like name@example.com")
        );
        assert!(app.store.signals(app.a.org).await.unwrap().is_empty());
    }
);

both_backends!(the_page_speaks_spanish_and_crisis_words_bring_988, |app| {
    let (status, html) = page(&app, &app.a, "?lang=es").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"es\">"));
    assert!(
        readable(&html).contains("Cuéntenos sobre su experiencia"),
        "{html}"
    );
    assert!(
        html.contains("hreflang=\"en\""),
        "a link to the English page"
    );
    // The browser's preference picks Spanish too.
    let r = app
        .client
        .get(format!("{}{}", app.base, report_path(&app.a)))
        .header("accept-language", "es-MX,es;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<html lang=\"es\">"));

    // Errors in Spanish.
    let token = hidden(&html, "token");
    let (status, errs) = send(
        &app,
        &app.a,
        &[("token", token.as_str()), ("lang", "es"), ("what", "")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        readable(&errs).contains("Qué pasó: Cuéntenos qué pasó"),
        "{errs}"
    );

    // Crisis language: urgent in the same commit, and the thank-you page gives the 988 Lifeline, in Spanish.
    let (status, thanks) = send(
        &app,
        &app.a,
        &[
            ("token", token.as_str()),
            ("lang", "es"),
            (
                "what",
                "Perdí mi trabajo y ya no quiero vivir. Nadie me ayuda.",
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{thanks}");
    let text = readable(&thanks);
    assert!(text.contains("Gracias por contarnos"), "{text}");
    assert!(
        text.contains("Línea 988 de Prevención del Suicidio y Crisis"),
        "{text}"
    );
    assert!(thanks.contains("href=\"tel:988\""));
    let s = &app.store.signals(app.a.org).await.unwrap()[0];
    assert!(s.urgent, "crisis language is urgent");
    assert_eq!(s.language, "es");

    // And in English.
    let (_, html) = page(&app, &app.a, "?lang=en").await;
    let token = hidden(&html, "token");
    let (status, thanks) = send(
        &app,
        &app.a,
        &[
            ("token", token.as_str()),
            ("lang", "en"),
            (
                "what",
                "I can't pay rent and I honestly don't see the point of living anymore.",
            ),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        readable(&thanks).contains("988 Suicide & Crisis Lifeline"),
        "{thanks}"
    );
    assert_eq!(app.store.signals(app.a.org).await.unwrap().len(), 2);
});

both_backends!(
    the_page_is_per_tenant_and_takes_posts_only_from_itself,
    |app| {
        // Agency B's service under agency A's address, and nonsense: not found.
        let r = app
            .client
            .get(format!(
                "{}/r/{}/{}",
                app.base, app.a.slug, app.b.service.id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = app
            .client
            .get(format!("{}/r/{}/not-an-id", app.base, app.a.slug))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        // A post from another site is refused.
        let r = app
            .client
            .post(format!("{}{}", app.base, report_path(&app.a)))
            .header("origin", "https://evil.example")
            .form(&[("what", "hello")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        // A bot fills the hidden field: thanked, nothing kept.
        let (status, _) = send(
            &app,
            &app.a,
            &[("what", "Buy now"), ("website", "http://spam.example")],
        )
        .await;
        assert_eq!(status, 200);
        assert!(app.store.signals(app.a.org).await.unwrap().is_empty());
        // Admins find the page's link and QR code on the service's page.
        let s = app.sign_in(&app.a.admin_email).await;
        let html = app
            .get(
                &s,
                &format!("/admin/o/{}/services/{}", app.a.org, app.a.service.id),
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(
            readable(&html).contains(&format!("{}{}", app.base, report_path(&app.a))),
            "{html}"
        );
        assert!(html.contains("<svg"));
        let png = app
            .get(
                &s,
                &format!(
                    "/admin/o/{}/services/{}/report-qr.png",
                    app.a.org, app.a.service.id
                ),
            )
            .await;
        assert_eq!(png.status(), 200);
        assert_eq!(&png.bytes().await.unwrap()[..4], b"\x89PNG");
    }
);

async fn viewer(app: &TestApp, t: &Tenant, email: &str) -> heard_domain::UserId {
    let now = heard_store::now_ms();
    let hash = heard_server::auth::hash_password(PASSWORD).unwrap();
    let u = app
        .store
        .create_user(email, "Frontline Fran", &hash, now)
        .await
        .unwrap();
    app.store
        .set_membership(t.org, u.id, Role::Viewer, now)
        .await
        .unwrap();
    u.id
}

both_backends!(staff_observations_are_staff_signals_of_the_sender, |app| {
    // A viewer (frontline staff) may send one.
    let fran = viewer(&app, &app.a, "fran@agency-a.example.gov").await;
    let s = app.sign_in("fran@agency-a.example.gov").await;
    let path = format!("/admin/o/{}/observations", app.a.org);
    let html = app.get(&s, &path).await.text().await.unwrap();
    assert!(html.contains("Report what you see"), "{html}");
    let token = hidden(&html, "token");
    let service = app.a.service.id.to_string();
    let tp = app.a.touchpoint.id.to_string();
    let form = [
        ("token", token.as_str()),
        (
            "what",
            "People keep bringing the old form 12B; we send them home. Maria Gonzalez at 202-555-0143 came twice.",
        ),
        ("frequency", "daily"),
        (
            "fix",
            "Take the old form off the website, and tell 202-555-0143 to call",
        ),
        ("service", service.as_str()),
        ("touchpoint", tp.as_str()),
        ("people", "1,200"),
    ];
    let r = app.post(&s, &path, &form).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("{path}?sent=1"));
    // A double submit stores one.
    assert_eq!(app.post(&s, &path, &form).await.status(), 303);
    let stored = app.store.signals(app.a.org).await.unwrap();
    assert_eq!(stored.len(), 1);
    let sig = &stored[0];
    assert_eq!(
        (sig.source.as_str(), sig.author.as_str()),
        ("staff_observation", "staff")
    );
    assert!(!sig.text.contains("202-555-0143"), "redacted: {}", sig.text);
    assert!(sig.enrichment.is_some());
    let f = app
        .store
        .signal_form_fields(app.a.org, sig.id)
        .await
        .unwrap();
    assert_eq!(
        f.sent_by,
        Some(*fran.as_uuid()),
        "the sending account is recorded"
    );
    assert_eq!(f.service_id, Some(*app.a.service.id.as_uuid()));
    assert_eq!(f.touchpoint_id, Some(*app.a.touchpoint.id.as_uuid()));
    assert_eq!(f.sealed_contact, None);
    let attrs: Value = serde_json::from_str(f.attributes.as_deref().unwrap()).unwrap();
    assert_eq!(attrs["frequency"], "daily");
    assert_eq!(attrs["people_affected"], 1200);
    assert!(
        !attrs["fix"].as_str().unwrap().contains("202-555-0143"),
        "{attrs}"
    );
    // The sender sees it in their list; another member does not see it there.
    let page = app
        .get(&s, &format!("{path}?sent=1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Your observation was recorded"));
    assert!(
        page.contains("People keep bringing the old form 12B"),
        "{page}"
    );
    assert!(page.contains("Daily") && page.contains("1,200"));
    let admin = app.sign_in(&app.a.admin_email).await;
    let theirs = app.get(&admin, &path).await.text().await.unwrap();
    assert!(!theirs.contains("People keep bringing the old form 12B"));
    // In the signals inbox, the observation's page shows who sent it and the form's answers.
    let shown = app
        .get(
            &admin,
            &format!("/admin/o/{}/signals/{}", app.a.org, sig.id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(shown.contains("Sent by</dt><dd>Frontline Fran"), "{shown}");
    assert!(shown.contains("How often it happens</dt><dd>Daily"));
    assert!(shown.contains("Roughly how many people</dt><dd>1200"));
    assert!(shown.contains("Take the old form off the website"));
    assert!(!shown.contains("202-555-0143"));

    // Without the CSRF token: refused, nothing stored.
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .header("cookie", &s.cookie)
        .form(&[
            ("what", "Forged"),
            ("frequency", "once"),
            ("service", service.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A member of another organization: not found, to see or to send.
    let b = app.sign_in(&app.b.admin_email).await;
    assert_eq!(app.get(&b, &path).await.status(), 404);
    let r = app
        .post(
            &b,
            &path,
            &[
                ("what", "x"),
                ("frequency", "once"),
                ("service", service.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    // Another organization's service or touchpoint, and missing answers: each named, nothing stored.
    let their_service = app.b.service.id.to_string();
    let r = app
        .post(
            &s,
            &path,
            &[
                ("what", "Long queue"),
                ("frequency", "weekly"),
                ("service", their_service.as_str()),
                ("people", "many"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = readable(&r.text().await.unwrap());
    assert!(
        html.contains("How often: choose one of the answers."),
        "{html}"
    );
    assert!(html.contains("Service: choose one of your organization's services from the list."));
    assert!(html.contains("Roughly how many people: enter a whole number"));
    assert!(html.contains("Long queue"), "what was typed is kept");
    let their_tp = app.b.touchpoint.id.to_string();
    let r = app
        .post(
            &s,
            &path,
            &[
                ("what", "Long queue"),
                ("frequency", "daily"),
                ("service", service.as_str()),
                ("touchpoint", their_tp.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        readable(&r.text().await.unwrap())
            .contains("Touchpoint: choose a touchpoint of the service you chose")
    );
    assert_eq!(app.store.signals(app.a.org).await.unwrap().len(), 1);
    assert!(app.store.signals(app.b.org).await.unwrap().is_empty());
});
