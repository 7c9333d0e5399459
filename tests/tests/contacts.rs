//! Contacts: CRUD with E.164 numbers, one per number per user, search, filters, sorting,
//! bulk delete, and tenant isolation.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};
use tests::{Backend, Decode, TestApp, expect_error, on_both_backends, users::signed_in};
use uuid::Uuid;

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/api/contacts", body, Some(token)).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app
        .get(&format!("/api/contacts?{query}"), Some(token))
        .await;
    assert_eq!(resp.status(), 200, "{query}");
    resp.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// A completed call to `contact` scored with `tag`.
async fn scored_call(app: &TestApp, user: Uuid, contact: Uuid, tag: &str, total: i32) {
    let call = tests::records::call(
        app,
        tests::records::CallRow {
            user,
            agent: None,
            contact: Some(contact),
            secs: 60,
            status: shared::calls::CallStatus::Completed,
            success: None,
        },
    )
    .await;
    tests::records::lead(app, &call, tag, total).await;
}

on_both_backends!(
    contacts_crud_and_validation,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, me) = signed_in(&app, "owner@example.com").await;
        let (other, _) = signed_in(&app, "other@example.com").await;

        let dana = create(
        &app,
        &token,
        json!({"name": " Dana Reyes ", "phone_number": "(415) 555-0123", "email": "Dana@Example.com",
               "company": "Northwind", "tags": ["vip", "vip", "q3"], "custom_fields": {"plan": "pro"}}),
    )
    .await;
        assert_eq!(dana["name"], "Dana Reyes");
        assert_eq!(dana["phone_number"], "+14155550123");
        assert_eq!(dana["phone_raw"], "(415) 555-0123");
        assert_eq!(dana["email"], "dana@example.com");
        assert_eq!(dana["tags"], json!(["vip", "q3"]));
        assert_eq!(dana["user_id"], me.to_string());
        let id = dana["id"].as_str().unwrap().to_string();

        // The same number in another format is the same contact.
        let dup = app
            .post(
                "/api/contacts",
                json!({"name": "Dana again", "phone_number": "+1 415-555-0123"}),
                Some(&token),
            )
            .await;
        let body = expect_error(dup, 409, "duplicate_contact").await;
        assert_eq!(body["error"]["details"]["existing_id"], id);
        // …but another user may have it.
        create(
            &app,
            &other,
            json!({"name": "Dana", "phone_number": "+14155550123"}),
        )
        .await;

        for (body, field) in [
            (json!({"name": "X", "phone_number": "12"}), "phone_number"),
            (
                json!({"name": "   ", "phone_number": "+14155550199"}),
                "name",
            ),
            (
                json!({"name": "X", "phone_number": "+14155550199", "email": "nope"}),
                "email",
            ),
            (
                json!({"name": "X", "phone_number": "+14155550199", "custom_fields": {"bad key": "v"}}),
                "custom_fields",
            ),
            (
                json!({"name": "X", "phone_number": "+14155550199", "tags": [""]}),
                "tags",
            ),
        ] {
            let resp = app.post("/api/contacts", body.clone(), Some(&token)).await;
            let err = expect_error(resp, 400, "validation_error").await;
            assert!(err["error"]["details"][field].is_string(), "{}", err);
        }
        let missing = app
            .post("/api/contacts", json!({"name": "X"}), Some(&token))
            .await;
        expect_error(missing, 400, "validation_error").await;
        expect_error(app.get("/api/contacts", None).await, 401, "missing_token").await;

        // Read, update (null clears), tenant isolation.
        let got: Value = app
            .get(&format!("/api/contacts/{id}"), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(got["custom_fields"]["plan"], "pro");
        let path = format!("/api/contacts/{id}");
        expect_error(app.get(&path, Some(&other)).await, 404, "contact_not_found").await;
        let foreign = app
            .send(
                Method::PATCH,
                &path,
                Some(json!({"name": "Mine now"})),
                Some(&other),
            )
            .await;
        expect_error(foreign, 404, "contact_not_found").await;
        expect_error(
            app.send(Method::DELETE, &path, None, Some(&other)).await,
            404,
            "contact_not_found",
        )
        .await;
        expect_error(
            app.get("/api/contacts/not-a-uuid", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;

        let updated: Value = app
            .send(
                Method::PATCH,
                &path,
                Some(json!({"email": null, "do_not_call": true, "notes": "call after 5"})),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(updated["email"], Value::Null);
        assert_eq!(updated["do_not_call"], true);
        assert_eq!(updated["company"], "Northwind", "absent fields are kept");
        let ana = create(
            &app,
            &token,
            json!({"name": "Ana", "phone_number": "+442071838750"}),
        )
        .await;
        let clash = app
            .send(
                Method::PATCH,
                &path,
                Some(json!({"phone_number": "+44 20 7183 8750"})),
                Some(&token),
            )
            .await;
        let body = expect_error(clash, 409, "duplicate_contact").await;
        assert_eq!(body["error"]["details"]["existing_id"], ana["id"]);
        let bad = app
            .send(
                Method::PATCH,
                &path,
                Some(json!({"phone_number": "abc"})),
                Some(&token),
            )
            .await;
        expect_error(bad, 400, "validation_error").await;

        // Bulk delete touches only the caller's.
        let bulk: Value = app
            .post(
                "/api/contacts/bulk-delete",
                json!({"ids": [ana["id"], shared::platform::ids::next()]}),
                Some(&other),
            )
            .await
            .success_json()
            .await;
        assert_eq!(bulk["deleted"], 0);
        let empty = app
            .post(
                "/api/contacts/bulk-delete",
                json!({"ids": []}),
                Some(&token),
            )
            .await;
        expect_error(empty, 400, "validation_error").await;
        let bulk: Value = app
            .post(
                "/api/contacts/bulk-delete",
                json!({"ids": [ana["id"]]}),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(bulk["deleted"], 1);
        assert_eq!(
            app.send(Method::DELETE, &path, None, Some(&token))
                .await
                .status(),
            204
        );
        expect_error(app.get(&path, Some(&token)).await, 404, "contact_not_found").await;
    }
);

on_both_backends!(
    contacts_search_filter_sort_and_page,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, me) = signed_in(&app, "lists@example.com").await;
        let (other, _) = signed_in(&app, "someone@example.com").await;
        let mut ids = Vec::new();
        for (name, phone, company, tags) in [
            ("Charlie Day", "+14155550101", "Paddy's", json!(["bar"])),
            ("alice Smith", "+14155550102", "Acme", json!(["vip"])),
            (
                "Bob Stone",
                "+14155550103",
                "Acme Corp",
                json!(["vip", "q3"]),
            ),
            ("Dee 100%", "+14155550104", "Reynolds_Co", json!([])),
        ] {
            let c = create(
                &app,
                &token,
                json!({"name": name, "phone_number": phone, "company": company, "tags": tags}),
            )
            .await;
            ids.push(c["id"].as_str().unwrap().parse::<Uuid>().unwrap());
        }
        create(
            &app,
            &other,
            json!({"name": "Alice Other", "phone_number": "+14155550102"}),
        )
        .await;

        let all = list(&app, &token, "sort=name").await;
        assert_eq!(all["total"], 4);
        assert_eq!(
            names(&all),
            ["alice Smith", "Bob Stone", "Charlie Day", "Dee 100%"],
            "any case"
        );
        assert_eq!(names(&list(&app, &token, "q=ALICE").await), ["alice Smith"]);
        assert_eq!(
            names(&list(&app, &token, "q=(415)%20555-0103").await),
            ["Bob Stone"]
        );
        assert_eq!(list(&app, &token, "q=acme").await["total"], 2);
        assert_eq!(
            names(&list(&app, &token, "q=100%25").await),
            ["Dee 100%"],
            "% is literal"
        );
        assert_eq!(
            names(&list(&app, &token, "q=s_co").await),
            ["Dee 100%"],
            "_ is literal"
        );
        assert_eq!(list(&app, &token, "tag=vip").await["total"], 2);
        assert_eq!(names(&list(&app, &token, "tag=q3").await), ["Bob Stone"]);

        scored_call(&app, me, ids[0], "Cold", 3).await;
        scored_call(&app, me, ids[0], "Hot", 13).await;
        scored_call(&app, me, ids[1], "Warm", 8).await;
        assert_eq!(list(&app, &token, "has_calls=true").await["total"], 2);
        assert_eq!(list(&app, &token, "has_calls=false").await["total"], 2);
        let hot = list(&app, &token, "lead_status=Hot").await;
        assert_eq!(names(&hot), ["Charlie Day"], "the latest score counts");
        assert_eq!(hot["items"][0]["lead_status_tag"], "Hot");
        assert_eq!(hot["items"][0]["total_score"], 13);
        assert_eq!(list(&app, &token, "lead_status=Cold").await["total"], 0);

        let page = list(&app, &token, "sort=name&order=desc&per_page=3&page=2").await;
        assert_eq!(
            (
                page["total"].as_u64(),
                page["items"].as_array().unwrap().len()
            ),
            (Some(4), 1)
        );
        let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let q = format!("created_from={}", urlencode(&future));
        assert_eq!(list(&app, &token, &q).await["total"], 0);
        let bad = format!(
            "created_from={}&created_to={}",
            urlencode(&future),
            urlencode(&Utc::now().to_rfc3339())
        );
        expect_error(
            app.get(&format!("/api/contacts?{bad}"), Some(&token)).await,
            400,
            "validation_error",
        )
        .await;
        expect_error(
            app.get("/api/contacts?sort=colour", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;
        expect_error(
            app.get("/api/contacts?per_page=101", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;
    }
);

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

on_both_backends!(
    contacts_export_and_the_import_template,
    |backend: Backend| async move {
        use shared::contacts::sheet::{Format, read};
        let app = TestApp::spawn(backend).await;
        let (token, _) = signed_in(&app, "export@example.com").await;
        let (other, _) = signed_in(&app, "nosy@example.com").await;
        create(&app, &token, json!({"name": "Dana", "phone_number": "+14155550101", "tags": ["vip"], "custom_fields": {"plan": "pro"}})).await;
        create(&app, &token, json!({"name": "=HYPERLINK(\"http://evil\")", "phone_number": "+14155550102", "tags": ["vip"]})).await;
        create(
            &app,
            &token,
            json!({"name": "Eve", "phone_number": "+14155550103", "company": "Acme, Inc."}),
        )
        .await;
        create(
            &app,
            &other,
            json!({"name": "Not mine", "phone_number": "+14155550104"}),
        )
        .await;

        let resp = app
            .get("/api/contacts/export?format=csv", Some(&token))
            .await;
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains(".csv")
        );
        let csv = resp.bytes().await.unwrap().to_vec();
        let (rows, total) = read(Format::Csv, &csv, 100).unwrap();
        assert_eq!(total, 4, "a header and three contacts");
        assert_eq!(rows[0][0], "Name");
        assert_eq!(
            rows[0].last().unwrap(),
            "plan",
            "custom fields become columns"
        );
        assert!(
            rows.iter().any(|r| r[3] == "Acme, Inc."),
            "quoting keeps commas"
        );
        assert!(
            rows.iter().any(|r| r[0].starts_with("'=HYPERLINK")),
            "formulas are neutralised"
        );
        assert!(!rows.iter().any(|r| r[0] == "Not mine"));

        let resp = app
            .get("/api/contacts/export?format=xlsx&tag=vip", Some(&token))
            .await;
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("spreadsheetml")
        );
        let xlsx = resp.bytes().await.unwrap().to_vec();
        let (rows, total) = read(Format::Xlsx, &xlsx, 100).unwrap();
        assert_eq!(total, 3, "a header and the two vip contacts");
        assert!(
            rows.iter().any(|r| r[1] == "+14155550101"),
            "phones stay text"
        );

        // Exported files import back (into another account, as a migration would).
        let back = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(xlsx).file_name("contacts.xlsx"),
        );
        let resp = app
            .client
            .post(app.url("/api/contacts/imports"))
            .bearer_auth(&other)
            .multipart(back)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);

        let resp = app.get("/api/contacts/import-template", Some(&token)).await;
        assert_eq!(resp.status(), 200);
        let template = resp.bytes().await.unwrap().to_vec();
        let (rows, _) = read(Format::Xlsx, &template, 10).unwrap();
        assert_eq!(rows[0][..2], ["Name".to_string(), "Phone".to_string()]);
        assert_eq!(rows.len(), 2, "headers and one example");

        expect_error(
            app.get("/api/contacts/export?format=pdf", Some(&token))
                .await,
            400,
            "invalid_parameter",
        )
        .await;
        expect_error(
            app.get("/api/contacts/export", None).await,
            401,
            "missing_token",
        )
        .await;
    }
);
