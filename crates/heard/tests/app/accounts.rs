//! Accounts as attackers and agencies meet them: sign-in throttling that never locks out the people it defends,
//! sessions that end when a password is reset or on request, organizations only site operators create, members
//! who join by accepting an invitation, and members an admin can remove.

use reqwest::Response;
use std::process::Command;

use crate::both_backends;
use crate::support::{Backend, PASSWORD, TestApp, spawn_app_with};

/// Runs a test on both backends with the server trusting `X-Forwarded-For`, so a test can sign in from several
/// addresses.
macro_rules! both_backends_proxied {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: TestApp) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(spawn_app_with(Backend::Sqlite, |c| c.trusted_proxy_hops = 1).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(spawn_app_with(Backend::Postgres, |c| c.trusted_proxy_hops = 1).await).await;
            }
        }
    };
}

/// Posts the sign-in form from `address` and returns the answer (303 signed in, 401 wrong, 429 wait).
async fn sign_in_from(app: &TestApp, email: &str, password: &str, address: &str) -> Response {
    let page = app
        .client
        .get(format!("{}/admin/login", app.base))
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap();
    let cookie = cookie_pair(&page, "heard_login_csrf").unwrap();
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    app.client
        .post(format!("{}/admin/login", app.base))
        .header("cookie", cookie)
        .header("x-forwarded-for", address)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("next", "/admin"),
        ])
        .send()
        .await
        .unwrap()
}

fn cookie_pair(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

async fn add_account(app: &TestApp, email: &str, role: Option<heard_domain::Role>) {
    let hash = heard_server::auth::hash_password(PASSWORD).unwrap();
    let u = app
        .store
        .create_user(email, "Someone", &hash, 1)
        .await
        .unwrap();
    if let Some(role) = role {
        app.store
            .set_membership(app.a.org, u.id, role, 1)
            .await
            .unwrap();
    }
}

fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .unwrap_or_default()
}

both_backends_proxied!(
    failures_from_one_address_never_refuse_the_right_password_from_another,
    |app| {
        let email = app.a.admin_email.clone();
        let attacker = "198.51.100.7";
        let mut statuses = Vec::new();
        for _ in 0..8 {
            statuses.push(
                sign_in_from(&app, &email, "wrong password!!", attacker)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(&statuses[..5], [401; 5], "five mistakes are free");
        assert_eq!(
            &statuses[5..],
            [429; 3],
            "then the address waits before guessing again"
        );
        assert_eq!(
            sign_in_from(&app, &email, PASSWORD, attacker)
                .await
                .status(),
            429,
            "the guessing address waits even with the right password"
        );
        // The admin at their own desk signs in at once.
        let r = sign_in_from(&app, &email, PASSWORD, "203.0.113.9").await;
        assert_eq!(r.status(), 303, "the right password from another address");
        let s = crate::support::Session {
            cookie: cookie_pair(&r, "heard_session").unwrap(),
            csrf: String::new(),
        };
        // The lockout is recorded where an admin sees it.
        let html = app
            .get(&s, &format!("/admin/o/{}/members", app.a.org))
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("Sign-in lockouts"), "{html}");
        assert!(html.contains(attacker), "the locked address is listed");
        // And on the site page of the operator (this admin is the first account), with the address-wide counters.
        let html = app.get(&s, "/admin/site").await.text().await.unwrap();
        assert!(html.contains(attacker), "{html}");
        let lockouts = app.store.sign_in_lockouts(Some(&email)).await.unwrap();
        assert_eq!(lockouts.len(), 1);
        assert_eq!(lockouts[0].address, attacker);
        // Unlocking clears the wait.
        app.store
            .unlock_sign_in(&email, heard_store::now_ms())
            .await
            .unwrap();
        assert_eq!(
            sign_in_from(&app, &email, PASSWORD, attacker)
                .await
                .status(),
            303
        );
    }
);

both_backends_proxied!(many_people_behind_one_address_are_not_locked_out, |app| {
    let agency = "192.0.2.50";
    // Twenty colleagues behind the agency's one address each mistype three times; one mistypes ten times.
    for i in 0..20 {
        for _ in 0..3 {
            let r = sign_in_from(
                &app,
                &format!("staff{i}@agency-a.example.gov"),
                "wrong password!!",
                agency,
            )
            .await;
            assert_eq!(r.status(), 401);
        }
    }
    for _ in 0..10 {
        sign_in_from(
            &app,
            "clumsy@agency-a.example.gov",
            "wrong password!!",
            agency,
        )
        .await;
    }
    // Everyone else still signs in from that address.
    assert_eq!(
        sign_in_from(&app, &app.a.admin_email, PASSWORD, agency)
            .await
            .status(),
        303
    );
    assert_eq!(
        sign_in_from(&app, &app.b.admin_email, PASSWORD, agency)
            .await
            .status(),
        303
    );
});

both_backends!(a_password_reset_ends_every_session, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let home = format!("/admin/o/{}", app.a.org);
    assert_eq!(app.get(&s, &home).await.status(), 200);
    let user = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let hash = heard_server::auth::hash_password("a brand new password").unwrap();
    app.store.set_password(user.id, &hash).await.unwrap();
    assert_eq!(
        app.get(&s, &home).await.status(),
        303,
        "the old session is dead after the reset"
    );
});

