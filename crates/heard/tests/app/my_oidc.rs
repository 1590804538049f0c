//! MyAgency's sign-in with an OpenID Connect provider (issue 21, item 6), on both backends, against npm's certified
//! `oidc-provider` on loopback (`e2e/oidc-provider.mjs`, run with the machine's Node.js from `node_modules`, which
//! `npm ci` installs; the README's test command does). The provider's development sign-in and consent forms are
//! driven over plain HTTP, cookies kept by hand.
//!
//! Shown: the admin form refuses what it cannot use, naming the field (a provider that cannot be reached, a key that
//! is not one, a missing secret) and writes nothing; the credential is stored sealed and kept when the field is left
//! empty; admins only. A person signs in with `private_key_jwt`, PKCE alone, and a client secret, and gets the
//! session of the person key a link to their verified email would give; an unverified email signs nobody in; a
//! wrong secret gets "could not sign you in" (502); a callback with no flow, another state, or a replayed code opens
//! nothing; the other organization has no provider and its routes are the not-found page.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use heard_domain::identity::PersonId;
use heard_server::crypto::{Sealer, sha256};
use heard_store::myagency::ClientAuth;
use serde_json::Value;

use crate::both_backends;
use crate::support::{Session, TestApp, free_port};

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    /// Its standard output, kept open: a closed pipe would end it at its next line.
    _stdout: BufReader<std::process::ChildStdout>,
    issuer: String,
    private_key_pem: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `e2e/oidc-provider.mjs` on a free loopback port, sending people back to `redirect_uri`, with a key pair
/// made for this run.
fn provider(redirect_uri: &str) -> Provider {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        root.join("node_modules/oidc-provider").exists(),
        "npm's oidc-provider is not installed: run `npm ci` at the repository's root (scripts/test.sh does)"
    );
    let port = free_port();
    let mut child = Command::new(std::env::var("HEARD_NODE").unwrap_or_else(|_| "node".into()))
        .arg(root.join("e2e/oidc-provider.mjs"))
        .arg(port.to_string())
        .arg(redirect_uri)
        .arg("generate")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("Node.js runs (set HEARD_NODE to its path if it is not on PATH)");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|_| panic!("oidc-provider did not start: {line:?}"));
    Provider {
        child,
        _stdout: stdout,
        issuer: ready["issuer"].as_str().unwrap().to_string(),
        private_key_pem: ready["private_key_pem"].as_str().unwrap().to_string(),
    }
}

/// Cookies by name, as a browser would keep them for one site (paths ignored: every one is sent back).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn keep(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.0.remove(k);
            } else {
                self.0.insert(k.to_string(), v.to_string());
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn location(resp: &reqwest::Response) -> String {
    assert!(
        resp.status().is_redirection(),
        "a redirect, not {}",
        resp.status()
    );
    resp.headers()["location"].to_str().unwrap().to_string()
}

/// The first form's action in a page.
fn form_action(html: &str) -> String {
    html.split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("a form in {html}"))
        .to_string()
}

/// Where a sign-in with the provider ends: the callback's URL on Heard and Heard's flow cookie.
struct Back {
    callback: String,
    heard: Jar,
}

