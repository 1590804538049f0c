//! The embeddable widget as a host page and an administrator meet it: the script's caching and pinning headers, the
//! widget settings in the survey definition, the query string kept only when the survey opts in, and the admin's
//! settings and embed page. The browser side (every mode, CSP, keyboard, axe-core, size budget) is e2e/widget.test.mjs.

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Backend, TestApp, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_is_cacheable_pinned_and_loadable_from_any_site() {
    let app = spawn_app(Backend::Sqlite).await;
    let w = &*heard_server::widget::WIDGET;
    let latest = app
        .client
        .get(format!("{}/widget.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(latest.status(), 200);
    let h = latest.headers().clone();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(h["cache-control"], "public, max-age=300");
    assert_eq!(h["etag"].to_str().unwrap(), format!("\"{}\"", w.hash));
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["cross-origin-resource-policy"], "cross-origin");
    assert_eq!(latest.bytes().await.unwrap().as_ref(), w.bytes.as_slice());
    assert!(w.integrity.starts_with("sha384-") && w.integrity.len() == 7 + 64);

    let versioned = format!("{}{}", app.base, heard_server::widget::versioned_path());
    assert!(versioned.ends_with(&format!("/widget/{}.js", w.hash)));
    let r = app.client.get(&versioned).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = r.headers()["etag"].clone();
    assert_eq!(r.bytes().await.unwrap().as_ref(), w.bytes.as_slice());
    let again = app
        .client
        .get(&versioned)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    let stale = app
        .client
        .get(format!("{}/widget/0123456789abcdef.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 404, "only the current version is served");
    // The size budget: at most 6 KB gzipped (Touchpoints renders ~59 KB, Formbricks ~52 KB, ForeSee's trigger ~25 KB).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &w.bytes).unwrap();
    let gzipped = gz.finish().unwrap().len();
    assert!(
        gzipped <= 6 * 1024,
        "widget.js is {gzipped} bytes gzipped; the budget is 6144"
    );
    // The compacted script keeps no comment lines and no indentation.
    let text = std::str::from_utf8(&w.bytes).unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("//") || l.starts_with(' '))
    );
}

fn definition_url(app: &TestApp) -> String {
    format!(
        "{}/api/v1/{}/surveys/{}",
        app.base, app.a.slug, app.a.survey.id
    )
}

async fn last_page_path(app: &TestApp) -> Option<String> {
    let f = heard_store::responses::ResponseFilter {
        survey_id: Some(app.a.survey.id),
        ..Default::default()
    };
    let page = app
        .store
        .responses_page(
            app.a.org,
            &f,
            None,
            heard_store::responses::Order::NewestFirst,
            1,
        )
        .await
        .unwrap();
    page[0].page_path.clone()
}

both_backends!(
    the_definition_carries_widget_settings_and_the_query_is_kept_only_by_choice,
    |app| {
        let def: Value = app
            .client
            .get(definition_url(&app))
            .header("origin", "https://www.partner.gov")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            def["sample_percent"], 100,
            "new surveys are offered to everyone"
        );
        assert_eq!(def["keep_query"], false);
        assert_eq!(def["texts"]["en"]["widget"]["close"], "Close");
        assert_eq!(def["texts"]["es"]["widget"]["close"], "Cerrar");
        assert_eq!(
            def["texts"]["es"]["errors"]["required"],
            "Responda esta pregunta: elija o escriba una respuesta."
        );

        // A widget posts text/plain JSON (a simple request, no preflight); the query string is dropped by default.
        let post = |key: &str| {
            app.client
                .post(app.submit_url(&app.a))
                .header("origin", "https://www.partner.gov")
                .header("content-type", "text/plain")
                .body(
                    json!({"idempotency_key": key, "answers": {"trust": 1}, "page_path": "/apply?case=123"})
                        .to_string(),
                )
                .send()
        };
        assert_eq!(post("widget-query-1").await.unwrap().status(), 201);
        assert_eq!(last_page_path(&app).await.as_deref(), Some("/apply"));

        app.store
            .update_survey_widget_settings(
                app.a.org,
                app.a.survey.id,
                5,
                true,
                heard_store::now_ms(),
            )
            .await
            .unwrap();
        // The public survey cache keeps a survey for a few seconds; wait it out as another instance would.
        tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
        let s = app.store.survey(app.a.org, app.a.survey.id).await.unwrap();
        assert_eq!((s.widget_sample_percent, s.keep_query), (5, true));
        let def: Value = app
            .client
            .get(definition_url(&app))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(def["sample_percent"], 5);
        assert_eq!(def["keep_query"], true);
        assert_eq!(post("widget-query-2").await.unwrap().status(), 201);
        assert_eq!(
            last_page_path(&app).await.as_deref(),
            Some("/apply?case=123")
        );
    }
);

