//! Crisis and threat language reaches the people who must act (issue 16, item 14): an indirect
//! statement of suicidal intent or a veiled threat, submitted as a free-text answer through the
//! public API, is stored urgent, reads negative, and is listed in the urgent panel at the top of
//! the organization's overview, before everything else on it.

use serde_json::{Value, json};

use crate::both_backends;

both_backends!(
    crisis_and_threat_comments_are_urgent_and_listed_first,
    |app| {
        let comments = [
            (
                "crisis-0000001",
                "The office was friendly and the staff were helpful.",
                false,
            ),
            (
                "crisis-0000002",
                "I lost my job, I can't pay rent, and I honestly don't see the point of living anymore.",
                true,
            ),
            (
                "crisis-0000003",
                "I don't know how much longer I can keep going like this. I want to end it.",
                true,
            ),
            (
                "crisis-0000004",
                "Someone is going to make you pay for this.",
                true,
            ),
            (
                "crisis-0000005",
                "This form is killing me, and I'm dying to know when my card will arrive.",
                false,
            ),
        ];
        for (key, comment, urgent) in comments {
            let body = json!({"idempotency_key": key, "answers": {"trust": 1, "went_well": ["ease"], "comment": comment}});
            let r: Value = app.submit_json(&app.a, &body).await;
            let id: heard_domain::ResponseId = r["id"].as_str().unwrap().parse().unwrap();
            let stored = app.store.response(app.a.org, id).await.unwrap();
            assert_eq!(stored.urgent, urgent, "urgent for {comment:?}");
            if urgent {
                // The second comment holds no negative word ("keep going", "end it"); a crisis flag
                // reads negative whatever the words' valence.
                assert_eq!(stored.sentiment.as_deref(), Some("negative"), "{comment:?}");
            }
        }
        let s = app.sign_in(&app.a.admin_email).await;
        let overview = app
            .get(&s, &format!("/admin/o/{}", app.a.org))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            overview.contains("3 responses with crisis or threat language"),
            "urgent panel on the overview"
        );
        let panel = overview
            .find("crisis or threat language")
            .expect("urgent panel");
        let surveys = overview.find("<h2>Surveys</h2>").expect("surveys section");
        assert!(panel < surveys, "the urgent panel comes first");
        for needle in [
            "see the point of living",
            "I want to end it",
            "make you pay",
        ] {
            let at = overview
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} listed"));
            assert!(at < surveys, "{needle} is listed in the urgent panel");
        }
        assert!(!overview.contains("This form is killing me"));
    }
);
