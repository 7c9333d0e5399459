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
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], true);
    body["data"].clone()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app
        .get(&format!("/api/contacts?{query}"), Some(token))
        .await;
    assert_eq!(resp.status(), 200, "{query}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], true);
    body["data"].clone()
}

fn names(page: &Value) -> Vec<String> {
    page["contacts"]
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
        assert_eq!(dana["phone_e164"], "+14155550123");
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
            .success_json::<Value>()
            .await["data"]
            .clone();
        assert_eq!(got["custom_fields"]["plan"], "pro");
        assert_eq!(got["call_link_type"], "not_linked");
        assert_eq!(got["is_auto_created"], false);
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
            .success_json::<Value>()
            .await["data"]
            .clone();
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
                .success_json::<Value>()
                .await["success"],
            true
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

        let all = list(&app, &token, "").await;
        assert_eq!(all["pagination"]["total"], 4);
        assert_eq!(
            names(&all),
            ["alice Smith", "Bob Stone", "Charlie Day", "Dee 100%"],
            "any case"
        );
        assert_eq!(
            names(&list(&app, &token, "search=ALICE").await),
            ["alice Smith"]
        );
        assert_eq!(
            names(&list(&app, &token, "search=(415)%20555-0103").await),
            ["Bob Stone"]
        );
        assert_eq!(
            list(&app, &token, "search=acme").await["pagination"]["total"],
            2
        );
        assert_eq!(
            names(&list(&app, &token, "search=100%25").await),
            ["Dee 100%"],
            "% is literal"
        );
        assert_eq!(
            names(&list(&app, &token, "search=s_co").await),
            ["Dee 100%"],
            "_ is literal"
        );
        assert_eq!(
            list(&app, &token, "tag=vip").await["pagination"]["total"],
            2
        );
        assert_eq!(names(&list(&app, &token, "tag=q3").await), ["Bob Stone"]);

        scored_call(&app, me, ids[0], "Cold", 3).await;
        scored_call(&app, me, ids[0], "Hot", 13).await;
        scored_call(&app, me, ids[1], "Warm", 8).await;
        assert_eq!(
            list(&app, &token, "hasCalls=true").await["pagination"]["total"],
            2
        );
        assert_eq!(
            list(&app, &token, "hasCalls=false").await["pagination"]["total"],
            2
        );
        let hot = list(&app, &token, "leadStatus=Hot").await;
        assert_eq!(names(&hot), ["Charlie Day"], "the latest score counts");
        assert_eq!(hot["contacts"][0]["lead_status_tag"], "Hot");
        assert_eq!(hot["contacts"][0]["total_score"], 13);
        assert_eq!(
            list(&app, &token, "leadStatus=Cold").await["pagination"]["total"],
            0
        );

        let page = list(&app, &token, "sortBy=name&sortOrder=desc&limit=3&offset=3").await;
        assert_eq!(
            (
                page["pagination"]["total"].as_u64(),
                page["contacts"].as_array().unwrap().len(),
                page["pagination"]["hasMore"].as_bool()
            ),
            (Some(4), 1, Some(false))
        );
        assert_eq!(names(&page), ["alice Smith"]);
        let first = list(&app, &token, "limit=2").await;
        assert_eq!(
            names(&first),
            ["alice Smith", "Bob Stone"],
            "name A-Z by default"
        );
        assert_eq!(first["pagination"]["hasMore"], true);
        assert_eq!(
            names(&list(&app, &token, "sortBy=phone_number&sortOrder=desc").await),
            ["Dee 100%", "Bob Stone", "alice Smith", "Charlie Day"]
        );
        let future = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let q = format!("createdFrom={}", urlencode(&future));
        assert_eq!(list(&app, &token, &q).await["pagination"]["total"], 0);
        let bad = format!(
            "createdFrom={}&createdTo={}",
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
            app.get("/api/contacts?sortBy=colour", Some(&token)).await,
            400,
            "invalid_parameter",
        )
        .await;
        expect_error(
            app.get("/api/contacts?limit=101", Some(&token)).await,
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
        let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
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
        let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
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
        let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, cells)| cells).collect();
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