/// Starts at `/my/{slug}/oidc`, signs in at the provider as `login` (its development form, then consent), and
/// returns where the provider sends the browser back, not yet followed.
async fn through_provider(app: &TestApp, p: &Provider, slug: &str, login: &str) -> Back {
    let client = &app.client;
    let mut heard = Jar::default();
    let start = client
        .get(format!("{}/my/{slug}/oidc?lang=en", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    heard.keep(&start);
    let auth = location(&start);
    assert!(auth.starts_with(&p.issuer), "{auth}");
    assert!(auth.contains("code_challenge_method=S256"), "{auth}");
    assert!(auth.contains("nonce="), "{auth}");
    let mut op = Jar::default();
    let abs = |u: &str| {
        if u.starts_with("http") {
            u.to_string()
        } else {
            format!("{}{u}", p.issuer)
        }
    };
    let mut url = auth;
    // Bounded: the provider's login, consent and their redirects take about eight hops.
    for _ in 0..12 {
        if url.starts_with(&app.base) {
            return Back {
                callback: url,
                heard,
            };
        }
        let resp = client
            .get(abs(&url))
            .header("cookie", op.header())
            .send()
            .await
            .unwrap();
        op.keep(&resp);
        if resp.status().is_redirection() {
            url = location(&resp);
            continue;
        }
        let html = resp.text().await.unwrap();
        let action = form_action(&html);
        let form: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![
                ("prompt", "login"),
                ("login", login),
                ("password", "any password"),
            ]
        } else {
            vec![("prompt", "consent")]
        };
        let resp = client
            .post(abs(&action))
            .header("cookie", op.header())
            .form(&form)
            .send()
            .await
            .unwrap();
        op.keep(&resp);
        url = location(&resp);
    }
    panic!("the provider did not send the browser back");
}

/// Follows the provider's redirect back to Heard: the response, and the person session's cookie if one was set.
async fn come_back(app: &TestApp, back: &Back) -> (reqwest::Response, Option<String>) {
    let resp = app
        .client
        .get(&back.callback)
        .header("cookie", back.heard.header())
        .send()
        .await
        .unwrap();
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("heard_my="))
        .map(|v| v.split(';').next().unwrap().to_string());
    (resp, session)
}

async fn save(
    app: &TestApp,
    s: &Session,
    issuer: &str,
    client_id: &str,
    auth: &str,
    credential: &str,
) -> reqwest::Response {
    app.post(
        s,
        &format!("/admin/o/{}/my-sign-in", app.a.org),
        &[
            ("label", "Login.gov"),
            ("issuer", issuer),
            ("client_id", client_id),
            ("client_auth", auth),
            ("credential", credential),
            ("scopes", "email"),
            ("acr_values", "urn:acr.login.gov:auth-only"),
            ("enabled", "on"),
        ],
    )
    .await
}

fn person_key(app: &TestApp, email: &str) -> String {
    Sealer::new(&[9u8; 32])
        .person_key(app.a.org, &PersonId::email("e", email).unwrap())
        .0
}

