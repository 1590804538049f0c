//! The outreach admin (issue 20, item 6), on both backends, through the real forms: an admin sets up an SMS sender
//! and the SMTP sender, their secrets sealed at rest (read back from the store: never in clear) and never shown
//! again; editing without retyping a secret keeps it; every bad field gets a 422 naming it and writes nothing; only
//! admins change senders; another organization's sender is not found; and the previews show each text message's
//! encoding and segments, and the emails in both languages with no live link.

use heard_channels::sms::{SignatureAlgorithm, segments, sign};
use heard_domain::Role;
use heard_server::crypto::Sealer;
use heard_store::sms::NewSmsSender;

use crate::both_backends;
use crate::support::{PASSWORD, Session, TestApp};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "Zt9xQw7Lp2Vn5Rk8Hy3Jm6Bc4Df1GsWu";

/// A test-only Ed25519 key in PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes one.
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MC4CAQAwBQYDK2VwBCIEILbcEpe+OwG7zrlGkIGoZ/3gpw1nlPQSbs8he9M95Rif\n\
-----END PRIVATE KEY-----\n";

fn sealer() -> Sealer {
    Sealer::new(&[9u8; 32])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A member of tenant A with `role`, signed in.
async fn member(app: &TestApp, role: Role, email: &str) -> Session {
    let hash = heard_server::auth::hash_password(PASSWORD).unwrap();
    let user = app
        .store
        .create_user(email, "Member", &hash, heard_store::now_ms())
        .await
        .unwrap();
    app.store
        .set_membership(app.a.org, user.id, role, heard_store::now_ms())
        .await
        .unwrap();
    app.sign_in(email).await
}

fn sms_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("phone_number", "+1 202-555-0100"),
        ("account_sid", SID),
        ("auth_token", TOKEN),
        ("help_contact", "1-800-555-0100"),
    ];
    for (k, v) in overrides {
        f.retain(|(name, _)| name != k);
        f.push((k, v));
    }
    f
}

