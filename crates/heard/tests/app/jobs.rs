//! The durable job queue: enqueued with the data that causes it, run once per job (its effect committed with its
//! completion), retried with backoff, dead after its attempts and retried by an admin; and two real `heard serve`
//! processes on one PostgreSQL sharing 10,000 jobs while one is SIGKILLed and the other stopped with SIGTERM (a third
//! finishes), every job's effect counted once.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use heard_domain::JobId;
use heard_server::jobs::{JobRegistry, TEST_EFFECT_KIND, TestEffect, Worker, WorkerOptions};
use heard_store::jobs::{JobCounts, JobState, NewJob};
use heard_store::{DatabaseUrl, Store, StoreError, StoreOptions};
use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, database, free_port, wait_ready};

/// A worker that runs the self-test kind, driven by the test (no background task).
fn test_worker(store: &Store) -> Worker {
    let mut registry = JobRegistry::product();
    registry.register(TEST_EFFECT_KIND, TestEffect);
    Worker::new(store.clone(), registry, WorkerOptions::default())
}

async fn effects(store: &Store) -> HashMap<JobId, i64> {
    store
        .job_test_effects()
        .await
        .unwrap()
        .into_iter()
        .collect()
}

both_backends!(
    jobs_run_once_and_their_effect_commits_with_completion,
    |app| {
        app.store.create_job_test_effects().await.unwrap();
        let mut ids = Vec::new();
        for i in 0..3 {
            let e = app
                .store
                .enqueue(NewJob::new(app.a.org, TEST_EFFECT_KIND, json!({ "n": i })))
                .await
                .unwrap();
            assert!(!e.duplicate);
            ids.push(e.id);
        }
        assert_eq!(
            app.store.job_counts(app.a.org).await.unwrap(),
            JobCounts {
                queued: 3,
                ..Default::default()
            }
        );
        // The other organization sees none of them.
        assert_eq!(
            app.store.job_counts(app.b.org).await.unwrap(),
            JobCounts::default()
        );

        let worker = test_worker(&app.store);
        assert_eq!(worker.run_pending_once().await.unwrap(), 3);
        assert_eq!(
            worker.run_pending_once().await.unwrap(),
            0,
            "done jobs do not run again"
        );
        assert_eq!(
            app.store.job_counts(app.a.org).await.unwrap(),
            JobCounts {
                done: 3,
                ..Default::default()
            }
        );
        let effects = effects(&app.store).await;
        assert_eq!(effects.len(), 3);
        for id in ids {
            assert_eq!(effects.get(&id), Some(&1), "job {id} took effect once");
        }
    }
);

both_backends!(
    a_job_enqueued_in_a_transaction_exists_only_if_it_commits,
    |app| {
        let mut tx = app.store.begin().await.unwrap();
        tx.enqueue(NewJob::new(app.a.org, TEST_EFFECT_KIND, json!({})))
            .await
            .unwrap();
        drop(tx); // rolled back, as when the data that caused the job fails to write
        assert_eq!(app.store.job_counts(app.a.org).await.unwrap().queued, 0);

        let mut tx = app.store.begin().await.unwrap();
        let e = tx
            .enqueue(NewJob::new(app.a.org, TEST_EFFECT_KIND, json!({})))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let job = app.store.job(app.a.org, e.id).await.unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.attempts, 0);
        assert!(matches!(
            app.store.job(app.b.org, e.id).await,
            Err(StoreError::NotFound)
        ));
    }
);

both_backends!(
    an_idempotency_key_enqueues_one_job_and_refuses_a_different_payload,
    |app| {
        let job =
            |payload| NewJob::new(app.a.org, TEST_EFFECT_KIND, payload).dedupe_key("import-42");
        let first = app.store.enqueue(job(json!({"rows": 10}))).await.unwrap();
        let again = app.store.enqueue(job(json!({"rows": 10}))).await.unwrap();
        assert!(!first.duplicate);
        assert!(again.duplicate);
        assert_eq!(again.id, first.id);
        match app.store.enqueue(job(json!({"rows": 11}))).await {
            Err(StoreError::Conflict(m)) => assert_eq!(m, "idempotency_key_reused"),
            other => panic!("expected idempotency_key_reused, got {other:?}"),
        }
        // Keys are per organization.
        let other_org = app
            .store
            .enqueue(
                NewJob::new(app.b.org, TEST_EFFECT_KIND, json!({"rows": 11}))
                    .dedupe_key("import-42"),
            )
            .await
            .unwrap();
        assert!(!other_org.duplicate);
        assert_eq!(app.store.job_counts(app.a.org).await.unwrap().queued, 1);
    }
);