both_backends!(
    the_admin_sets_a_provider_and_a_person_signs_in_with_it,
    |app| {
        let redirect = format!("{}/my/{}/oidc/callback", app.base, app.a.slug);
        let p = provider(&redirect);
        let s = app.sign_in(&app.a.admin_email).await;
        let page_path = format!("/admin/o/{}/my-sign-in", app.a.org);

        // No provider: the sign-in form offers none and its route is the not-found page.
        let form = app
            .client
            .get(format!("{}/my/{}", app.base, app.a.slug))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!form.contains("/oidc"));
        let none = app
            .client
            .get(format!("{}/my/{}/oidc", app.base, app.a.slug))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 404);

        // The page shows the redirect URI to register.
        let page = app.get(&s, &page_path).await.text().await.unwrap();
        assert!(page.contains(&redirect.replace('/', "&#x2f;")) || page.contains(&redirect));

        // Refusals, each naming its field; nothing written.
        let r = save(&app, &s, "", "", "nothing", "").await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        for field in [
            "href=\"#issuer\"",
            "href=\"#client_id\"",
            "href=\"#client_auth\"",
        ] {
            assert!(html.contains(field), "{field} named");
        }
        let closed = format!("http://127.0.0.1:{}", free_port());
        let r = save(
            &app,
            &s,
            &closed,
            "heard-jwt",
            "private_key_jwt",
            &p.private_key_pem,
        )
        .await;
        assert_eq!(r.status(), 422);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Issuer: Heard could not read")
        );
        let r = save(
            &app,
            &s,
            &p.issuer,
            "heard-jwt",
            "private_key_jwt",
            "not a key",
        )
        .await;
        assert_eq!(r.status(), 422);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("paste the RSA private key in PEM")
        );
        let r = save(&app, &s, &p.issuer, "heard-jwt", "private_key_jwt", "").await;
        assert_eq!(r.status(), 422, "a key is needed");
        let r = save(&app, &s, "ftp://127.0.0.1", "heard-jwt", "none", "").await;
        assert_eq!(r.status(), 422);
        assert!(
            app.store
                .my_sign_in_provider(app.a.org)
                .await
                .unwrap()
                .is_none()
        );

        // Admins only.
        let hash = heard_server::auth::hash_password(crate::support::PASSWORD).unwrap();
        let analyst = app
            .store
            .create_user("analyst@agency-a.example.gov", "Analyst", &hash, 1)
            .await
            .unwrap();
        app.store
            .set_membership(app.a.org, analyst.id, heard_domain::Role::Analyst, 1)
            .await
            .unwrap();
        let an = app.sign_in("analyst@agency-a.example.gov").await;
        assert_eq!(app.get(&an, &page_path).await.status(), 403);
        let r = save(&app, &an, &p.issuer, "heard-pkce", "none", "").await;
        assert_eq!(r.status(), 403);
        assert!(
            app.store
                .my_sign_in_provider(app.a.org)
                .await
                .unwrap()
                .is_none()
        );

        // private_key_jwt, as Login.gov: saved, the key sealed.
        let r = save(
            &app,
            &s,
            &p.issuer,
            "heard-jwt",
            "private_key_jwt",
            &p.private_key_pem,
        )
        .await;
        assert_eq!(r.status(), 303);
        let stored = app
            .store
            .my_sign_in_provider(app.a.org)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.client_auth, ClientAuth::PrivateKeyJwt);
        assert_eq!(stored.acr_values, "urn:acr.login.gov:auth-only");
        let sealed = stored.credential_sealed.clone().unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("PRIVATE KEY"));
        assert!(
            !app.get(&s, &page_path)
                .await
                .text()
                .await
                .unwrap()
                .contains("PRIVATE KEY")
        );
        // Saved again with the field empty: the key is kept.
        let r = save(&app, &s, &p.issuer, "heard-jwt", "private_key_jwt", "").await;
        assert_eq!(r.status(), 303);
        let again = app
            .store
            .my_sign_in_provider(app.a.org)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.credential_sealed.as_deref(), Some(sealed.as_slice()));
        // The other organization has none.
        assert!(
            app.store
                .my_sign_in_provider(app.b.org)
                .await
                .unwrap()
                .is_none()
        );
        let other = app
            .client
            .get(format!("{}/my/{}/oidc", app.base, app.b.slug))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404);

        // A person signs in: the session is their email's person key.
        let back = through_provider(&app, &p, &app.a.slug, "Someone@Example.org").await;
        assert!(back.callback.contains("code=") && back.callback.contains("state="));
        let (resp, session) = come_back(&app, &back).await;
        assert_eq!(resp.status(), 303, "signed in");
        assert_eq!(location(&resp), format!("/my/{}?lang=en", app.a.slug));
        let session = session.expect("a person session");
        let token = session.split_once('=').unwrap().1;
        let me = app
            .store
            .my_session(app.a.org, &sha256(token.as_bytes()), heard_store::now_ms())
            .await
            .unwrap()
            .expect("the session is live");
        assert_eq!(me.person_key, person_key(&app, "someone@example.org"));
        assert_eq!(me.channel, "email");
        let home = app
            .client
            .get(format!("{}/my/{}", app.base, app.a.slug))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(home.status(), 200);
        assert!(home.text().await.unwrap().contains("Sign out"));
        // The session opens nothing at the other organization.
        let b_home = app
            .client
            .get(format!("{}/my/{}", app.base, app.b.slug))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!b_home.contains("Sign out"));

        // The same code again (the flow cookie kept by an attacker): the provider refuses it; nobody is signed in.
        let (replay, replay_session) = come_back(&app, &back).await;
        assert_eq!(replay.status(), 502);
        assert!(replay_session.is_none());
        // Another state, or no flow cookie: the not-found page.
        let wrong_state = Back {
            callback: back.callback.replace("state=", "state=x"),
            heard: Jar(back.heard.0.clone()),
        };
        assert_eq!(come_back(&app, &wrong_state).await.0.status(), 404);
        let no_flow = Back {
            callback: back.callback.clone(),
            heard: Jar::default(),
        };
        assert_eq!(come_back(&app, &no_flow).await.0.status(), 404);
        // A forged flow cookie does not open.
        let mut forged = Jar::default();
        forged.0.insert(
            "heard_my_oidc".into(),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
        );
        let forged = Back {
            callback: back.callback.clone(),
            heard: forged,
        };
        assert_eq!(come_back(&app, &forged).await.0.status(), 404);

        // An email the provider has not verified signs nobody in.
        let back = through_provider(&app, &p, &app.a.slug, "unverified:someone@example.org").await;
        let (resp, session) = come_back(&app, &back).await;
        assert_eq!(resp.status(), 403);
        assert!(session.is_none());
        // A verified phone number (the phone scope asked for) signs in as that number.
        let r = app
            .post(
                &s,
                &page_path,
                &[
                    ("label", "Login.gov"),
                    ("issuer", &p.issuer),
                    ("client_id", "heard-pkce"),
                    ("client_auth", "none"),
                    ("credential", ""),
                    ("scopes", "email"),
                    ("scopes", "phone"),
                    ("enabled", "on"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let back = through_provider(&app, &p, &app.a.slug, "phone:+12025550143").await;
        let (resp, session) = come_back(&app, &back).await;
        assert_eq!(resp.status(), 303);
        let token = session.unwrap().split_once('=').unwrap().1.to_string();
        let me = app
            .store
            .my_session(app.a.org, &sha256(token.as_bytes()), heard_store::now_ms())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(me.channel, "sms");
        assert_eq!(
            me.person_key,
            Sealer::new(&[9u8; 32])
                .person_key(app.a.org, &PersonId::phone("p", "+12025550143").unwrap())
                .0
        );
        assert!(
            app.store
                .my_sign_in_provider(app.a.org)
                .await
                .unwrap()
                .unwrap()
                .credential_sealed
                .is_none()
        );

        // A client secret, right and wrong.
        let r = save(
            &app,
            &s,
            &p.issuer,
            "heard-secret",
            "client_secret_basic",
            "",
        )
        .await;
        assert_eq!(r.status(), 422, "a secret is needed");
        let r = save(
            &app,
            &s,
            &p.issuer,
            "heard-secret",
            "client_secret_basic",
            "heard-test-secret-0123456789abcdef",
        )
        .await;
        assert_eq!(r.status(), 303);
        let back = through_provider(&app, &p, &app.a.slug, "someone@example.org").await;
        let (resp, session) = come_back(&app, &back).await;
        assert_eq!(resp.status(), 303);
        assert!(session.is_some());
        let r = save(
            &app,
            &s,
            &p.issuer,
            "heard-secret",
            "client_secret_basic",
            "a-wrong-secret-0123456789",
        )
        .await;
        assert_eq!(r.status(), 303);
        let back = through_provider(&app, &p, &app.a.slug, "someone@example.org").await;
        let (resp, session) = come_back(&app, &back).await;
        assert_eq!(resp.status(), 502);
        assert!(session.is_none());
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("We could not sign you in with Login.gov")
        );

        // Turned off, then removed: the route is the not-found page again.
        let r = app
            .post(
                &s,
                &page_path,
                &[
                    ("label", "Login.gov"),
                    ("issuer", &p.issuer),
                    ("client_id", "heard-pkce"),
                    ("client_auth", "none"),
                    ("scopes", "email"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        let off = app
            .client
            .get(format!("{}/my/{}/oidc", app.base, app.a.slug))
            .send()
            .await
            .unwrap();
        assert_eq!(off.status(), 404);
        let r = app.post(&s, &format!("{page_path}/remove"), &[]).await;
        assert_eq!(r.status(), 303);
        assert!(
            app.store
                .my_sign_in_provider(app.a.org)
                .await
                .unwrap()
                .is_none()
        );
    }
);
