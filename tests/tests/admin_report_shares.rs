//! Reports > Sharing: a share's link opens the report for whom it was meant (anyone, signed-in
//! allowed users or domains, the password's holder) and no one else, until it expires or is
//! revoked; email shares email their link; openings are counted; every refusal stores nothing.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use shared::entities::{email_outbox, report_shares};
use tests::{Backend, Decode, TestApp, expect_error, on_both_backends, users::signed_in};

const SHARES: &str = "/api/admin/reports/shares";

fn share(report: &str, patch: Value) -> Value {
    let mut body = json!({
        "reportId": report, "reportName": "New accounts", "shareType": "link",
        "accessLevel": "view", "isPublic": true, "requiresAuth": true,
        "allowedUsers": [""], "allowedDomains": []
    });
    for (k, v) in patch.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// The link's path and query, as the recipient's browser asks for it.
fn path_of(app: &TestApp, url: &str) -> String {
    let base = app
        .services
        .config
        .server
        .public_base_url
        .trim_end_matches('/');
    assert!(url.starts_with(base), "{url}");
    url[base.len()..].to_string()
}

async fn share_count(app: &TestApp) -> u64 {
    report_shares::Entity::find()
        .count(&app.services.db)
        .await
        .unwrap()
}

on_both_backends!(
    shared_reports_open_for_whom_they_were_meant,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let (member, _) = signed_in(&app, "member@example.com").await;
        let (colleague, _) = signed_in(&app, "viewer@acme.example").await;
        let made: Value = app
            .post(
                "/api/admin/reports/generate",
                json!({"name": "New accounts", "dataSource": "users",
                       "metrics": ["total_users", "new_registrations"], "format": "csv"}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        let report = made["reportId"].as_str().unwrap().to_string();
        let list_path = format!("/api/admin/reports/{report}/shares");

        // Users are refused every admin endpoint of sharing.
        let some = uuid::Uuid::now_v7();
        for resp in [
            app.get(&list_path, Some(&member)).await,
            app.post(SHARES, share(&report, json!({})), Some(&member))
                .await,
            app.send(
                reqwest::Method::DELETE,
                &format!("{SHARES}/{some}"),
                None,
                Some(&member),
            )
            .await,
            app.post(&format!("{SHARES}/{some}/email"), json!({}), Some(&member))
                .await,
        ] {
            expect_error(resp, 403, "admin_required").await;
        }

        // Refused forms store nothing.
        for (patch, field) in [
            (json!({"isPublic": false}), "allowedUsers"),
            (
                json!({"isPublic": false, "allowedUsers": ["not an address"]}),
                "allowedUsers",
            ),
            (
                json!({"isPublic": false, "allowedDomains": ["acme"]}),
                "allowedDomains",
            ),
            (json!({"shareType": "email"}), "allowedUsers"),
            (json!({"expiresAt": "2020-01-01T00:00:00Z"}), "expiresAt"),
            (json!({"password": "abc"}), "password"),
        ] {
            let refused = expect_error(
                app.post(SHARES, share(&report, patch), Some(&root)).await,
                400,
                "validation_error",
            )
            .await;
            assert!(refused["error"]["details"][field].is_string(), "{refused}");
        }
        expect_error(
            app.post(SHARES, share(&some.to_string(), json!({})), Some(&root))
                .await,
            404,
            "report_not_found",
        )
        .await;
        expect_error(
            app.get(&format!("/api/admin/reports/{some}/shares"), Some(&root))
                .await,
            404,
            "report_not_found",
        )
        .await;
        assert_eq!(share_count(&app).await, 0);
        let none: Value = app.get(&list_path, Some(&root)).await.success_json().await;
        assert_eq!(none, json!([]));

        // A public view link: anyone opens it in the browser; only its own token works.
        let public: Value = app
            .post(SHARES, share(&report, json!({})), Some(&root))
            .await
            .expect_json(201)
            .await;
        assert_eq!(public["reportName"], "New accounts");
        assert_eq!(public["accessCount"], 0);
        assert_eq!(
            public["requiresAuth"], false,
            "a public share asks no sign-in"
        );
        let link = path_of(&app, public["shareUrl"].as_str().unwrap());
        let opened = app.get(&link, None).await;
        assert_eq!(opened.status(), 200);
        assert!(
            opened.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("inline;")
        );
        assert_eq!(opened.headers()["x-frame-options"], "DENY");
        assert!(opened.text().await.unwrap().contains("date,new_users\n"));
        let forged = format!("{}{}", &link[..link.len() - 4], "0000");
        expect_error(app.get(&forged, None).await, 404, "report_share_not_found").await;
        let listed: Value = app.get(&list_path, Some(&root)).await.success_json().await;
        assert_eq!(listed[0]["accessCount"], 1);
        assert!(listed[0]["lastAccessed"].is_string());
        assert_eq!(
            listed[0]["shareUrl"], public["shareUrl"],
            "the list shows the link again"
        );

        // Private to signed-in accounts of a domain, as a download.
        let private: Value = app
            .post(
                SHARES,
                share(
                    &report,
                    json!({"isPublic": false, "accessLevel": "download",
                                      "allowedDomains": ["@ACME.example"]}),
                ),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        assert_eq!(private["allowedDomains"], json!(["acme.example"]));
        let link = path_of(&app, private["shareUrl"].as_str().unwrap());
        expect_error(app.get(&link, None).await, 401, "sign_in_required").await;
        expect_error(
            app.get(&link, Some(&member)).await,
            403,
            "share_not_allowed",
        )
        .await;
        let opened = app.get(&link, Some(&colleague)).await;
        assert_eq!(opened.status(), 200);
        assert!(
            opened.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );

        // A password on top: asked for, checked.
        let locked: Value = app
            .post(
                SHARES,
                share(&report, json!({"password": "north-star-42"})),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        assert_eq!(locked["hasPassword"], true);
        assert!(locked.get("password").is_none());
        let link = path_of(&app, locked["shareUrl"].as_str().unwrap());
        expect_error(app.get(&link, None).await, 401, "share_password_required").await;
        let (path, token) = link.split_once("?token=").unwrap();
        expect_error(
            app.post(
                path,
                json!({"token": token, "password": "guess-1234"}),
                None,
            )
            .await,
            403,
            "share_password_invalid",
        )
        .await;
        let opened = app
            .post(
                path,
                json!({"token": token, "password": "north-star-42"}),
                None,
            )
            .await;
        assert_eq!(opened.status(), 200);

        // An embed: an iframe of the link, which any page may frame.
        let embed: Value = app
            .post(
                SHARES,
                share(&report, json!({"shareType": "embed"})),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        let code = embed["embedCode"].as_str().unwrap();
        assert!(
            code.starts_with("<iframe src=\"")
                && code.contains(embed["shareUrl"].as_str().unwrap())
        );
        let framed = app
            .get(&path_of(&app, embed["shareUrl"].as_str().unwrap()), None)
            .await;
        assert_eq!(framed.status(), 200);
        assert!(framed.headers().get("x-frame-options").is_none());
        assert!(
            framed.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors *")
        );

        // An email share emails its users at once, and again on request.
        let emailed: Value = app
            .post(
                SHARES,
                share(&report, json!({"shareType": "email", "isPublic": false,
                                      "allowedUsers": ["board@acme.example", "", "ceo@acme.example"],
                                      "emailSubject": "Sign-ups", "emailMessage": "For Monday."})),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        let url = emailed["shareUrl"].as_str().unwrap().to_string();
        let sent = || async {
            email_outbox::Entity::find()
                .filter(email_outbox::Column::Subject.eq("Sign-ups"))
                .all(&app.services.db)
                .await
                .unwrap()
        };
        let first = sent().await;
        assert_eq!(first.len(), 2);
        assert!(
            first
                .iter()
                .all(|e| e.text_body.contains(&url) && e.text_body.starts_with("For Monday."))
        );
        let again: Value = app
            .post(
                &format!("{SHARES}/{}/email", emailed["id"].as_str().unwrap()),
                json!({}),
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(again["sent"], 2);
        assert_eq!(sent().await.len(), 4);
        expect_error(
            app.post(
                &format!("{SHARES}/{}/email", public["id"].as_str().unwrap()),
                json!({}),
                Some(&root),
            )
            .await,
            409,
            "share_has_no_recipients",
        )
        .await;

        // Expired and revoked links answer as an unknown one.
        let id: uuid::Uuid = embed["id"].as_str().unwrap().parse().unwrap();
        let row = report_shares::Entity::find_by_id(id)
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        let mut row: report_shares::ActiveModel = row.into();
        row.expires_at = Set(Some(chrono::Utc::now() - chrono::Duration::minutes(1)));
        row.update(&app.services.db).await.unwrap();
        expect_error(
            app.get(&path_of(&app, embed["shareUrl"].as_str().unwrap()), None)
                .await,
            404,
            "report_share_not_found",
        )
        .await;
        let revoke = format!("{SHARES}/{}", public["id"].as_str().unwrap());
        app.send(reqwest::Method::DELETE, &revoke, None, Some(&root))
            .await
            .success_json::<Value>()
            .await;
        expect_error(
            app.get(&path_of(&app, public["shareUrl"].as_str().unwrap()), None)
                .await,
            404,
            "report_share_not_found",
        )
        .await;
        expect_error(
            app.send(reqwest::Method::DELETE, &revoke, None, Some(&root))
                .await,
            404,
            "report_share_not_found",
        )
        .await;
        let listed: Value = app.get(&list_path, Some(&root)).await.success_json().await;
        assert_eq!(
            listed.as_array().unwrap().len(),
            4,
            "the revoked share is gone from the list"
        );

        let log: Value = app
            .get(
                "/api/admin/audit?resourceType=report_share&limit=50",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        let actions: Vec<&str> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions
                .iter()
                .filter(|a| **a == "report_share.created")
                .count(),
            5,
            "{actions:?}"
        );
        assert_eq!(
            actions
                .iter()
                .filter(|a| **a == "report_share.emailed")
                .count(),
            1
        );
        assert_eq!(
            actions
                .iter()
                .filter(|a| **a == "report_share.revoked")
                .count(),
            1
        );
    }
);