both_backends!(
    a_failing_job_backs_off_dies_and_an_admin_retries_it,
    |app| {
        app.store.create_job_test_effects().await.unwrap();
        let e = app
            .store
            .enqueue(
                NewJob::new(app.a.org, TEST_EFFECT_KIND, json!({"fail": true})).max_attempts(2),
            )
            .await
            .unwrap();
        let worker = test_worker(&app.store);
        let before = heard_store::now_ms();
        assert_eq!(worker.run_pending_once().await.unwrap(), 1);
        let job = app.store.job(app.a.org, e.id).await.unwrap();
        assert_eq!(job.state, JobState::Queued, "a first failure is retried");
        assert_eq!(job.attempts, 1);
        assert!(
            job.run_at >= before + heard_store::jobs::BACKOFF_BASE_MS / 2,
            "the retry waits (backoff)"
        );
        assert!(job.last_error.as_deref().unwrap().contains("asked to fail"));
        assert_eq!(worker.run_pending_once().await.unwrap(), 0, "not due yet");

        // An hour later the second (last) attempt fails too: the job is dead.
        let later = heard_store::now_ms() + 3_600_000;
        let claimed = app
            .store
            .claim_jobs(&[TEST_EFFECT_KIND], 10, 60_000, later)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(
            app.store
                .fail_job(&claimed[0], "still failing", later)
                .await
                .unwrap(),
            heard_store::jobs::FailOutcome::Dead
        );
        assert_eq!(app.store.job_counts(app.a.org).await.unwrap().dead, 1);

        // The admin sees it with a Retry button; another organization's admin cannot retry it.
        let admin = app.sign_in(&app.a.admin_email).await;
        let page = app
            .get(&admin, &format!("/admin/o/{}/jobs", app.a.org))
            .await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("still failing"),
            "the dead job's error is shown"
        );
        let retry = format!("/admin/o/{}/jobs/{}/retry", app.a.org, e.id);
        assert!(html.contains(&retry), "the dead job has a Retry button");
        assert!(html.contains(&format!("aria-label=\"Retry job {}\"", e.id)));
        assert!(html.contains("Stopped after failing: 1"));
        assert!(html.contains("2 of 2"), "attempts are shown");
        // In Spanish when the admin's browser asks for it.
        let es = app
            .client
            .get(format!("{}/admin/o/{}/jobs", app.base, app.a.org))
            .header("cookie", &admin.cookie)
            .header("accept-language", "es-US,es;q=0.9,en;q=0.5")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(es.contains("<div lang=\"es\">"));
        assert!(es.contains("Detenidas tras fallar: 1"));
        assert!(es.contains(">Reintentar</button>"));
        assert!(es.contains("2 de 2"));

        let other = app.sign_in(&app.b.admin_email).await;
        let r = app
            .post(
                &other,
                &format!("/admin/o/{}/jobs/{}/retry", app.b.org, e.id),
                &[],
            )
            .await;
        assert_eq!(r.status(), 404);
        let forged = app
            .client
            .post(format!("{}{retry}", app.base))
            .header("cookie", &admin.cookie)
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "retry needs the form's CSRF token");
        assert_eq!(
            app.store.job(app.a.org, e.id).await.unwrap().state,
            JobState::Dead
        );

        let r = app.post(&admin, &retry, &[]).await;
        assert_eq!(r.status(), 303);
        let job = app.store.job(app.a.org, e.id).await.unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
        let r = app.post(&admin, &retry, &[]).await;
        assert_eq!(
            r.status(),
            404,
            "a job that is no longer dead is not retried twice"
        );
        assert_eq!(
            worker.run_pending_once().await.unwrap(),
            1,
            "the retried job runs at once"
        );
    }
);

