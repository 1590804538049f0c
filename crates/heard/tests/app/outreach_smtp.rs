//! Email survey invitations sent for real (issue 20, item 4): the `email.send` job speaks SMTP with lettre to
//! aiosmtpd (a real SMTP server from PyPI, run by scripts/smtp-sink.py on loopback), and the test reads what the
//! server received: the English and the Spanish letter, `List-Unsubscribe` with its RFC 8058 one-click companion, a
//! DKIM signature when the sender has a key, the single-use link. A server that is down leaves the job queued and
//! the invitation unsent; the retry sends once. A suppressed address is not written to.
//!
//! aiosmtpd is required, not skipped: scripts/test.sh installs it (scripts/mail-venv.sh) and passes its Python as
//! HEARD_MAIL_PYTHON.

use std::path::Path;
use std::time::{Duration, Instant};

use heard_server::crypto::Sealer;
use heard_server::jobs::{Completed, JobHandler, JobRegistry, Worker, WorkerOptions};
use heard_server::outreach::{self, Invite, SendEmail};
use heard_store::jobs::JobState;
use heard_store::outreach::{EmailSender, InvitationState, SuppressionReason, TlsMode};
use serde_json::Value;

use crate::both_backends;
use crate::support::free_port;

const SECRET: [u8; 32] = [7u8; 32];
const PUBLIC: &str = "https://feedback.example.gov";

/// aiosmtpd on 127.0.0.1:`port`, writing into `dir`; killed when dropped.
pub(crate) struct SmtpSink(std::process::Child);

