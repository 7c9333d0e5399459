//! Contact imports end to end: spreadsheets as users have them (.xlsx with numbers as floats
//! and lost `+` signs, semicolon CSV with a BOM, .ods), duplicates and invalid rows reported by
//! row, limits that import nothing, hostile files, progress, idempotent re-runs, isolation.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use shared::entities::{contact_imports, contacts};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    sheets::{self, Cell::*},
    sse::SseStream,
    users::signed_in,
};

const WAIT: Duration = Duration::from_secs(30);

/// A file name, its bytes, a column mapping, and the status and code it must get.
type BadFile = (
    &'static str,
    Vec<u8>,
    Option<&'static str>,
    u16,
    &'static str,
);

async fn upload(
    app: &TestApp,
    token: &str,
    filename: &str,
    bytes: Vec<u8>,
    mapping: Option<&str>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
    );
    if let Some(mapping) = mapping {
        form = form.text("mapping", mapping.to_string());
    }
    app.client
        .post(app.url("/api/contacts/imports"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Uploads, expects 202, and waits for the import to finish.
async fn import(
    app: &TestApp,
    token: &str,
    filename: &str,
    bytes: Vec<u8>,
    mapping: Option<&str>,
) -> Value {
    let resp = upload(app, token, filename, bytes, mapping).await;
    let accepted: Value = resp.expect_json(202).await;
    assert_eq!(accepted["status"], "queued");
    finished(app, token, accepted["id"].as_str().unwrap()).await
}

async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body: Value = app
            .get(&format!("/api/contacts/imports/{id}"), Some(token))
            .await
            .success_json()
            .await;
        if body["status"] == "completed" || body["status"] == "failed" {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "import stuck: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn csv_rows(n: usize) -> Vec<u8> {
    let mut csv = String::from("Name,Phone\n");
    for i in 0..n {
        csv.push_str(&format!("Person {i},+1415{:07}\n", 5_000_000 + i));
    }
    csv.into_bytes()
}

on_both_backends!(
    spreadsheets_import_with_a_report,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, _) = signed_in(&app, "importer@example.com").await;
        let existing = app
            .post(
                "/api/contacts",
                json!({"name": "Already here", "phone_number": "+14155550199"}),
                Some(&token),
            )
            .await;
        assert_eq!(existing.status(), 201);

        let file = sheets::xlsx(&[
            vec![Text("Contacts exported 2026-11-01")],
            vec![
                Text("First Name"),
                Text("Last Name"),
                Text("Mobile"),
                Text("E-mail"),
                Text("Company"),
                Text("Lead Source"),
            ],
            vec![
                Text("Dana"),
                Text("Reyes"),
                Number(14155550101.0),
                Text("dana@example.com"),
                Text("Northwind"),
                Text("webinar"),
            ],
            vec![
                Text("Ana"),
                Text("Lima"),
                Text("+1 415 555 0102"),
                Text(""),
                Text(""),
                Text(""),
            ],
            vec![
                Text("Nigel"),
                Text("Hart"),
                Number(447911123456.0),
                Text(""),
                Text("Acme UK"),
                Text(""),
            ],
            vec![
                Text("Dana"),
                Text("Again"),
                Text("(415) 555-0101"),
                Text(""),
                Text(""),
                Text(""),
            ],
            vec![
                Text("Bad"),
                Text("Number"),
                Text("12345"),
                Text(""),
                Text(""),
                Text(""),
            ],
            vec![
                Text("No"),
                Text("Phone"),
                Text(""),
                Text(""),
                Text(""),
                Text("x"),
            ],
            vec![
                Text("Already"),
                Text("Here"),
                Text("415.555.0199"),
                Text(""),
                Text(""),
                Text(""),
            ],
            vec![
                Text("Bad"),
                Text("Email"),
                Text("+14155550104"),
                Text("not-an-email"),
                Text(""),
                Text(""),
            ],
        ]);
        let done = import(&app, &token, "contacts.xlsx", file, None).await;
        assert_eq!(done["format"], "xlsx");
        assert_eq!(
            (
                done["total_rows"].as_i64(),
                done["processed_rows"].as_i64(),
                done["imported"].as_i64(),
                done["duplicates"].as_i64(),
                done["invalid"].as_i64()
            ),
            (Some(8), Some(8), Some(3), Some(2), Some(3)),
            "{done}"
        );
        let reasons: Vec<(u64, String)> = done["report"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["row"].as_u64().unwrap(),
                    r["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(
            reasons.contains(&(6, "already exists earlier in this file".into())),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&(7, "invalid phone number".into())),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&(8, "missing phone number".into())),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&(9, "a contact with this number already exists".into())),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|(row, why)| *row == 10 && why.starts_with("email")),
            "{reasons:?}"
        );

        let list: Value = app
            .get("/api/contacts?sortBy=name", Some(&token))
            .await
            .success_json()
            .await;
        let phones: Vec<&str> = list["data"]["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["phone_e164"].as_str().unwrap())
            .collect();
        assert_eq!(list["data"]["pagination"]["total"], 4);
        assert!(
            phones.contains(&"+14155550101") && phones.contains(&"+447911123456"),
            "{phones:?}"
        );
        let dana = list["data"]["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "Dana Reyes")
            .unwrap();
        assert_eq!(dana["custom_fields"]["lead_source"], "webinar");
        assert_eq!(dana["company"], "Northwind");

        // The job again: nothing twice.
        let id: uuid::Uuid = done["id"].as_str().unwrap().parse().unwrap();
        shared::contacts::import::run(&app.services, id)
            .await
            .unwrap();
        assert_eq!(
            contacts::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            4
        );

        // Semicolon CSV from a European Excel, with a BOM.
        let csv = "\u{feff}Name;Phone;Email\nZoe;+33 6 12 34 56 78;zoe@example.fr\n"
            .as_bytes()
            .to_vec();
        let done = import(&app, &token, "export.csv", csv, None).await;
        assert_eq!(
            (done["format"].as_str(), done["imported"].as_i64()),
            (Some("csv"), Some(1)),
            "{done}"
        );
        // OpenDocument.
        let ods = sheets::ods(&[vec!["Name", "Telephone"], vec!["Olga", "+4915112345678"]]);
        let done = import(&app, &token, "list.ods", ods, None).await;
        assert_eq!(
            (done["format"].as_str(), done["imported"].as_i64()),
            (Some("ods"), Some(1)),
            "{done}"
        );
        // Excel 97-2003 (BIFF8, written by xlwt): numbers stored as floats without their `+`
        // are read back as international numbers.
        let xls = include_bytes!("../fixtures/contacts.xls").to_vec();
        let done = import(&app, &token, "legacy.xls", xls, None).await;
        assert_eq!(
            (done["format"].as_str(), done["imported"].as_i64()),
            (Some("xls"), Some(3)),
            "{done}"
        );
        let skinner: Value = app
            .get("/api/contacts?search=skinner", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(skinner["data"]["contacts"][0]["phone_e164"], "+33698765432");
        let fox: Value = app
            .get("/api/contacts?search=mulder", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(fox["data"]["contacts"][0]["phone_e164"], "+442079460958");
        assert_eq!(
            fox["data"]["contacts"][0]["custom_fields"]["city"],
            "Oxford"
        );
        // Headers nobody could guess, mapped explicitly.
        let odd = "Who,Digits\nQuinn,+14155550150\n".as_bytes().to_vec();
        let done = import(
            &app,
            &token,
            "odd.csv",
            odd,
            Some(r#"{"phone": "Digits", "name": "Who"}"#),
        )
        .await;
        assert_eq!(done["imported"], 1, "{done}");
        let quinn: Value = app
            .get("/api/contacts?search=quinn", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(quinn["data"]["contacts"][0]["phone_e164"], "+14155550150");

        let imports: Value = app
            .get("/api/contacts/imports", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(imports["total"], 5);
    }
);

on_both_backends!(bad_files_import_nothing, |backend: Backend| async move {
    let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.uploads.import_max_bytes = 512 * 1024;
    })
    .await;
    let (token, _) = signed_in(&app, "careful@example.com").await;
    let (other, _) = signed_in(&app, "other@example.com").await;

    let cases: Vec<BadFile> = vec![
        ("big.csv", csv_rows(1_001), None, 422, "too_many_rows"),
        (
            "broken.xlsx",
            b"PK\x03\x04 this is not really a zip".to_vec(),
            None,
            422,
            "corrupt_file",
        ),
        (
            "photo.xlsx",
            b"\x89PNG\r\n\x1a\n not a spreadsheet".to_vec(),
            None,
            422,
            "mislabelled_file",
        ),
        (
            "bomb.xlsx",
            sheets::zip_bomb(40),
            None,
            422,
            "file_too_complex",
        ),
        (
            "nophone.csv",
            b"Name,City\nDana,Paris\n".to_vec(),
            None,
            422,
            "no_phone_column",
        ),
        (
            "header-only.csv",
            b"Name,Phone\n".to_vec(),
            None,
            422,
            "empty_file",
        ),
        (
            "latin1.csv",
            b"Name,Phone\nJos\xe9,+14155550123\n".to_vec(),
            None,
            422,
            "invalid_encoding",
        ),
        (
            "binary.bin",
            vec![0u8, 1, 2, 3, 0, 0],
            None,
            422,
            "unsupported_file",
        ),
        (
            "ok.csv",
            csv_rows(2),
            Some("{not json"),
            400,
            "validation_error",
        ),
        (
            "ok.csv",
            csv_rows(2),
            Some(r#"{"colour": "Name", "phone": "Phone"}"#),
            400,
            "validation_error",
        ),
        // Password protected (MS-OFFCRYPTO, written by msoffcrypto-tool), under any name.
        (
            "locked.xlsx",
            include_bytes!("../fixtures/password-protected.xlsx").to_vec(),
            None,
            422,
            "encrypted_file",
        ),
        (
            "locked.xls",
            include_bytes!("../fixtures/password-protected.xlsx").to_vec(),
            None,
            422,
            "encrypted_file",
        ),
        (
            "huge.csv",
            vec![b'a'; 600 * 1024],
            None,
            413,
            "payload_too_large",
        ),
    ];
    for (name, bytes, mapping, status, code) in cases {
        let resp = upload(&app, &token, name, bytes, mapping).await;
        let body = expect_error(resp, status, code).await;
        assert!(
            !body["error"]["message"].as_str().unwrap().is_empty(),
            "{name}"
        );
    }
    assert_eq!(
        contact_imports::Entity::find()
            .count(&app.services.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        contacts::Entity::find()
            .count(&app.services.db)
            .await
            .unwrap(),
        0
    );

    // Not multipart, no file, no token.
    let resp = app
        .post("/api/contacts/imports", json!({}), Some(&token))
        .await;
    assert!(
        resp.status() == 400 || resp.status() == 415,
        "{}",
        resp.status()
    );
    let resp = app
        .client
        .post(app.url("/api/contacts/imports"))
        .multipart(reqwest::multipart::Form::new().text("mapping", "{}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    expect_error(
        app.get("/api/contacts/imports", None).await,
        401,
        "missing_token",
    )
    .await;

    // Exactly at the limit is fine; another user cannot see it.
    let done = import(&app, &token, "max.csv", csv_rows(1_000), None).await;
    assert_eq!(done["imported"], 1_000);
    let path = format!("/api/contacts/imports/{}", done["id"].as_str().unwrap());
    expect_error(app.get(&path, Some(&other)).await, 404, "import_not_found").await;
    let theirs: Value = app
        .get("/api/contacts/imports", Some(&other))
        .await
        .success_json()
        .await;
    assert_eq!(theirs["total"], 0);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_streamed_as_batches_commit() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (token, _) = signed_in(&app, "progress@example.com").await;
    let mut stream = SseStream::open(&app, &token).await;
    assert_eq!(stream.next(WAIT).await.unwrap().event, "ready");
    let resp = upload(&app, &token, "many.csv", csv_rows(1_000), None).await;
    assert_eq!(resp.status(), 202);
    let mut processed = Vec::new();
    loop {
        let event = stream.next(WAIT).await.expect("progress events");
        if event.event != "import_progress" {
            continue;
        }
        processed.push(event.data["data"]["processed_rows"].as_i64().unwrap());
        if event.data["data"]["status"] == "completed" {
            break;
        }
    }
    assert!(processed.windows(2).all(|w| w[0] <= w[1]), "{processed:?}");
    assert!(
        processed.iter().filter(|p| **p > 0 && **p < 1_000).count() >= 3,
        "{processed:?}"
    );
    assert_eq!(processed.last(), Some(&1_000));
}

/// The Contacts screen's upload: one multipart `file`, one answer.
async fn screen_upload(
    app: &TestApp,
    token: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
    );
    app.client
        .post(app.url("/api/contacts/upload"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

on_both_backends!(
    the_contacts_screen_upload_answers_with_its_result,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, _) = signed_in(&app, "screen-upload@example.com").await;
        let existing = app
            .post(
                "/api/contacts",
                json!({"name": "Already here", "phoneNumber": "+14155550199"}),
                Some(&token),
            )
            .await;
        assert_eq!(existing.status(), 201);

        // A CRM export: a title, blank rows, headers the old importer did not know, a number
        // Excel stored as a number (its `+` lost).
        let file = sheets::xlsx(&[
            vec![Text("Leads — November")],
            vec![],
            vec![
                Text("Full Name"),
                Text("Mobile No."),
                Text("Email ID"),
                Text("Organisation"),
            ],
            vec![],
            vec![
                Text("Dana Reyes"),
                Number(447911123456.0),
                Text("dana@example.com"),
                Text("Northwind"),
            ],
            vec![
                Text("Ana Lima"),
                Text("+1 415 555 0102"),
                Text(""),
                Text(""),
            ],
            vec![
                Text("Ana Twice"),
                Text("(415) 555-0102"),
                Text(""),
                Text(""),
            ],
            vec![
                Text("Old Friend"),
                Text("+1 415 555 0199"),
                Text(""),
                Text(""),
            ],
            vec![Text("No Number"), Text("call me"), Text(""), Text("")],
        ]);
        let answer: Value = screen_upload(&app, &token, "leads.xlsx", file)
            .await
            .expect_json(200)
            .await;
        assert_eq!(answer["success"], true);
        let result = &answer["data"];
        assert_eq!(result["success"], true, "the screen reads it inside data");
        assert_eq!(result["status"], "completed");
        assert_eq!(
            result["summary"],
            json!({"totalProcessed": 5, "successful": 2, "failed": 1, "duplicates": 2})
        );
        let errors: Vec<(u64, String, String, String)> = result["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["row"].as_u64().unwrap(),
                    e["error"].as_str().unwrap().to_string(),
                    e["data"]["name"].as_str().unwrap().to_string(),
                    e["data"]["phone_number"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (
                    7,
                    "already exists earlier in this file".into(),
                    "Ana Twice".into(),
                    "(415) 555-0102".into()
                ),
                (
                    8,
                    "a contact with this number already exists".into(),
                    "Old Friend".into(),
                    "+1 415 555 0199".into()
                ),
                (
                    9,
                    "invalid phone number".into(),
                    "No Number".into(),
                    "call me".into()
                ),
            ],
            "rows as the spreadsheet numbers them; duplicates say \"already exists\""
        );
        let listed: Value = app
            .get("/api/contacts?search=dana", Some(&token))
            .await
            .success_json()
            .await;
        let dana = &listed["data"]["contacts"][0];
        assert_eq!(
            (&dana["phone_e164"], &dana["email"], &dana["company"]),
            (
                &json!("+447911123456"),
                &json!("dana@example.com"),
                &json!("Northwind")
            )
        );

        // A file that fails the checks imports nothing and says why.
        let none = screen_upload(&app, &token, "x.csv", b"Who,When\nDana,today\n".to_vec()).await;
        let err = expect_error(none, 422, "no_phone_column").await;
        assert_eq!(err["error"]["code"], "UPLOAD_FAILED");
        let not_a_sheet = screen_upload(&app, &token, "x.xlsx", b"hello".to_vec()).await;
        assert!(not_a_sheet.status().is_client_error());
        let missing = app
            .client
            .post(app.url("/api/contacts/upload"))
            .bearer_auth(&token)
            .multipart(reqwest::multipart::Form::new().text("other", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 400);
        expect_error(
            app.client
                .post(app.url("/api/contacts/upload"))
                .multipart(reqwest::multipart::Form::new().text("file", "x"))
                .send()
                .await
                .unwrap(),
            401,
            "missing_token",
        )
        .await;
    }
);

/// With no worker to run it, the upload answers when its wait runs out, with the counts so far,
/// and the import goes on when a worker comes.
#[tokio::test]
async fn an_upload_that_outlasts_its_wait_says_so() {
    let app = TestApp::spawn_with(Backend::Postgres, WorkerMode::None, |c| {
        c.uploads.import_wait_secs = 1;
    })
    .await;
    let (token, _) = signed_in(&app, "slow-upload@example.com").await;
    let answer: Value = screen_upload(&app, &token, "c.csv", csv_rows(3))
        .await
        .expect_json(200)
        .await;
    let result = &answer["data"];
    assert_eq!(result["success"], true);
    assert_eq!(result["status"], "queued");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .starts_with("Still importing"),
        "{result}"
    );
    assert_eq!(result["summary"]["successful"], 0);
    let id = result["importId"].as_str().unwrap().to_string();
    let (stop, worker) = app.start_worker_in_process();
    let done = finished(&app, &token, &id).await;
    assert_eq!(done["imported"], 3);
    stop.cancel();
    worker.await.unwrap().unwrap();
}