on_both_backends!(
    the_contact_forms_body_counts_and_probes,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, me) = signed_in(&app, "form@example.com").await;
        let (other, _) = signed_in(&app, "form-other@example.com").await;

        // The form sends `phoneNumber` with the `+91 ` it pre-fills, and leaves out empty fields.
        let asha = create(
            &app,
            &token,
            json!({"name": "Asha Rao", "phoneNumber": "+91 98765 43210", "company": "Rao & Sons"}),
        )
        .await;
        assert_eq!(asha["phone_e164"], "+919876543210");
        assert_eq!(
            asha["phone_number"], "+91 98765 43210",
            "the form splits the country code off at the space"
        );
        assert_eq!(asha["phone_raw"], "+91 98765 43210");
        assert_eq!(asha["call_link_type"], "not_linked");
        let only_prefix = app
            .post(
                "/api/contacts",
                json!({"name": "Nobody", "phoneNumber": "+91 "}),
                Some(&token),
            )
            .await;
        let err = expect_error(only_prefix, 400, "validation_error").await;
        assert!(err["error"]["details"]["phone_number"].is_string(), "{err}");
        let taken = app
            .post(
                "/api/contacts",
                json!({"name": "Asha again", "phoneNumber": "+919876543210"}),
                Some(&token),
            )
            .await;
        let err = expect_error(taken, 409, "duplicate_contact").await;
        assert_eq!(err["error"]["code"], "CONFLICT", "the form branches on it");

        // The edit replaces the form's fields: the number changes, an emptied company is cleared,
        // tags the form knows nothing of stay.
        let id = asha["id"].as_str().unwrap();
        let path = format!("/api/contacts/{id}");
        app.send(
            Method::PATCH,
            &path,
            Some(json!({"tags": ["vip"]})),
            Some(&token),
        )
        .await
        .success_json::<Value>()
        .await;
        let edited: Value = app
            .send(
                Method::PUT,
                &path,
                Some(json!({"name": "Asha R.", "phoneNumber": "+91 98765 00000", "email": "asha@rao.in"})),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(edited["success"], true);
        let edited = &edited["data"];
        assert_eq!(
            (
                &edited["name"],
                &edited["phone_e164"],
                &edited["email"],
                &edited["company"]
            ),
            (
                &json!("Asha R."),
                &json!("+919876500000"),
                &json!("asha@rao.in"),
                &Value::Null
            )
        );
        assert_eq!(edited["tags"], json!(["vip"]));
        let foreign = app
            .send(
                Method::PUT,
                &path,
                Some(json!({"name": "Mine", "phoneNumber": "+919876500001"})),
                Some(&other),
            )
            .await;
        expect_error(foreign, 404, "contact_not_found").await;
        let unchanged: Value = app.get(&path, Some(&token)).await.success_json().await;
        assert_eq!(
            unchanged["data"]["name"], "Asha R.",
            "a refused edit changes nothing"
        );

        // Counts: a contact called since it was typed in is linked by hand.
        let called = create(
            &app,
            &token,
            json!({"name": "Ravi", "phoneNumber": "+919812345678"}),
        )
        .await;
        let called_id: Uuid = called["id"].as_str().unwrap().parse().unwrap();
        scored_call(&app, me, called_id, "Warm", 60).await;
        let listed = list(&app, &token, "search=ravi").await;
        assert_eq!(listed["contacts"][0]["call_link_type"], "manually_linked");
        assert!(listed["contacts"][0]["linked_call_id"].is_string());
        let stats: Value = app
            .get("/api/contacts/stats", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            stats["data"]["stats"],
            json!({"totalContacts": 2, "recentContacts": 2, "contactsWithCalls": 1,
                   "autoCreatedContacts": 0, "manuallyCreatedContacts": 2})
        );
        let theirs: Value = app
            .get("/api/contacts/stats", Some(&other))
            .await
            .success_json()
            .await;
        assert_eq!(theirs["data"]["stats"]["totalContacts"], 0);

        // The upload dialog's probe and template.
        let probe: Value = app
            .post(
                "/api/contacts/test-upload",
                json!({"test": true}),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(probe["message"], "Backend is reachable");
        let template = app.get("/api/contacts/template", Some(&token)).await;
        assert_eq!(template.status(), 200);
        assert!(
            template.bytes().await.unwrap().starts_with(b"PK"),
            "an .xlsx"
        );
        expect_error(
            app.get("/api/contacts/stats", None).await,
            401,
            "missing_token",
        )
        .await;
    }
);