both_backends!(
    a_lapsed_claim_cannot_complete_the_job_a_second_time,
    |app| {
        app.store.create_job_test_effects().await.unwrap();
        let e = app
            .store
            .enqueue(NewJob::new(app.a.org, TEST_EFFECT_KIND, json!({})))
            .await
            .unwrap();
        let now = heard_store::now_ms();
        let kinds = [TEST_EFFECT_KIND];
        let first = app.store.claim_jobs(&kinds, 10, 1_000, now).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            app.store
                .claim_jobs(&kinds, 10, 1_000, now + 500)
                .await
                .unwrap()
                .is_empty(),
            "a held claim is not taken"
        );
        // The first worker stalls past its lease; another takes the job over.
        let second = app
            .store
            .claim_jobs(&kinds, 10, 60_000, now + 2_000)
            .await
            .unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].job.id, e.id);
        assert_eq!(second[0].job.attempts, 2);

        use heard_server::jobs::JobHandler;
        let stale = TestEffect.run(&app.store, &first[0]).await;
        assert!(stale.unwrap_err().contains("job_claim_lapsed"));
        assert!(
            effects(&app.store).await.is_empty(),
            "the stale worker's effect rolled back"
        );
        TestEffect.run(&app.store, &second[0]).await.unwrap();
        assert_eq!(effects(&app.store).await.get(&e.id), Some(&1));
        assert_eq!(
            app.store.job(app.a.org, e.id).await.unwrap().state,
            JobState::Done
        );
        assert_eq!(
            app.store
                .fail_job(&first[0], "late", now + 3_000)
                .await
                .unwrap(),
            heard_store::jobs::FailOutcome::LostClaim,
            "a stale failure changes nothing"
        );
        assert_eq!(
            app.store.job(app.a.org, e.id).await.unwrap().state,
            JobState::Done
        );
    }
);

both_backends!(
    a_panicking_handler_is_a_failed_attempt_and_the_worker_goes_on,
    |app| {
        app.store.create_job_test_effects().await.unwrap();
        let bad = app
            .store
            .enqueue(NewJob::new(
                app.a.org,
                TEST_EFFECT_KIND,
                json!({"panic": true}),
            ))
            .await
            .unwrap();
        let good = app
            .store
            .enqueue(NewJob::new(app.a.org, TEST_EFFECT_KIND, json!({})))
            .await
            .unwrap();
        let worker = test_worker(&app.store);
        assert_eq!(worker.run_pending_once().await.unwrap(), 2);
        let job = app.store.job(app.a.org, bad.id).await.unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 1));
        assert_eq!(job.last_error.as_deref(), Some("the handler panicked"));
        assert_eq!(
            app.store.job(app.a.org, good.id).await.unwrap().state,
            JobState::Done
        );
    }
);

/// A handler that holds its job until the test lets it go.
struct Held(std::sync::Arc<tokio::sync::Notify>);

impl heard_server::jobs::JobHandler for Held {
    fn run<'a>(
        &'a self,
        _store: &'a Store,
        _job: &'a heard_store::jobs::ClaimedJob,
    ) -> futures_util::future::BoxFuture<'a, Result<heard_server::jobs::Completed, String>> {
        Box::pin(async move {
            self.0.notified().await;
            Ok(heard_server::jobs::Completed::ByWorker)
        })
    }
}

both_backends!(a_long_job_keeps_its_lease_while_its_worker_lives, |app| {
    let e = app
        .store
        .enqueue(NewJob::new(app.a.org, "test.held", json!({})))
        .await
        .unwrap();
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut registry = JobRegistry::product();
    registry.register("test.held", Held(release.clone()));
    let worker = Worker::new(
        app.store.clone(),
        registry,
        WorkerOptions {
            lease: Duration::from_millis(600),
            ..WorkerOptions::default()
        },
    );
    let running = tokio::spawn(async move { worker.run_pending_once().await.unwrap() });
    // The job runs far longer than its lease; the lease moves forward and nobody else may claim it.
    let mut first_lease = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    let renewed = loop {
        let job = app.store.job(app.a.org, e.id).await.unwrap();
        if let Some(until) = job.locked_until {
            match first_lease {
                None => first_lease = Some(until),
                Some(first) if until > first => break until,
                Some(_) => {}
            }
        }
        assert!(Instant::now() < deadline, "the lease was never renewed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        app.store
            .claim_jobs(&["test.held"], 10, 60_000, renewed - 1)
            .await
            .unwrap()
            .is_empty(),
        "a renewed lease is not taken over"
    );
    release.notify_one();
    assert_eq!(running.await.unwrap(), 1);
    let job = app.store.job(app.a.org, e.id).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Done, 1));
});

both_backends!(a_job_whose_worker_died_on_its_last_attempt_is_dead, |app| {
    let e = app
        .store
        .enqueue(NewJob::new(app.a.org, TEST_EFFECT_KIND, json!({})).max_attempts(1))
        .await
        .unwrap();
    let now = heard_store::now_ms();
    let kinds = [TEST_EFFECT_KIND];
    assert_eq!(
        app.store
            .claim_jobs(&kinds, 10, 1_000, now)
            .await
            .unwrap()
            .len(),
        1
    );
    // The worker is killed; when its lease lapses the job has no attempt left.
    assert!(
        app.store
            .claim_jobs(&kinds, 10, 1_000, now + 5_000)
            .await
            .unwrap()
            .is_empty()
    );
    let job = app.store.job(app.a.org, e.id).await.unwrap();
    assert_eq!(job.state, JobState::Dead);
    assert!(job.last_error.unwrap().contains("worker stopped"));
});