both_backends!(
    staff_set_the_sample_and_copy_pinned_snippets_with_a_preview,
    |app| {
        let s = app.sign_in(&app.a.admin_email).await;
        let (org, id) = (app.a.org, app.a.survey.id);
        let draft = &app.a.survey.draft;
        let mut form: Vec<(String, String)> = vec![
            ("name".into(), "Agency A survey".into()),
            ("transaction_point".into(), "post_interaction".into()),
            ("allowed_origins".into(), "https://www.partner.gov".into()),
            ("title_en".into(), draft.title.get("en").into()),
            ("title_es".into(), draft.title.get("es").into()),
        ];
        for q in &draft.questions {
            for l in ["en", "es"] {
                form.push((format!("q.{}.prompt_{l}", q.id), q.prompt.get(l).into()));
                for o in &q.options {
                    form.push((
                        format!("q.{}.opt.{}_{l}", q.id, o.value),
                        o.label.get(l).into(),
                    ));
                }
            }
        }
        let path = format!("/admin/o/{org}/surveys/{id}/edit");
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut f: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            f.extend_from_slice(extra);
            f
        };
        let bad = app
            .post(&s, &path, &with(&[("widget_sample_percent", "150")]))
            .await;
        assert_eq!(bad.status(), 422);
        assert!(bad.text().await.unwrap().contains("from 0 to 100"));
        let ok = app
            .post(
                &s,
                &path,
                &with(&[("widget_sample_percent", "0"), ("keep_query", "on")]),
            )
            .await;
        assert_eq!(ok.status(), 200);
        let survey = app.store.survey(org, id).await.unwrap();
        assert_eq!((survey.widget_sample_percent, survey.keep_query), (0, true));
        let edit = app.get(&s, &path).await.text().await.unwrap();
        assert!(edit.contains("name=\"widget_sample_percent\" type=\"number\" value=\"0\""));

        let page = app
            .get(&s, &format!("/admin/o/{org}/surveys/{id}/embed"))
            .await;
        assert_eq!(page.status(), 200);
        let raw = page.text().await.unwrap();
        // The snippets are shown as escaped text; read them as a person copying them would.
        let html = [
            ("&quot;", "\""),
            ("&#34;", "\""),
            ("&#x2f;", "/"),
            ("&#x27;", "'"),
            ("&lt;", "<"),
            ("&gt;", ">"),
            ("&amp;", "&"),
        ]
        .iter()
        .fold(raw, |h, (e, c)| h.replace(e, c));
        let w = &*heard_server::widget::WIDGET;
        let src = format!("{}{}", app.base, heard_server::widget::versioned_path());
        for mode in ["tab", "inline", "button"] {
            assert!(html.contains(&format!("data-snippet=\"{mode}\"")), "{mode}");
        }
        assert_eq!(html.matches(&format!("src=\"{src}\"")).count(), 3);
        assert_eq!(html.matches(&w.integrity).count(), 3);
        assert!(html.contains("crossorigin=\"anonymous\" referrerpolicy=\"no-referrer\""));
        assert!(html.contains(&format!("connect-src {}", app.base)));
        // The live preview loads the same pinned script from this server and counts nothing.
        assert_eq!(
            html.matches(&format!(
                "<script async src=\"{}\"",
                heard_server::widget::versioned_path()
            ))
            .count(),
            2
        );
        assert_eq!(html.matches("data-preview=\"1\"").count(), 2);
        let share = app
            .get(&s, &format!("/admin/o/{org}/surveys/{id}/share"))
            .await
            .text()
            .await
            .unwrap();
        assert!(share.contains(&format!("/admin/o/{org}/surveys/{id}/embed")));
    }
);
