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
            .all(|j| j.attempts == 1 && j.last_error.as_deref().unwrap().contains("SMTP send"))
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
    assert!(
        waiting
            .iter()
            .all(|j| j.payload["reminder"] == true
                && j.run_at >= sending + outreach::REMIND_AFTER_MS)
    );
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