both_backends!(sign_out_everywhere_ends_every_session_of_the_user, |app| {
    let home = format!("/admin/o/{}", app.a.org);
    let laptop = app.sign_in(&app.a.admin_email).await;
    let phone = app.sign_in(&app.a.admin_email).await;
    let r = app.post(&laptop, "/admin/sign-out-everywhere", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get(&phone, &home).await.status(),
        303,
        "the other device"
    );
    assert_eq!(app.get(&laptop, &home).await.status(), 303, "this device");
    // An admin signs a member out everywhere.
    add_account(
        &app,
        "member@agency-a.example.gov",
        Some(heard_domain::Role::Viewer),
    )
    .await;
    let member = app.sign_in("member@agency-a.example.gov").await;
    let admin = app.sign_in(&app.a.admin_email).await;
    let id = app
        .store
        .user_by_email("member@agency-a.example.gov")
        .await
        .unwrap()
        .id;
    let r = app
        .post(&admin, &format!("{home}/members/{id}/sign-out"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get(&member, &home).await.status(), 303);
    assert_eq!(
        app.get(&admin, &home).await.status(),
        200,
        "the admin stays"
    );
    // Not for someone outside the organization.
    let b_admin = app.sign_in(&app.b.admin_email).await;
    let b_id = app
        .store
        .user_by_email(&app.b.admin_email)
        .await
        .unwrap()
        .id;
    let r = app
        .post(&admin, &format!("{home}/members/{b_id}/sign-out"), &[])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        app.get(&b_admin, &format!("/admin/o/{}", app.b.org))
            .await
            .status(),
        200
    );
});

both_backends!(only_site_operators_create_organizations, |app| {
    // The first account is the site operator; the others are not.
    let first = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    assert!(first.is_operator);
    add_account(
        &app,
        "viewer@agency-a.example.gov",
        Some(heard_domain::Role::Viewer),
    )
    .await;
    let viewer = app
        .store
        .user_by_email("viewer@agency-a.example.gov")
        .await
        .unwrap();
    assert!(!viewer.is_operator);
    let before = app.store.count_orgs().await.unwrap();
    let v = app.sign_in("viewer@agency-a.example.gov").await;
    let home = app.get(&v, "/admin").await;
    // The viewer has one organization, so home goes straight to it; the form is on no page they see.
    assert_eq!(home.status(), 303);
    assert_eq!(app.get(&v, "/admin/site").await.status(), 403);
    let r = app
        .post(&v, "/admin/orgs", &[("name", "Mine"), ("slug", "mine")])
        .await;
    assert_eq!(r.status(), 403, "a viewer may not create organizations");
    let b = app.sign_in(&app.b.admin_email).await;
    let r = app
        .post(&b, "/admin/orgs", &[("name", "Mine"), ("slug", "mine")])
        .await;
    assert_eq!(r.status(), 403, "nor may an organization's admin");
    assert_eq!(app.store.count_orgs().await.unwrap(), before);
    let op = app.sign_in(&app.a.admin_email).await;
    let site = app.get(&op, "/admin/site").await;
    assert_eq!(site.status(), 200);
    assert!(
        site.text()
            .await
            .unwrap()
            .contains("Create an organization")
    );
    let r = app
        .post(
            &op,
            "/admin/orgs",
            &[("name", "New agency"), ("slug", "new-agency")],
        )
        .await;
    assert_eq!(r.status(), 303, "the operator may");
    assert_eq!(app.store.count_orgs().await.unwrap(), before + 1);
});