impl SmtpSink {
    pub(crate) fn start(dir: &Path, port: u16) -> SmtpSink {
        use std::io::BufRead;
        let python = std::env::var("HEARD_MAIL_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        let mut child = std::process::Command::new(&python)
            .arg(&script)
            .arg(dir)
            .arg(port.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {python}: {e}"));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.trim() != "ready" {
            let out = child.wait_with_output().unwrap();
            panic!(
                "aiosmtpd did not start with {python}: these tests need it. scripts/test.sh installs it (bash \
                 scripts/mail-venv.sh prints the Python to set as HEARD_MAIL_PYTHON). {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        SmtpSink(child)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The messages the sink has written so far, in order (waits, at most 10 s, for `n` of them).
pub(crate) fn received(dir: &Path, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.len() >= n || Instant::now() > deadline {
            return files
                .iter()
                .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
                .collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn header<'a>(m: &'a Value, name: &str) -> Option<&'a str> {
    m["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
}

/// The `h=` tag of a message's `DKIM-Signature`: the header names it covers, lower case.
pub(crate) fn dkim_signed_headers(m: &Value) -> Vec<String> {
    let sig = header(m, "DKIM-Signature").expect("signed with DKIM");
    let h = sig
        .split(';')
        .map(str::trim)
        .find_map(|t| t.strip_prefix("h="))
        .expect("an h= tag");
    h.split(':')
        .map(|n| n.trim().to_ascii_lowercase())
        .collect()
}

/// Verifies the DKIM signature of the `n`th message (from 0) the sink wrote in `dir` with dkimpy (PyPI, in the mail
/// venv; scripts/dkim-verify.py), the test key's public half standing in for DNS. The verifier's verdict.
pub(crate) fn dkim_verifies(dir: &Path, n: usize) -> bool {
    let python = std::env::var("HEARD_MAIL_PYTHON").unwrap_or_else(|_| "python3".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(&python)
        .arg(root.join("../../scripts/dkim-verify.py"))
        .arg(dir.join(format!("{:04}.eml", n + 1)))
        .arg(root.join("tests/data/dkim-test-key.pub.pem"))
        .output()
        .unwrap_or_else(|e| panic!("running {python}: {e}"));
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        said == "pass" || said == "fail",
        "dkimpy did not run with {python} (bash scripts/mail-venv.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if said != "pass" {
        eprintln!(
            "dkimpy: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join(format!("{:04}.eml", n + 1))).unwrap_or_default()
        );
    }
    said == "pass"
}

/// The headers RFC 8058 section 4 and RFC 6376 section 5.4.1 ask a signature to cover, lower case.
pub(crate) const MUST_SIGN: [&str; 9] = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

fn worker(store: &heard_store::Store) -> Worker {
    let mut registry = JobRegistry::product();
    registry.register(outreach::SEND_KIND, SendEmail::new(&SECRET, PUBLIC));
    Worker::new(store.clone(), registry, WorkerOptions::default())
}

both_backends!(invitations_are_sent_over_smtp_in_both_languages, |app| {
    let t = &app.a;
    let sealer = Sealer::new(&SECRET);
    let port = free_port();
    let dkim_key = include_str!("../data/dkim-test-key.pem");
    app.store
        .set_email_sender(
            t.org,
            &EmailSender {
                host: "127.0.0.1".into(),
                port,
                tls: TlsMode::None,
                username: None,
                password_sealed: None,
                from_address: "feedback@example.gov".into(),
                from_name: Some("Example Benefits".into()),
                dkim_selector: Some("heard2026".into()),
                dkim_domain: Some("example.gov".into()),
                dkim_key_sealed: Some(sealer.seal(dkim_key)),
            },
            1,
        )
        .await
        .unwrap();
    let version = t.survey.published_version.unwrap();
    let invite = |address: &'static str, language: &'static str| {
        let store = app.store.clone();
        let sealer = Sealer::new(&SECRET);
        async move {
            outreach::invite(
                &store,
                &sealer,
                &Invite {
                    org: t.org,
                    survey: t.survey.id,
                    survey_version: version,
                    person_key: "pk-ana",
                    address,
                    language,
                },
                heard_store::now_ms(),
            )
            .await
        }
    };
    let en = invite("ana@example.org", "en").await.unwrap();
    let es = invite("Luis@Example.org", "es").await.unwrap();
    assert!(matches!(
        invite("x@example.org", "fr").await,
        Err(outreach::InviteError::Language(_))
    ));

    // The provider is down: the attempt fails, the job waits for its retry, nothing is marked sent.
    let w = worker(&app.store);
    assert_eq!(w.run_pending_once().await.unwrap(), 2);
    for id in [en, es] {
        assert_eq!(
            app.store.email_invitation(t.org, id).await.unwrap().state,
            InvitationState::Queued
        );
    }
    let queued = app
        .store
        .jobs_in_state(t.org, JobState::Queued, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 2);
    assert!(
        queued
            .iter()
            .all(|j| j.attempts == 1 && j.last_error.as_deref().unwrap().contains("SMTP send")),
        "{queued:?}"
    );
    assert!(
        queued
            .iter()
            .all(|j| j.max_attempts == outreach::SEND_ATTEMPTS)
    );
    assert!(
        queued
            .iter()
            .all(|j| !j.last_error.as_deref().unwrap().contains("example.org")),
        "no address in job errors"
    );

    // The provider is back: the retries send each once.
    let dir = tempfile::tempdir().unwrap();
    let _sink = SmtpSink::start(dir.path(), port);
    let later = heard_store::now_ms() + 3_600_000;
    let claimed = app
        .store
        .claim_jobs(&[outreach::SEND_KIND], 10, 60_000, later)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let handler = SendEmail::new(&SECRET, PUBLIC);
    let sending = heard_store::now_ms();
    for job in &claimed {
        assert_eq!(
            handler.run(&app.store, job).await.unwrap(),
            Completed::WithEffect
        );
    }
    let mail = received(dir.path(), 2);
    assert_eq!(mail.len(), 2);
    let by_to = |to: &str| {
        mail.iter()
            .find(|m| m["rcpt_tos"][0].as_str().unwrap().eq_ignore_ascii_case(to))
            .unwrap()
            .clone()
    };
    let m_en = by_to("ana@example.org");
    let m_es = by_to("luis@example.org");
    let token_en = outreach::survey_token(&sealer, en);
    assert_eq!(
        header(&m_en, "Subject"),
        Some("How did we do? A short survey from Agency A")
    );
    assert_eq!(
        header(&m_en, "From"),
        Some("Example Benefits <feedback@example.gov>")
    );
    assert_eq!(
        header(&m_en, "List-Unsubscribe"),
        Some(
            format!(
                "<{PUBLIC}/o/unsubscribe/{en}/{}>",
                outreach::unsubscribe_token(&sealer, en)
            )
            .as_str()
        )
    );
    assert_eq!(
        header(&m_en, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let dkim = header(&m_en, "DKIM-Signature").expect("signed with DKIM");
    assert!(
        dkim.contains("d=example.gov") && dkim.contains("s=heard2026"),
        "{dkim}"
    );
    // The signature covers the one-click headers (RFC 8058 section 4) and the MIME structure, and dkimpy verifies
    // it against the key's public half: each header it names is signed as sent.
    for m in [&m_en, &m_es] {
        let signed = dkim_signed_headers(m);
        for h in MUST_SIGN {
            assert!(
                signed.iter().any(|s| s == h),
                "{h} is not signed: {signed:?}"
            );
        }
    }
    assert!(
        header(&m_en, "Content-Type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    assert_eq!(header(&m_en, "MIME-Version"), Some("1.0"));
    assert!(
        dkim_verifies(dir.path(), 0),
        "the first message's DKIM signature verifies"
    );
    assert!(
        dkim_verifies(dir.path(), 1),
        "the second message's DKIM signature verifies"
    );
    assert_eq!(
        header(&m_en, "Message-ID"),
        Some(format!("<{en}.invitation@example.gov>").as_str())
    );
    let text = m_en["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("Take the survey: {PUBLIC}/o/{token_en}")),
        "{text}"
    );
    assert!(text.contains("unsubscribe:"), "{text}");
    assert!(
        m_en["html"]
            .as_str()
            .unwrap()
            .contains("<html lang=\"en\">")
    );

    assert_eq!(
        header(&m_es, "Subject"),
        Some("¿Cómo lo hicimos? Encuesta breve de Agency A")
    );
    let texto = m_es["text"].as_str().unwrap();
    assert!(texto.contains("Responder la encuesta:"), "{texto}");
    assert!(texto.contains("cancele la suscripción"), "{texto}");
    assert!(
        m_es["html"]
            .as_str()
            .unwrap()
            .contains("<html lang=\"es\">")
    );

    // Each is marked sent, and its one reminder waits three days.
    for id in [en, es] {
        let inv = app.store.email_invitation(t.org, id).await.unwrap();
        assert_eq!(inv.state, InvitationState::Sent);
    }
    // Each send is a customer offered the survey on channel email, on the organization's local day.
    let org = app.store.org(t.org).await.unwrap();
    let day = org.time_zone.day_number(sending);
    assert_eq!(
        app.store
            .displays(t.org, t.survey.id, day - 1, day + 2)
            .await
            .unwrap(),
        vec![("email".to_string(), 2)]
    );
    let waiting = app
        .store
        .jobs_in_state(t.org, JobState::Queued, 10)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 2, "one reminder per invitation");
    assert!(waiting.iter().all(|j| j.payload["reminder"] == true
        && j.run_at >= sending + outreach::REMIND_AFTER_MS
        && j.max_attempts == outreach::SEND_ATTEMPTS));
    assert_eq!(
        w.run_pending_once().await.unwrap(),
        0,
        "reminders are not due yet"
    );

    // Ana unsubscribes and Luis answers before the reminders are due: no reminder goes out.
    let mut tx = app.store.begin().await.unwrap();
    tx.suppress_email(
        t.org,
        &outreach::address_hash(&sealer, t.org, "to", "ana@example.org").unwrap(),
        SuppressionReason::Unsubscribe,
        "test",
        later,
    )
    .await
    .unwrap();
    tx.move_email_invitation(t.org, es, InvitationState::Answered, later)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let due = later + outreach::REMIND_AFTER_MS + 1;
    let claimed = app
        .store
        .claim_jobs(&[outreach::SEND_KIND], 10, 60_000, due)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    for job in &claimed {
        if handler.run(&app.store, job).await.unwrap() == Completed::ByWorker {
            app.store.complete_job(job).await.unwrap();
        }
    }
    assert_eq!(received(dir.path(), 0).len(), 2, "nothing more was sent");
    assert_eq!(
        app.store.email_invitation(t.org, en).await.unwrap().state,
        InvitationState::Unsubscribed
    );
    assert_eq!(
        app.store.email_invitation(t.org, es).await.unwrap().state,
        InvitationState::Answered
    );
    // A suppressed address is refused at invite time too.
    assert!(matches!(
        invite("ANA@example.org", "en").await,
        Err(outreach::InviteError::Suppressed("unsubscribe"))
    ));
});

// A mail server down for hours (issue 20, item 7: "a provider that is down leaves sends queued and retried, never
// lost, never sent twice"): the `email.send` job fails every attempt but the last of its budget, each retry waiting
// longer (backoff to an hour), and is still queued, the invitation unsent; when the server is back the last attempt
// sends it, once. A mailbox the server refuses for good (550 5.1.1 at RCPT) is not retried: the address is
// suppressed as a bounce and the invitation marked bounced on the first attempt.
both_backends!(a_mail_server_down_for_hours_is_ridden_out, |app| {
    let t = &app.a;
    let sealer = Sealer::new(&SECRET);
    let port = free_port();
    app.store
        .set_email_sender(
            t.org,
            &EmailSender {
                host: "127.0.0.1".into(),
                port,
                tls: TlsMode::None,
                username: None,
                password_sealed: None,
                from_address: "feedback@example.gov".into(),
                from_name: None,
                dkim_selector: None,
                dkim_domain: None,
                dkim_key_sealed: None,
            },
            1,
        )
        .await
        .unwrap();
    let version = t.survey.published_version.unwrap();
    let invite = |address: &'static str| {
        let store = app.store.clone();
        let sealer = Sealer::new(&SECRET);
        async move {
            outreach::invite(
                &store,
                &sealer,
                &Invite {
                    org: t.org,
                    survey: t.survey.id,
                    survey_version: version,
                    person_key: "pk-ana",
                    address,
                    language: "en",
                },
                heard_store::now_ms(),
            )
            .await
            .unwrap()
        }
    };
    let ana = invite("ana@example.org").await;
    let handler = SendEmail::new(&SECRET, PUBLIC);
    // Every attempt but the last fails: nothing listens on the port. Each failure is recorded as the worker does,
    // and the next attempt is claimed at its retry time.
    let mut at = heard_store::now_ms();
    let mut waited = 0i64;
    for attempt in 1..outreach::SEND_ATTEMPTS {
        let claimed = app
            .store
            .claim_jobs(&[outreach::SEND_KIND], 10, 60_000, at)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt} is due");
        assert_eq!(claimed[0].job.attempts, attempt);
        let err = handler.run(&app.store, &claimed[0]).await.unwrap_err();
        assert!(err.contains("SMTP send"), "{err}");
        match app.store.fail_job(&claimed[0], &err, at).await.unwrap() {
            heard_store::jobs::FailOutcome::Retrying { run_at } => {
                waited += run_at - at;
                at = run_at;
            }
            other => panic!(
                "attempt {attempt} of {}: {other:?}",
                outreach::SEND_ATTEMPTS
            ),
        }
        assert_eq!(
            app.store.email_invitation(t.org, ana).await.unwrap().state,
            InvitationState::Queued
        );
    }
    assert!(
        waited >= 7 * 3_600_000,
        "the retries span at least seven hours, not {} minutes",
        waited / 60_000
    );
    assert!(
        app.store
            .jobs_in_state(t.org, JobState::Dead, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The server is back for the last attempt: the invitation goes, once.
    let dir = tempfile::tempdir().unwrap();
    let _sink = SmtpSink::start(dir.path(), port);
    let claimed = app
        .store
        .claim_jobs(&[outreach::SEND_KIND], 10, 60_000, at)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        handler.run(&app.store, &claimed[0]).await.unwrap(),
        Completed::WithEffect
    );
    assert_eq!(received(dir.path(), 1).len(), 1);
    assert_eq!(
        app.store.email_invitation(t.org, ana).await.unwrap().state,
        InvitationState::Sent
    );
    // Run again (a retried job after the send committed): nothing more is sent.
    assert_eq!(
        handler.run(&app.store, &claimed[0]).await.unwrap(),
        Completed::ByWorker
    );
    assert_eq!(received(dir.path(), 0).len(), 1);

    // A mailbox refused for good: one attempt, then a bounce and a suppression, no retry.
    let refused = invite("refused.person@example.org").await;
    let now = heard_store::now_ms();
    let claimed = app
        .store
        .claim_jobs(&[outreach::SEND_KIND], 10, 60_000, now)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.payload["invitation"], refused.to_string());
    assert_eq!(
        handler.run(&app.store, &claimed[0]).await.unwrap(),
        Completed::WithEffect
    );
    assert_eq!(
        app.store
            .email_invitation(t.org, refused)
            .await
            .unwrap()
            .state,
        InvitationState::Bounced
    );
    let hash = outreach::address_hash(&sealer, t.org, "to", "refused.person@example.org").unwrap();
    assert_eq!(
        app.store.email_suppression(t.org, &hash).await.unwrap(),
        Some(SuppressionReason::Bounce)
    );
    let waiting = app
        .store
        .jobs_in_state(t.org, JobState::Queued, 10)
        .await
        .unwrap();
    assert!(
        waiting.iter().all(|j| j.payload["reminder"] == true),
        "only Ana's reminder waits: {waiting:?}"
    );
    assert_eq!(
        received(dir.path(), 0).len(),
        1,
        "nothing was delivered to the refused mailbox"
    );

    // A refusal for the sender's policy (5.7.1) is not about the mailbox: retried, and the admin reads its code, not
    // the server's text, which quoted the address.
    let policy = invite("policy.person@example.org").await;
    let claimed = app
        .store
        .claim_jobs(&[outreach::SEND_KIND], 10, 60_000, heard_store::now_ms())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let err = handler.run(&app.store, &claimed[0]).await.unwrap_err();
    assert!(err.contains("permanent error (550) 5.7.1"), "{err}");
    assert!(
        !err.contains("policy.person"),
        "no address in job errors: {err}"
    );
    assert_eq!(
        app.store
            .email_invitation(t.org, policy)
            .await
            .unwrap()
            .state,
        InvitationState::Queued
    );
});

/// Sets tenant A's email sender, through the admin's form, to the SMTP sink on loopback at `port` (no TLS, no DKIM).
pub(crate) async fn loopback_sender(
    app: &crate::support::TestApp,
    s: &crate::support::Session,
    port: u16,
) {
    let port = port.to_string();
    let saved = app
        .post(
            s,
            &format!("/admin/o/{}/outreach/email", app.a.org),
            &[
                ("host", "127.0.0.1"),
                ("port", &port),
                ("tls_mode", "none"),
                ("username", ""),
                ("password", ""),
                ("from_address", "feedback@agency.gov"),
                ("from_name", "Agency A"),
                ("dkim_selector", ""),
                ("dkim_domain", ""),
                ("dkim_key", ""),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
}