both_backends!(outreach_admin_sms_sender, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let landing = app.get(&s, &format!("/admin/o/{org}/outreach")).await;
    assert_eq!(landing.status(), 200);
    let html = landing.text().await.unwrap().replace("&#x2f;", "/");
    assert!(html.contains("No number is set up yet."), "{html}");
    assert!(html.contains("aria-current=\"page\">Outreach</a>"));

    let resp = app
        .post(&s, &format!("/admin/o/{org}/outreach/sms"), &sms_form(&[]))
        .await;
    assert_eq!(resp.status(), 303);
    let senders = app.store.sms_senders(org).await.unwrap();
    assert_eq!(senders.len(), 1);
    let sender = &senders[0];
    assert_eq!(
        location(&resp),
        format!("/admin/o/{org}/outreach/sms/{}?saved=1", sender.id)
    );
    // Stored as E.164; the token sealed, not in clear, and it opens to what was typed.
    assert_eq!(sender.phone_number, "+12025550100");
    assert_eq!(sender.account_sid, SID);
    assert!(!contains(&sender.auth_token_sealed, TOKEN.as_bytes()));
    assert_eq!(
        sealer().open(&sender.auth_token_sealed).as_deref(),
        Some(TOKEN)
    );
    // Its page shows the webhook addresses for Twilio, never the token.
    let page = app
        .get(
            &s,
            &format!("/admin/o/{org}/outreach/sms/{}?saved=1", sender.id),
        )
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(
        page.contains(&format!("{}/hooks/sms/{}", app.base, sender.id)),
        "{page}"
    );
    assert!(page.contains(&format!("{}/hooks/sms/{}/status", app.base, sender.id)));
    assert!(page.contains("Saved."));
    assert!(!page.contains(TOKEN));
    assert!(
        !page.contains(&TOKEN[TOKEN.len() - 4..]),
        "not even its end"
    );
    let landing = app
        .get(&s, &format!("/admin/o/{org}/outreach"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(landing.contains("+12025550100") && !landing.contains(TOKEN));

    // Editing without a token keeps it; with one replaces it.
    let path = format!("/admin/o/{org}/outreach/sms/{}", sender.id);
    let resp = app
        .post(
            &s,
            &path,
            &sms_form(&[("auth_token", ""), ("help_contact", "agency.gov/help")]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let kept = app.store.org_sms_sender(org, sender.id).await.unwrap();
    assert_eq!(kept.help_contact, "agency.gov/help");
    assert_eq!(sender.messages_per_second, 1, "1 a second unless said");
    assert_eq!(kept.auth_token_sealed, sender.auth_token_sealed);
    let new_token = "fedcba9876543210fedcba9876543210";
    let resp = app
        .post(
            &s,
            &path,
            &sms_form(&[("auth_token", new_token), ("messages_per_second", "3")]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let changed = app.store.org_sms_sender(org, sender.id).await.unwrap();
    assert_eq!(changed.messages_per_second, 3);
    assert_eq!(
        sealer().open(&changed.auth_token_sealed).as_deref(),
        Some(new_token)
    );

    // The webhook takes the sender as set up here: a HELP signed with the new token gets the contact line.
    let hook = format!("/hooks/sms/{}", sender.id);
    let params: Vec<(String, String)> = [
        ("MessageSid", "SMadmin1"),
        ("AccountSid", SID),
        ("From", "+12025550143"),
        ("To", "+12025550100"),
        ("Body", "HELP"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let sig = sign(
        SignatureAlgorithm::HmacSha1,
        new_token,
        &format!("{}{hook}", app.base),
        &params,
    );
    let resp = app
        .client
        .post(format!("{}{hook}", app.base))
        .header("x-twilio-signature", sig)
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("1-800-555-0100"));
});

both_backends!(outreach_admin_sms_sender_bad_input, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let path = format!("/admin/o/{org}/outreach/sms");
    let cases: &[(&str, &str, &str)] = &[
        (
            "phone_number",
            "202-555-0100",
            "Phone number: write the Twilio number in E.164 form",
        ),
        ("phone_number", "+0123456789", "Phone number:"),
        ("account_sid", "AC0123", "Account SID:"),
        (
            "account_sid",
            "SK0123456789abcdef0123456789abcdef",
            "Account SID:",
        ),
        ("auth_token", "", "Auth token: copy it"),
        ("auth_token", "short", "Auth token: 16 to 128"),
        ("help_contact", "", "Contact line for HELP:"),
        ("help_contact", &"x".repeat(101), "Contact line for HELP:"),
        ("messages_per_second", "0", "Messages a second:"),
        ("messages_per_second", "101", "Messages a second:"),
        ("messages_per_second", "1.5", "Messages a second:"),
    ];
    for (field, value, message) in cases {
        let resp = app.post(&s, &path, &sms_form(&[(field, value)])).await;
        assert_eq!(resp.status(), 422, "{field}={value}");
        let html = resp.text().await.unwrap().replace("&#x2f;", "/");
        assert!(html.contains(message), "{field}={value}: {html}");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{field}");
        assert!(!html.contains(TOKEN), "the token is not typed back");
    }
    assert!(
        app.store.sms_senders(org).await.unwrap().is_empty(),
        "nothing written"
    );
    // A number set up twice is refused; so is a change to another sender's number.
    assert_eq!(app.post(&s, &path, &sms_form(&[])).await.status(), 303);
    let again = app.post(&s, &path, &sms_form(&[])).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("already set up"));
    assert_eq!(app.store.sms_senders(org).await.unwrap().len(), 1);
    // A bad edit changes nothing.
    let id = app.store.sms_senders(org).await.unwrap()[0].id;
    let resp = app
        .post(
            &s,
            &format!("{path}/{id}"),
            &sms_form(&[("account_sid", "nope"), ("help_contact", "changed")]),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(
        app.store
            .org_sms_sender(org, id)
            .await
            .unwrap()
            .help_contact,
        "1-800-555-0100"
    );
});

both_backends!(outreach_admin_roles_and_tenants, |app| {
    let org = app.a.org;
    let analyst = member(&app, Role::Analyst, "analyst@agency-a.example.gov").await;
    let viewer = member(&app, Role::Viewer, "viewer@agency-a.example.gov").await;
    // Tenant B's sender, by id, from tenant A's admin pages.
    let other = app
        .store
        .create_sms_sender(
            app.b.org,
            &NewSmsSender {
                phone_number: "+12025550199".into(),
                account_sid: SID.into(),
                auth_token_sealed: sealer().seal(TOKEN),
                help_contact: "b's line".into(),
            },
            1,
        )
        .await
        .unwrap();
    for s in [&analyst, &viewer] {
        // Everyone sees the landing page and the previews; no one but admins sees or changes senders.
        assert_eq!(
            app.get(s, &format!("/admin/o/{org}/outreach"))
                .await
                .status(),
            200
        );
        assert_eq!(
            app.get(s, &format!("/admin/o/{org}/outreach/preview"))
                .await
                .status(),
            200
        );
        assert_eq!(
            app.get(s, &format!("/admin/o/{org}/outreach/sms/new"))
                .await
                .status(),
            403
        );
        assert_eq!(
            app.get(s, &format!("/admin/o/{org}/outreach/email"))
                .await
                .status(),
            403
        );
        assert_eq!(
            app.post(s, &format!("/admin/o/{org}/outreach/sms"), &sms_form(&[]))
                .await
                .status(),
            403
        );
        let email = app
            .post(
                s,
                &format!("/admin/o/{org}/outreach/email"),
                &[
                    ("host", "127.0.0.1"),
                    ("port", "25"),
                    ("tls_mode", "none"),
                    ("from_address", "a@agency.gov"),
                ],
            )
            .await;
        assert_eq!(email.status(), 403);
    }
    assert!(app.store.sms_senders(org).await.unwrap().is_empty());
    assert!(app.store.email_sender(org).await.unwrap().is_none());
    let landing = app
        .get(&viewer, &format!("/admin/o/{org}/outreach"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(
        !landing.contains("Set up a text message number"),
        "no setup link for viewers"
    );

    let admin = app.sign_in(&app.a.admin_email).await;
    let path = format!("/admin/o/{org}/outreach/sms/{other}");
    assert_eq!(app.get(&admin, &path).await.status(), 404);
    assert_eq!(app.post(&admin, &path, &sms_form(&[])).await.status(), 404);
    assert_eq!(
        app.get(
            &admin,
            &format!("/admin/o/{org}/outreach/preview?sender={other}")
        )
        .await
        .status(),
        404
    );
    let b = app.store.org_sms_sender(app.b.org, other).await.unwrap();
    assert_eq!(b.help_contact, "b's line");
    assert_eq!(b.phone_number, "+12025550199");
    // Tenant B's pages are not tenant A's admin's.
    assert_eq!(
        app.get(&admin, &format!("/admin/o/{}/outreach", app.b.org))
            .await
            .status(),
        404
    );
});

fn email_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("host", "smtp.agency.gov"),
        ("port", "587"),
        ("tls_mode", "starttls"),
        ("username", "heard"),
        ("password", "smtp-secret-password"),
        ("from_address", "feedback@agency.gov"),
        ("from_name", "Agency A"),
        ("dkim_selector", "heard2026"),
        ("dkim_domain", "agency.gov"),
        ("dkim_key", include_str!("../data/dkim-test-key.pem")),
    ];
    for (k, v) in overrides {
        f.retain(|(name, _)| name != k);
        f.push((k, v));
    }
    f
}

both_backends!(outreach_admin_email_sender, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let path = format!("/admin/o/{org}/outreach/email");
    let key = include_str!("../data/dkim-test-key.pem");

    // Bad input, field by field: 422 naming it, nothing written.
    let cases: &[(&str, &str, &str)] = &[
        ("host", "smtp agency.gov", "SMTP server:"),
        ("port", "0", "Port:"),
        ("port", "70000", "Port:"),
        ("tls_mode", "ssl", "Encryption: choose"),
        (
            "tls_mode",
            "none",
            "Encryption: a password may go unencrypted only",
        ),
        ("from_address", "feedback", "From address:"),
        (
            "dkim_domain",
            "other.gov",
            "DKIM domain: it must be the From address",
        ),
        ("dkim_selector", "", "DKIM selector:"),
        (
            "dkim_key",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
            "DKIM private key:",
        ),
        (
            "dkim_key",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "DKIM private key: paste an RSA",
        ),
        ("dkim_key", "", "DKIM private key: paste the private key"),
        ("password", "", "Password: give the password"),
    ];
    for (field, value, message) in cases {
        let resp = app.post(&s, &path, &email_form(&[(field, value)])).await;
        assert_eq!(resp.status(), 422, "{field}={value}");
        let html = resp.text().await.unwrap().replace("&#x2f;", "/");
        assert!(html.contains(message), "{field}={value}: {html}");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{field}");
        assert!(
            !html.contains("smtp-secret-password"),
            "the password is not typed back"
        );
        let stored = app.store.email_sender(org).await.unwrap();
        assert!(stored.is_none(), "nothing written for {field}");
    }

    // A good form: stored with its secrets sealed.
    let resp = app.post(&s, &path, &email_form(&[])).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), format!("{path}?saved=1"));
    let e = app.store.email_sender(org).await.unwrap().unwrap();
    assert_eq!((e.host.as_str(), e.port), ("smtp.agency.gov", 587));
    assert_eq!(e.tls, heard_store::outreach::TlsMode::StartTls);
    let password = e.password_sealed.clone().unwrap();
    assert!(!contains(&password, b"smtp-secret-password"));
    assert_eq!(
        sealer().open(&password).as_deref(),
        Some("smtp-secret-password")
    );
    let sealed_key = e.dkim_key_sealed.clone().unwrap();
    assert!(!contains(&sealed_key, b"PRIVATE KEY"));
    assert_eq!(sealer().open(&sealed_key).as_deref(), Some(key.trim()));
    let page = app
        .get(&s, &format!("{path}?saved=1"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(page.contains("A password is set") && page.contains("A key is set"));
    assert!(!page.contains("smtp-secret-password") && !page.contains("PRIVATE KEY-----\nMII"));

    // Saved again without password or key: both kept.
    let resp = app
        .post(
            &s,
            &path,
            &email_form(&[("password", ""), ("dkim_key", ""), ("from_name", "")]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let again = app.store.email_sender(org).await.unwrap().unwrap();
    assert_eq!(again.password_sealed, Some(password));
    assert_eq!(again.dkim_key_sealed, Some(sealed_key));
    assert_eq!(again.from_name, None);

    // An Ed25519 key in PKCS#8 is kept as lettre reads it (its 32-byte seed in base64) and signs.
    let resp = app
        .post(&s, &path, &email_form(&[("dkim_key", ED25519_PEM)]))
        .await;
    assert_eq!(resp.status(), 303);
    let ed = app.store.email_sender(org).await.unwrap().unwrap();
    let text = sealer().open(ed.dkim_key_sealed.as_ref().unwrap()).unwrap();
    assert_eq!(text.len(), 44, "{text}");
    assert!(heard_server::outreach::dkim_signing_key(&text).is_ok());

    // Turning DKIM and the login off; no encryption to a relay on this machine.
    let resp = app
        .post(
            &s,
            &path,
            &email_form(&[
                ("dkim_selector", ""),
                ("dkim_domain", ""),
                ("dkim_key", ""),
                ("username", ""),
                ("password", ""),
                ("host", "127.0.0.1"),
                ("port", "2525"),
                ("tls_mode", "none"),
            ]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let off = app.store.email_sender(org).await.unwrap().unwrap();
    assert_eq!(
        (
            off.dkim_selector,
            off.dkim_key_sealed,
            off.username,
            off.password_sealed
        ),
        (None, None, None, None)
    );
    let landing = app
        .get(&s, &format!("/admin/o/{org}/outreach"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(landing.contains("feedback@agency.gov") && landing.contains("127.0.0.1:2525"));
});

/// The table row the preview shows for `text`, as the template writes it.
fn row(text: &str) -> String {
    let s = segments(text);
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;");
    format!(
        "<bdi>{escaped}</bdi></td>\n    <td data-label=\"Characters\">{}</td>\n    <td data-label=\"Encoding\">{}",
        text.chars().count(),
        match s.encoding {
            heard_channels::sms::Encoding::Gsm7 => "GSM-7",
            heard_channels::sms::Encoding::Ucs2 => "UCS-2",
        }
    )
}

both_backends!(outreach_admin_previews, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    // A HELP line with "¿" and "ñ": both in GSM-7, so the English answer to HELP stays GSM-7.
    let help = "¿Ayuda? Llame a la señora Peña, 1-800-555-0100";
    let resp = app
        .post(
            &s,
            &format!("/admin/o/{org}/outreach/sms"),
            &sms_form(&[("help_contact", help)]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let survey = app.a.survey.id;
    let resp = app
        .get(
            &s,
            &format!("/admin/o/{org}/outreach/preview?survey={survey}"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = resp.text().await.unwrap().replace("&#x2f;", "/");

    let help_en =
        format!("Agency A feedback survey. Questions: {help}. Reply STOP to unsubscribe.");
    assert_eq!(
        segments(&help_en).encoding,
        heard_channels::sms::Encoding::Gsm7
    );
    assert!(html.contains(&row(&help_en)), "{}\n{html}", row(&help_en));
    assert!(html.contains(&format!(
        "{}</td>\n    <td data-label=\"Segments\">1</td>",
        row(&help_en)
    )));
    // The same question in Spanish has "ó": UCS-2, and the page says which character did it.
    let what_en = "What went well, or what didn't? Reply in a few words.";
    let what_es = "¿Qué salió bien o qué no? Responda en pocas palabras.";
    assert!(html.contains(&row(what_en)), "{html}");
    assert!(html.contains(&row(what_es)), "{html}");
    assert!(
        html.contains("UCS-2<br><span class=\"heard-muted\">because of “ó”</span>"),
        "{html}"
    );
    // The opening quotes the survey's trust question, and the totals are the four messages of a finished one.
    let statement_es = app
        .a
        .survey
        .draft
        .question_with_role(heard_domain::survey::A11Role::Trust)
        .unwrap()
        .prompt
        .get("es")
        .to_string();
    let opening_es = heard_channels::sms::Conversation::start(
        heard_channels::sms::Lang::Es,
        heard_channels::sms::TrustScale::YesNo,
    )
    .opening("Agency A", &statement_es);
    assert!(html.contains(&row(&opening_es)), "{html}");
    let total = segments(&opening_es).segments
        + segments(what_es).segments
        + segments("¿Algo más que quiera decirnos? Responda, u OMITIR para terminar.").segments
        + segments("Gracias por su opinión.").segments;
    assert!(
        html.contains(&format!("<strong>{total} segments</strong> with YES or NO")),
        "{html}"
    );
    if segments(&opening_es).segments > 1 {
        assert!(html.contains("More than one segment"));
    }
    // The emails in both languages, with example links only and the HTML in a sandboxed frame.
    assert!(html.contains("How did we do? A short survey from Agency A"));
    assert!(html.contains("Recordatorio: ¿cómo lo hicimos? Encuesta breve de Agency A"));
    assert!(
        html.contains(&format!("{}/o/example-link", app.base)),
        "{html}"
    );
    assert_eq!(html.matches("<iframe").count(), 4);
    assert!(html.contains(&format!(
        "sandbox src=\"/admin/o/{org}/outreach/preview/email.html?lang=es&amp;reminder=1\""
    )));
    assert!(
        html.contains("&lt;a href=&quot;"),
        "the HTML source is shown escaped"
    );
    let frame = app
        .get(
            &s,
            &format!("/admin/o/{org}/outreach/preview/email.html?lang=es&reminder=1"),
        )
        .await;
    assert_eq!(frame.status(), 200);
    let fcsp = frame.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        fcsp.contains("sandbox")
            && fcsp.contains("default-src 'none'")
            && !fcsp.contains("script-src"),
        "{fcsp}"
    );
    assert_eq!(frame.headers()["x-frame-options"], "SAMEORIGIN");
    let body = frame.text().await.unwrap().replace("&#x2f;", "/");
    assert!(body.contains("Responder la encuesta") && body.contains("example-link"));
    // An unknown survey is not found; another organization's survey too.
    assert_eq!(
        app.get(
            &s,
            &format!("/admin/o/{org}/outreach/preview?survey={}", app.b.survey.id)
        )
        .await
        .status(),
        404
    );

    // The survey editor shows the opening's segments and links to the previews; so does its dashboard.
    let edit = app
        .get(&s, &format!("/admin/o/{org}/surveys/{survey}/edit"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(edit.contains("Length by text message"), "{edit}");
    let o = segments(&opening_es);
    assert!(
        edit.contains(&format!("{} segment", o.segments))
            && edit.contains(&format!(
                "({} characters, UCS-2)",
                opening_es.chars().count()
            )),
        "{edit}"
    );
    assert!(edit.contains(&format!("/admin/o/{org}/outreach/preview?survey={survey}")));
    let dash = app
        .get(&s, &format!("/admin/o/{org}/surveys/{survey}"))
        .await
        .text()
        .await
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(dash.contains("Text message and email previews"));
});

both_backends!(outreach_admin_test_email, |app| {
    use crate::outreach_smtp::{SmtpSink, header, received};
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let _sink = SmtpSink::start(dir.path(), port);
    let s = app.sign_in(&app.a.admin_email).await;
    let org = app.a.org;
    let path = format!("/admin/o/{org}/outreach/email");
    // No sender yet: nothing to test with.
    assert_eq!(
        app.post(&s, &format!("{path}/test"), &[]).await.status(),
        422
    );
    let port_s = port.to_string();
    let resp = app
        .post(
            &s,
            &path,
            &email_form(&[
                ("host", "127.0.0.1"),
                ("port", &port_s),
                ("tls_mode", "none"),
                ("username", ""),
                ("password", ""),
            ]),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let page = app.get(&s, &path).await.text().await.unwrap();
    assert!(page.contains("Send a test email to me"));
    let resp = app.post(&s, &format!("{path}/test"), &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), format!("{path}?test=1"));
    let page = app.get(&s, &location(&resp)).await.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "A test email is on its way to {}",
            app.a.admin_email
        )),
        "{page}"
    );
    // Analysts may not send one.
    let analyst = member(&app, Role::Analyst, "analyst@agency-a.example.gov").await;
    assert_eq!(
        app.post(&analyst, &format!("{path}/test"), &[])
            .await
            .status(),
        403
    );
    assert_eq!(
        app.queued_jobs(org, heard_server::outreach::TEST_KIND)
            .await
            .len(),
        1
    );

    // The job sends it over the real SMTP path, DKIM-signed as invitations are.
    let mut registry = heard_server::jobs::JobRegistry::product();
    registry.register(
        heard_server::outreach::TEST_KIND,
        heard_server::outreach::SendTestEmail::new(&[9u8; 32]),
    );
    let worker = heard_server::jobs::Worker::new(app.store.clone(), registry, Default::default());
    assert_eq!(worker.run_pending_once().await.unwrap(), 1);
    let got = received(dir.path(), 1);
    assert_eq!(got.len(), 1);
    assert_eq!(
        header(&got[0], "Subject"),
        Some("Test email from Heard for Agency A")
    );
    assert!(header(&got[0], "To").unwrap().contains(&app.a.admin_email));
    assert!(
        header(&got[0], "DKIM-Signature")
            .unwrap()
            .contains("d=agency.gov")
    );
    // A proper text/plain message, its MIME headers signed with the rest, and dkimpy verifies the signature.
    assert_eq!(
        header(&got[0], "Content-Type"),
        Some("text/plain; charset=\"utf-8\"")
    );
    assert_eq!(header(&got[0], "MIME-Version"), Some("1.0"));
    let signed = crate::outreach_smtp::dkim_signed_headers(&got[0]);
    for h in crate::outreach_smtp::MUST_SIGN {
        assert!(
            signed.iter().any(|s| s == h),
            "{h} is not signed: {signed:?}"
        );
    }
    assert!(crate::outreach_smtp::dkim_verifies(dir.path(), 0));
    assert!(
        app.queued_jobs(org, heard_server::outreach::TEST_KIND)
            .await
            .is_empty()
    );
});