/// Invites `email` to A as `role` and returns the page and the invitation link's path.
async fn invite(
    app: &TestApp,
    admin: &crate::support::Session,
    email: &str,
    role: &str,
) -> (u16, String, String) {
    let r = app
        .post(
            admin,
            &format!("/admin/o/{}/invitations", app.a.org),
            &[("email", email), ("role", role)],
        )
        .await;
    let status = r.status().as_u16();
    // Attribute values escape slashes.
    let html = r.text().await.unwrap().replace("&#x2f;", "/");
    let path = html
        .split(&format!("{}/admin/invite/", app.base))
        .nth(1)
        .map(|s| format!("/admin/invite/{}", s.split(['"', '<', ' ']).next().unwrap()))
        .unwrap_or_default();
    assert!(!path.is_empty(), "no invitation link ({status}): {html}");
    (status, html, path)
}

both_backends!(known_and_unknown_emails_get_the_same_answer, |app| {
    let admin = app.sign_in(&app.a.admin_email).await;
    let known = app.b.admin_email.clone();
    let unknown = "nobody@agency-b.example.gov";
    let (s1, h1, p1) = invite(&app, &admin, &known, "analyst").await;
    let (s2, h2, p2) = invite(&app, &admin, unknown, "analyst").await;
    assert_eq!((s1, s2), (200, 200));
    assert!(!p1.is_empty() && !p2.is_empty(), "{h1}");
    // Apart from the email typed, the links and the list of invitations (which now also holds the second one), the
    // two answers are the same bytes.
    let normalize = |h: &str| {
        let tail = h
            .split("<h2>Pending invitations</h2>")
            .next()
            .unwrap()
            .to_string();
        tail.replace(&known, "EMAIL")
            .replace(unknown, "EMAIL")
            .replace(&p1, "LINK")
            .replace(&p2, "LINK")
    };
    assert_eq!(normalize(&h1), normalize(&h2));
    // Nobody joined yet.
    let b_user = app.store.user_by_email(&known).await.unwrap();
    assert_eq!(app.store.role_in(app.a.org, b_user.id).await.unwrap(), None);
    assert!(app.store.user_by_email(unknown).await.is_err());
});