fn heard_serve(addr: &str, data_dir: &str, url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_heard"))
        .args([
            "serve",
            "--addr",
            addr,
            "--data-dir",
            data_dir,
            "--database-url",
            url,
        ])
        .args(["--job-workers", "4", "--job-lease-secs", "3"])
        .env("HEARD_TEST_JOBS", "1")
        .env("HEARD_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_ten_thousand_jobs_through_a_sigkill_and_a_sigterm_each_taking_effect_once()
 {
    const JOBS: usize = 10_000;
    let (url, _) = database(Backend::Postgres).await;
    let DatabaseUrl::Postgres(pg) = &url else {
        unreachable!()
    };
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    store.create_job_test_effects().await.unwrap();
    let org = store
        .create_org("Queue agency", "queue", heard_store::now_ms())
        .await
        .unwrap()
        .id;
    // Each job takes at least 5 ms, so one server (4 workers) does at most 800 a second and the survivor cannot
    // finish the queue in the 5 s it is given after the kill, however fast the machine.
    let mut tx = store.begin().await.unwrap();
    for i in 0..JOBS {
        tx.enqueue(NewJob::new(
            org,
            TEST_EFFECT_KIND,
            json!({ "n": i, "sleep_ms": 5 }),
        ))
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (addr_a, addr_b) = (free_addr(), free_addr());
    let mut a = heard_serve(&addr_a, data, pg);
    let b = heard_serve(&addr_b, data, pg);
    wait_ready(&format!("http://{addr_a}")).await;
    wait_ready(&format!("http://{addr_b}")).await;

    // Midway, one server dies without warning, holding claimed jobs.
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline && store.job_counts(org).await.unwrap().done < (JOBS / 3) as i64
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    let done_at_kill = store.job_counts(org).await.unwrap().done;
    assert!(done_at_kill > 0, "the servers ran no jobs in time");
    assert!(
        (done_at_kill as usize) < JOBS,
        "all jobs were done before the kill; it proved nothing"
    );

    // The survivor carries on, taking over the dead server's claims once their 3 s lease lapses. Past that, and
    // before the end, it is stopped gracefully (SIGTERM): it finishes the job it is running and gives back the jobs
    // it claimed but had not started, so no claim of its own is left for a lease to expire.
    let killed_at = Instant::now();
    while Instant::now() < deadline
        && (killed_at.elapsed() < Duration::from_secs(5)
            || store.job_counts(org).await.unwrap().done < (2 * JOBS / 3) as i64)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b_status = stop_gracefully(b).await;
    let at_term = store.job_counts(org).await.unwrap();
    let now = heard_store::now_ms();
    let still_claimed = store
        .jobs_in_state(org, JobState::Running, JOBS as i64)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.locked_until.is_some_and(|t| t > now))
        .count();

    // A third server finishes the queue.
    let addr_c = free_addr();
    let c = heard_serve(&addr_c, data, pg);
    wait_ready(&format!("http://{addr_c}")).await;
    let mut counts = JobCounts::default();
    while Instant::now() < deadline {
        counts = store.job_counts(org).await.unwrap();
        if counts.done == JOBS as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let c_status = stop_gracefully(c).await;

    let effects = effects(&store).await;
    let repeated = effects.values().filter(|&&n| n > 1).count();
    println!(
        "jobs: {done_at_kill} done when one of two servers was killed, {} when the other was stopped; finally \
         {counts:?}; {} jobs took effect, {repeated} more than once",
        at_term.done,
        effects.len()
    );
    assert!(
        (at_term.done as usize) < JOBS,
        "the graceful stop came after the end; it proved nothing"
    );
    assert_eq!(still_claimed, 0, "the stopped server left claims behind");
    assert!(
        b_status,
        "a server stops cleanly on SIGTERM while running jobs"
    );
    assert!(c_status, "a server stops cleanly on SIGTERM");
    assert_eq!(
        counts,
        JobCounts {
            done: JOBS as i64,
            ..Default::default()
        },
        "every job finished"
    );
    assert_eq!(effects.len(), JOBS, "every job took effect");
    assert_eq!(repeated, 0, "no job took effect twice");
    store.close().await;
}

/// Sends SIGTERM and waits (at most 30 s) for the process to exit; true when it exited successfully.
async fn stop_gracefully(mut child: Child) -> bool {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.success();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