both_backends!(an_invitation_must_be_accepted_before_membership, |app| {
    let a_home = format!("/admin/o/{}", app.a.org);
    let admin = app.sign_in(&app.a.admin_email).await;
    let (_, _, link) = invite(&app, &admin, &app.b.admin_email, "analyst").await;
    let b = app.sign_in(&app.b.admin_email).await;
    assert_eq!(
        app.get(&b, &a_home).await.status(),
        404,
        "not before accepting"
    );
    // B's admin sees the invitation on their home page and accepts it there.
    let home = app.get(&b, "/admin").await.text().await.unwrap();
    assert!(home.contains("Agency A"), "{home}");
    let page = app.get(&b, &link).await;
    assert_eq!(page.status(), 200, "{link} {:?}", page.headers());
    let html = page.text().await.unwrap();
    let b = crate::support::Session {
        cookie: b.cookie,
        csrf: csrf_of(&html),
    };
    let r = app.post(&b, &link, &[("answer", "accept")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get(&b, &a_home).await.status(), 200);
    let b_user = app.store.user_by_email(&app.b.admin_email).await.unwrap();
    assert_eq!(
        app.store.role_in(app.a.org, b_user.id).await.unwrap(),
        Some(heard_domain::Role::Analyst)
    );
    // The link works once.
    let r = app.post(&b, &link, &[("answer", "accept")]).await;
    assert_eq!(r.status(), 410);

    // Someone new opens their link, chooses a name and password, and is signed in as a member.
    let (_, _, link) = invite(&app, &admin, "new.person@agency-a.example.gov", "viewer").await;
    let page = app
        .client
        .get(format!("{}{link}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let login_cookie = cookie_pair(&page, "heard_login_csrf").unwrap();
    let csrf = login_cookie.split_once('=').unwrap().1.to_string();
    let r = app
        .client
        .post(format!("{}{link}", app.base))
        .header("cookie", &login_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "New Person"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let s = crate::support::Session {
        cookie: cookie_pair(&r, "heard_session").unwrap(),
        csrf: String::new(),
    };
    assert_eq!(app.get(&s, &a_home).await.status(), 200);

    // A declined invitation gives nothing; someone else's link is refused to a signed-in account.
    add_account(&app, "third@agency-b.example.gov", None).await;
    let (_, _, link) = invite(&app, &admin, "third@agency-b.example.gov", "admin").await;
    let other = app.sign_in(&app.b.admin_email).await;
    let page = app.get(&other, &link).await;
    let html = page.text().await.unwrap();
    let other = crate::support::Session {
        cookie: other.cookie,
        csrf: csrf_of(&html),
    };
    assert_eq!(
        app.post(&other, &link, &[("answer", "accept")])
            .await
            .status(),
        403,
        "the invitation is for another email address"
    );
    let third = app.sign_in("third@agency-b.example.gov").await;
    let html = app.get(&third, &link).await.text().await.unwrap();
    let third = crate::support::Session {
        cookie: third.cookie,
        csrf: csrf_of(&html),
    };
    assert_eq!(
        app.post(&third, &link, &[("answer", "decline")])
            .await
            .status(),
        303
    );
    assert_eq!(app.get(&third, &a_home).await.status(), 404);
});

both_backends!(an_expired_invitation_is_refused, |app| {
    let admin = app.store.user_by_email(&app.a.admin_email).await.unwrap();
    let token = "expired-invitation-token-0000000000000";
    app.store
        .create_invitation(
            app.a.org,
            &app.b.admin_email,
            heard_domain::Role::Admin,
            &heard_server::crypto::sha256(token.as_bytes()),
            admin.id,
            1,
            2,
        )
        .await
        .unwrap();
    let b = app.sign_in(&app.b.admin_email).await;
    let link = format!("/admin/invite/{token}");
    let page = app.get(&b, &link).await;
    assert_eq!(page.status(), 410);
    let html = page.text().await.unwrap();
    assert!(html.contains("expired"), "{html}");
});

both_backends!(a_removed_member_loses_access_at_once, |app| {
    let a_home = format!("/admin/o/{}", app.a.org);
    add_account(
        &app,
        "leaver@agency-a.example.gov",
        Some(heard_domain::Role::Analyst),
    )
    .await;
    let leaver = app.sign_in("leaver@agency-a.example.gov").await;
    assert_eq!(app.get(&leaver, &a_home).await.status(), 200);
    let admin = app.sign_in(&app.a.admin_email).await;
    let id = app
        .store
        .user_by_email("leaver@agency-a.example.gov")
        .await
        .unwrap()
        .id;
    let r = app
        .post(&admin, &format!("{a_home}/members/{id}/remove"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get(&leaver, &a_home).await.status(),
        303,
        "at once: the removed member is signed out"
    );
    // The last admin cannot remove themself (nobody could manage the organization).
    let me = app
        .store
        .user_by_email(&app.a.admin_email)
        .await
        .unwrap()
        .id;
    let r = app
        .post(&admin, &format!("{a_home}/members/{me}/remove"), &[])
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.get(&admin, &a_home).await.status(), 200);
});

/// The `heard` binary's account commands against one SQLite store.
fn heard(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_heard"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("HEARD_LOG", "warn")
        .env("HEARD_PASSWORD", "the first password")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_resets_passwords_signs_out_and_unlocks() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    ok(heard(
        dir.path(),
        &["org", "create", "--name", "Agency", "--slug", "agency"],
    ));
    let add = [
        "user",
        "add",
        "--org",
        "agency",
        "--email",
        "pat@agency.gov",
        "--name",
        "Pat",
    ];
    ok(heard(dir.path(), &add));
    let store = heard_store::Store::open(
        &heard_store::DatabaseUrl::sqlite_in(dir.path()),
        heard_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let pat = store.user_by_email("pat@agency.gov").await.unwrap();
    assert!(pat.is_operator, "the first account is the site operator");
    let far = heard_store::now_ms() + 3_600_000;
    store
        .create_session(b"s1", pat.id, "c", 1, far)
        .await
        .unwrap();
    // Resetting the password with `user add` ends the session.
    let mut reset = add.to_vec();
    reset.extend(["--password", "the second password"]);
    ok(heard(dir.path(), &reset));
    assert!(store.session(b"s1", 2).await.unwrap().is_none());
    // `user sign-out` ends every session.
    store
        .create_session(b"s2", pat.id, "c", 1, far)
        .await
        .unwrap();
    ok(heard(
        dir.path(),
        &["user", "sign-out", "--email", "pat@agency.gov"],
    ));
    assert!(store.session(b"s2", 2).await.unwrap().is_none());
    // `user lockouts` lists lockouts and `user unlock` ends them.
    let now = heard_store::now_ms();
    for i in 0..6 {
        store
            .record_sign_in_failure("pat@agency.gov", "198.51.100.7", now + i)
            .await
            .unwrap();
    }
    assert!(ok(heard(dir.path(), &["user", "lockouts"])).contains("198.51.100.7"));
    assert!(
        store
            .sign_in_wait("pat@agency.gov", "198.51.100.7", now + 10)
            .await
            .unwrap()
            .is_some()
    );
    ok(heard(
        dir.path(),
        &["user", "unlock", "--email", "pat@agency.gov"],
    ));
    assert!(
        store
            .sign_in_wait("pat@agency.gov", "198.51.100.7", now + 10)
            .await
            .unwrap()
            .is_none()
    );
    store.close().await;
}

both_backends_proxied!(
    failures_against_other_accounts_never_refuse_a_member_with_none_of_her_own,
    |app| {
        let shared = "192.0.2.77";
        let now = heard_store::now_ms();
        // 105 wrong guesses at accounts that do not exist, from the agency's one address: past its budget.
        for i in 0..105 {
            app.store
                .record_sign_in_failure(&format!("nobody{i}@example.gov"), shared, now + i)
                .await
                .unwrap();
        }
        // A guess at one of those accounts waits.
        assert_eq!(
            sign_in_from(&app, "nobody3@example.gov", "wrong password!!", shared)
                .await
                .status(),
            429
        );
        // A member who has not failed from that address signs in with her right password.
        let r = sign_in_from(&app, &app.a.admin_email, PASSWORD, shared).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        // A member who mistyped once from that address while it was past its budget waits; the message says what
        // helps, and her organization's Unlock lets her in.
        add_account(
            &app,
            "ana@agency-a.example.gov",
            Some(heard_domain::Role::Viewer),
        )
        .await;
        assert_eq!(
            sign_in_from(&app, "ana@agency-a.example.gov", "wrong password!!", shared)
                .await
                .status(),
            401
        );
        let r = sign_in_from(&app, "ana@agency-a.example.gov", PASSWORD, shared).await;
        assert_eq!(r.status(), 429);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("ask an administrator of your organization to unlock your account"),
            "{html}"
        );
        app.store
            .unlock_sign_in("ana@agency-a.example.gov", heard_store::now_ms())
            .await
            .unwrap();
        assert_eq!(
            sign_in_from(&app, "ana@agency-a.example.gov", PASSWORD, shared)
                .await
                .status(),
            303,
            "the organization's unlock clears what blocked her"
        );
    }
);

both_backends_proxied!(ipv6_addresses_of_one_network_share_a_budget, |app| {
    let email = app.a.admin_email.clone();
    // One attacker rotating through the addresses of its /64 network is one address.
    for i in 1..=6 {
        sign_in_from(
            &app,
            &email,
            "wrong password!!",
            &format!("2001:db8:0:1::{i:x}"),
        )
        .await;
    }
    assert_eq!(
        sign_in_from(&app, &email, PASSWORD, "2001:db8:0:1::abcd")
            .await
            .status(),
        429,
        "another address of the same /64 waits too"
    );
    assert_eq!(
        sign_in_from(&app, &email, PASSWORD, "2001:db8:0:2::1")
            .await
            .status(),
        303,
        "another network does not"
    );
});

#[tokio::test]
async fn the_cli_unlocks_an_address_however_it_is_written_and_refuses_what_matches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| heard(dir.path(), args);
    assert!(
        run(&["org", "create", "--name", "Agency", "--slug", "agency"])
            .status
            .success()
    );
    let store = heard_store::Store::open(
        &heard_store::DatabaseUrl::sqlite_in(dir.path()),
        heard_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let key = heard_store::throttle::address_key("2001:db8::1".parse().unwrap());
    for written in ["2001:DB8:0:0::0001", "[2001:db8::1]"] {
        let now = heard_store::now_ms();
        for i in 0..6 {
            store
                .record_sign_in_failure("pat@agency.gov", &key, now + i)
                .await
                .unwrap();
        }
        // `heard user lockouts` shows times as the site page does, in UTC and saying so.
        let listed = run(&["user", "lockouts"]);
        let since = heard_domain::Zone::utc().display(now + 4);
        assert!(
            String::from_utf8_lossy(&listed.stdout).contains(&since),
            "{since} in {}",
            String::from_utf8_lossy(&listed.stdout)
        );
        let o = run(&["user", "unlock", "--address", written]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Ended 1 lockout"),
            "{written}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    let o = run(&["user", "unlock", "--address", "not-an-ip"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--address"));
    let o = run(&["user", "unlock", "--email", "nobody@x.y"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--email"));
    store.close().await;
}

both_backends!(the_site_page_refuses_an_address_that_is_not_one, |app| {
    let s = app.sign_in(&app.a.admin_email).await;
    let r = app
        .post(&s, "/admin/lockouts/unlock", &[("address", "not an ip")])
        .await;
    assert_eq!(r.status(), 422, "a form error, not a silent redirect");
    assert!(r.text().await.unwrap().contains("address"));
});

both_backends!(
    removing_a_member_withdraws_her_invitations_and_ends_her_sessions,
    |app| {
        let a_home = format!("/admin/o/{}", app.a.org);
        let ana = "ana@agency-a.example.gov";
        add_account(&app, ana, Some(heard_domain::Role::Analyst)).await;
        let session = app.sign_in(ana).await;
        let admin = app.sign_in(&app.a.admin_email).await;
        let r = app
            .post(
                &admin,
                &format!("{a_home}/invitations"),
                &[("email", ana), ("role", "viewer")],
            )
            .await;
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{}",
            r.status()
        );
        let now = heard_store::now_ms();
        assert_eq!(app.store.invitations_for(ana, now).await.unwrap().len(), 1);
        let user = app.store.user_by_email(ana).await.unwrap();
        let r = app
            .post(&admin, &format!("{a_home}/members/{}/remove", user.id), &[])
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(
            app.get(&session, "/admin").await.status(),
            303,
            "her session ended: back to sign-in"
        );
        assert!(
            app.store
                .invitations_for(ana, now)
                .await
                .unwrap()
                .is_empty(),
            "her pending invitation is withdrawn, so she cannot rejoin with it"
        );
        assert!(
            app.store
                .pending_invitations(app.a.org, now)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

#[tokio::test]
async fn every_cli_text_argument_meets_the_edge_rule_of_the_web_forms() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| heard(dir.path(), args);
    let err = |o: std::process::Output| {
        assert!(
            !o.status.success(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    assert!(
        err(run(&[
            "org", "create", "--name", "Org\u{1}", "--slug", "org-a"
        ]))
        .contains("--name")
    );
    assert!(
        err(run(&[
            "org",
            "create",
            "--name",
            "Org\u{1b}[31m",
            "--slug",
            "org-b"
        ]))
        .contains("--name")
    );
    assert!(err(run(&["user", "lockouts", "--email", "a\u{1b}@x.gov"])).contains("--email"));
    assert!(err(run(&["user", "unlock", "--email", "a\u{7}@x.gov"])).contains("--email"));
    // Bidirectional controls are removed from names, as on the web forms' pages.
    let o = run(&[
        "org",
        "create",
        "--name",
        "Agency\u{202E}gro",
        "--slug",
        "agency",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&[
        "user",
        "add",
        "--org",
        "agency",
        "--email",
        "pat@agency.gov",
        "--name",
        "Pat\u{202E}ma",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let store = heard_store::Store::open(
        &heard_store::DatabaseUrl::sqlite_in(dir.path()),
        heard_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(store.org_by_slug("agency").await.unwrap().name, "Agencygro");
    assert_eq!(
        store.user_by_email("pat@agency.gov").await.unwrap().name,
        "Patma"
    );
    assert!(
        store.org_by_slug("org-a").await.is_err(),
        "nothing half-written"
    );
    store.close().await;
}

both_backends!(
    the_site_page_shows_lockout_times_in_utc_and_says_so,
    |app| {
        let now = heard_store::now_ms();
        for i in 0..6 {
            app.store
                .record_sign_in_failure("pat@agency.gov", "198.51.100.7", now + i)
                .await
                .unwrap();
        }
        let s = app.sign_in(&app.a.admin_email).await;
        let html = app.get(&s, "/admin/site").await.text().await.unwrap();
        let since = heard_domain::Zone::utc().display(now);
        assert!(html.contains(&since), "{since} in {html}");
        assert!(since.ends_with(" UTC"));
        // The command line shows the same times the same way.
        let _ = since;
    }
);
