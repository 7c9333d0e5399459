//! Credits and billing end to end: Checkout purchases against a fake Stripe, signed webhooks
//! delivered repeatedly, concurrently and out of order, refunds, rejections, and the ledger
//! invariant under concurrent operations.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use shared::{
    entities::{credit_transactions, purchases, users, webhook_events},
    money::credits::{self, Entry, TxKind},
};
use tests::{
    Backend, Decode, TestApp, WorkerMode, expect_error, on_both_backends,
    stripe::{self, FakeStripe, WEBHOOK_SECRET},
    users::{PASSWORD, verified_user},
};

const WAIT: Duration = Duration::from_secs(30);

async fn billing_app(backend: Backend, fake: &FakeStripe) -> TestApp {
    let base = fake.api_base();
    TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
        c.billing.stripe_secret_key = Some(stripe::SECRET_KEY.into());
        c.billing.stripe_webhook_secret = Some(WEBHOOK_SECRET.into());
        c.billing.stripe_api_base = base;
    })
    .await
}

async fn deliver(app: &TestApp, event: &Value) -> reqwest::Response {
    let payload = event.to_string();
    app.client
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            stripe::signature(WEBHOOK_SECRET, &payload),
        )
        .body(payload)
        .send()
        .await
        .unwrap()
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let body: Value = app
        .get("/api/user/credits", Some(token))
        .await
        .success_json()
        .await;
    body["credits"].as_i64().unwrap()
}

async fn buy(app: &TestApp, token: &str, credits: i64) -> Value {
    let resp = app
        .post(
            "/api/billing/purchases",
            json!({"credits": credits}),
            Some(token),
        )
        .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

on_both_backends!(
    a_purchase_is_paid_once_whatever_stripe_sends,
    |backend: Backend| async move {
        let fake = FakeStripe::start().await;
        let app = billing_app(backend, &fake).await;
        let (token, user_id) = verified_user(&app, "dana@example.com").await;

        let purchase = buy(&app, &token, 50).await;
        assert_eq!(purchase["status"], "pending");
        assert_eq!(purchase["amount_cents"], 500);
        let sent = fake.sessions().pop().expect("a session was created");
        assert_eq!(sent.field("mode"), Some("payment"));
        assert_eq!(sent.field("line_items[0][quantity]"), Some("50"));
        assert_eq!(
            sent.field("line_items[0][price_data][unit_amount]"),
            Some("10")
        );
        assert_eq!(
            sent.field("line_items[0][price_data][currency]"),
            Some("usd")
        );
        assert_eq!(sent.field("client_reference_id"), purchase["id"].as_str());
        assert_eq!(sent.field("metadata[purchase_id]"), purchase["id"].as_str());
        assert_eq!(sent.field("metadata[user_id]"), Some(user_id.as_str()));
        assert_eq!(
            sent.field("payment_intent_data[metadata][purchase_id]"),
            purchase["id"].as_str()
        );
        assert!(
            sent.idempotency_key
                .as_deref()
                .is_some_and(|k| k.contains(purchase["id"].as_str().unwrap()))
        );
        assert_eq!(
            sent.authorization.as_deref(),
            Some(format!("Bearer {}", stripe::SECRET_KEY).as_str())
        );
        assert_eq!(purchase["checkout_url"], sent.session["url"]);

        // The same completion delivered ten times at once, plus async_payment_succeeded for the
        // same session under another event id: one grant.
        let paid = stripe::completed_session(&sent.session, "pi_test_1");
        let completed = stripe::event("checkout.session.completed", paid.clone());
        let deliveries = (0..10).map(|_| deliver(&app, &completed));
        for resp in futures::future::join_all(deliveries).await {
            assert_eq!(resp.status(), 200);
        }
        let succeeded = stripe::event("checkout.session.async_payment_succeeded", paid.clone());
        assert_eq!(deliver(&app, &succeeded).await.status(), 200);
        // A late `expired` for the same session must not undo the payment.
        let expired = stripe::event("checkout.session.expired", sent.session.clone());
        assert_eq!(deliver(&app, &expired).await.status(), 200);
        app.wait_for_jobs(WAIT).await;

        assert_eq!(balance(&app, &token).await, 65);
        let stored = webhook_events::Entity::find()
            .count(&app.services.db)
            .await
            .unwrap();
        assert_eq!(stored, 3, "each event id stored once");
        let row: Value = app
            .get(
                &format!(
                    "/api/billing/purchases/{}",
                    purchase["id"].as_str().unwrap()
                ),
                Some(&token),
            )
            .await
            .success_json()
            .await;
        assert_eq!(row["status"], "paid");
        let grants = credit_transactions::Entity::find()
            .filter(credit_transactions::Column::Kind.eq("purchase"))
            .all(&app.services.db)
            .await
            .unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(
            grants[0].reference,
            format!("purchase:{}", purchase["id"].as_str().unwrap())
        );
        assert_eq!(grants[0].balance_after, 65);
        let mails = app.smtp.wait_for(2, WAIT).await;
        assert!(mails[1].header("Subject").unwrap().contains("50 credits"));

        // Stripe's own receipt link arrives with the charge.
        let charge = json!({"id": "ch_test_1", "object": "charge", "payment_intent": "pi_test_1", "amount": 500,
        "amount_refunded": 0, "receipt_url": "https://pay.stripe.com/receipts/test_1"});
        assert_eq!(
            deliver(&app, &stripe::event("charge.succeeded", charge))
                .await
                .status(),
            200
        );
        app.wait_for_jobs(WAIT).await;
        let path = format!(
            "/api/billing/purchases/{}",
            purchase["id"].as_str().unwrap()
        );
        let row: Value = app.get(&path, Some(&token)).await.success_json().await;
        assert_eq!(row["receipt_url"], "https://pay.stripe.com/receipts/test_1");

        // Our PDF receipt.
        let receipt = app
            .get(
                &format!(
                    "/api/billing/purchases/{}/receipt.pdf",
                    purchase["id"].as_str().unwrap()
                ),
                Some(&token),
            )
            .await;
        assert_eq!(receipt.status(), 200);
        assert_eq!(receipt.headers()["content-type"], "application/pdf");
        assert!(
            receipt.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains(".pdf")
        );
        assert!(receipt.bytes().await.unwrap().starts_with(b"%PDF"));

        // History endpoints.
        let history: Value = app
            .get("/api/credits/transactions?type=purchase", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(history["total"], 1);
        assert_eq!(history["items"][0]["type"], "purchase");
        assert_eq!(history["items"][0]["stripe_payment_id"], "pi_test_1");
        let purchases: Value = app
            .get("/api/billing/purchases", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(purchases["total"], 1);

        // Refunds: half, then the rest (Stripe reports cumulative amounts).
        let mut charge = json!({"id": "ch_test_1", "object": "charge", "payment_intent": "pi_test_1", "amount": 500, "amount_refunded": 250, "refunded": false});
        assert_eq!(
            deliver(&app, &stripe::event("charge.refunded", charge.clone()))
                .await
                .status(),
            200
        );
        app.wait_for_jobs(WAIT).await;
        assert_eq!(balance(&app, &token).await, 40);
        charge["amount_refunded"] = json!(500);
        charge["refunded"] = json!(true);
        assert_eq!(
            deliver(&app, &stripe::event("charge.refunded", charge))
                .await
                .status(),
            200
        );
        app.wait_for_jobs(WAIT).await;
        assert_eq!(balance(&app, &token).await, 15);
        let row = purchases::Entity::find()
            .one(&app.services.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.status,
            shared::entities::purchases::PurchaseStatus::Refunded
        );
        assert_eq!(row.refunded_credits, 50);
    }
);

on_both_backends!(
    out_of_order_and_unknown_events,
    |backend: Backend| async move {
        let fake = FakeStripe::start().await;
        let app = billing_app(backend, &fake).await;
        let (token, _) = verified_user(&app, "ola@example.com").await;
        buy(&app, &token, 60).await;
        let created = fake.sessions().pop().unwrap().session;

        // async_payment_succeeded before completed (which arrives unpaid, as for bank debits).
        let paid = stripe::completed_session(&created, "pi_test_2");
        assert_eq!(
            deliver(
                &app,
                &stripe::event("checkout.session.async_payment_succeeded", paid)
            )
            .await
            .status(),
            200
        );
        let mut unpaid = created.clone();
        unpaid["status"] = json!("complete");
        assert_eq!(
            deliver(&app, &stripe::event("checkout.session.completed", unpaid))
                .await
                .status(),
            200
        );
        // An event for a purchase we never made, and a type we do not handle.
        let mut foreign = created.clone();
        foreign["id"] = json!("cs_test_foreign");
        foreign["metadata"] = json!({});
        foreign["client_reference_id"] = Value::Null;
        foreign["payment_status"] = json!("paid");
        assert_eq!(
            deliver(&app, &stripe::event("checkout.session.completed", foreign))
                .await
                .status(),
            200
        );
        assert_eq!(
            deliver(
                &app,
                &stripe::event("customer.created", json!({"id": "cus_1"}))
            )
            .await
            .status(),
            200
        );
        app.wait_for_jobs(WAIT).await;

        assert_eq!(balance(&app, &token).await, 75);
        let statuses: Vec<String> = webhook_events::Entity::find()
            .order_by_asc(webhook_events::Column::ReceivedAt)
            .all(&app.services.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.status.to_string())
            .collect();
        assert_eq!(
            &statuses[..4],
            &["processed", "processed", "unroutable", "ignored"]
        );

        // A purchase abandoned at checkout expires; one whose bank debit failed is failed.
        for (event_type, status) in [
            ("checkout.session.expired", "expired"),
            ("checkout.session.async_payment_failed", "failed"),
        ] {
            let purchase = buy(&app, &token, 50).await;
            let session = fake.sessions().pop().unwrap().session;
            assert_eq!(
                deliver(&app, &stripe::event(event_type, session))
                    .await
                    .status(),
                200
            );
            app.wait_for_jobs(WAIT).await;
            let path = format!(
                "/api/billing/purchases/{}",
                purchase["id"].as_str().unwrap()
            );
            let row: Value = app.get(&path, Some(&token)).await.success_json().await;
            assert_eq!(row["status"], status);
        }
        assert_eq!(balance(&app, &token).await, 75);

        // Stripe does not order its events: an `expired` applied before the completion that
        // preceded it must not cost the buyer their credits.
        let purchase = buy(&app, &token, 50).await;
        let session = fake.sessions().pop().unwrap().session;
        let expired = stripe::event("checkout.session.expired", session.clone());
        assert_eq!(deliver(&app, &expired).await.status(), 200);
        app.wait_for_jobs(WAIT).await;
        let paid = stripe::completed_session(&session, "pi_test_late");
        let completed = stripe::event("checkout.session.completed", paid);
        assert_eq!(deliver(&app, &completed).await.status(), 200);
        app.wait_for_jobs(WAIT).await;
        let path = format!(
            "/api/billing/purchases/{}",
            purchase["id"].as_str().unwrap()
        );
        let row: Value = app.get(&path, Some(&token)).await.success_json().await;
        assert_eq!(row["status"], "paid");
        assert_eq!(balance(&app, &token).await, 125);
    }
);

on_both_backends!(
    bad_signatures_are_rejected_and_nothing_is_stored,
    |backend: Backend| async move {
        let fake = FakeStripe::start().await;
        let app = billing_app(backend, &fake).await;
        let event = stripe::event("checkout.session.completed", json!({"id": "cs_x"}));
        let payload = event.to_string();
        let send = |signature: Option<String>| {
            let mut req = app
                .client
                .post(app.url("/webhooks/stripe"))
                .header("content-type", "application/json")
                .body(payload.clone());
            if let Some(sig) = signature {
                req = req.header("stripe-signature", sig);
            }
            req.send()
        };
        let now = chrono::Utc::now().timestamp();
        expect_error(send(None).await.unwrap(), 400, "missing_signature").await;
        expect_error(
            send(Some(stripe::signature("whsec_wrong", &payload)))
                .await
                .unwrap(),
            400,
            "invalid_signature",
        )
        .await;
        expect_error(
            send(Some(stripe::signature_at(
                WEBHOOK_SECRET,
                &payload,
                now - 600,
            )))
            .await
            .unwrap(),
            400,
            "stale_signature",
        )
        .await;
        expect_error(
            send(Some("t=abc,v1=zz".into())).await.unwrap(),
            400,
            "invalid_signature",
        )
        .await;
        // A valid signature over different bytes.
        let other = stripe::signature(WEBHOOK_SECRET, &format!("{payload} "));
        expect_error(send(Some(other)).await.unwrap(), 400, "invalid_signature").await;
        // Several v1 values: any match is enough (secret rotation).
        let good = stripe::signature(WEBHOOK_SECRET, &payload);
        let (t, v1) = good.split_once(",v1=").unwrap();
        let rotated = format!("{t},v1={},v1={v1}", "0".repeat(64));
        assert_eq!(send(Some(rotated)).await.unwrap().status(), 200);
        assert_eq!(
            webhook_events::Entity::find()
                .count(&app.services.db)
                .await
                .unwrap(),
            1
        );
    }
);

on_both_backends!(purchases_are_validated, |backend: Backend| async move {
    let fake = FakeStripe::start().await;
    let app = billing_app(backend, &fake).await;
    let (token, _) = verified_user(&app, "val@example.com").await;
    for credits in [json!(49), json!(0), json!(-50), json!(1_000_000_000_000i64)] {
        let resp = app
            .post(
                "/api/billing/purchases",
                json!({"credits": credits}),
                Some(&token),
            )
            .await;
        let body = expect_error(resp, 400, "validation_error").await;
        assert!(body["error"]["details"]["credits"].is_string(), "{}", body);
    }
    for bad in [
        json!({"credits": 50.5}),
        json!({"credits": "50"}),
        json!({}),
    ] {
        let resp = app.post("/api/billing/purchases", bad, Some(&token)).await;
        expect_error(resp, 400, "validation_error").await;
    }
    assert!(fake.sessions().is_empty(), "nothing reached Stripe");
    assert_eq!(
        purchases::Entity::find()
            .count(&app.services.db)
            .await
            .unwrap(),
        0
    );

    // Unverified users cannot buy.
    let unverified: Value = app
        .post(
            "/api/auth/register",
            json!({"email": "new@example.com", "password": PASSWORD}),
            None,
        )
        .await
        .success_json()
        .await;
    let resp = app
        .post(
            "/api/billing/purchases",
            json!({"credits": 50}),
            unverified["token"].as_str(),
        )
        .await;
    expect_error(resp, 403, "email_not_verified").await;

    // Another user's purchase is not found; a bad id is a 400.
    let mine = buy(&app, &token, 50).await;
    let (other, _) = verified_user(&app, "other@example.com").await;
    let resp = app
        .get(
            &format!("/api/billing/purchases/{}", mine["id"].as_str().unwrap()),
            Some(&other),
        )
        .await;
    expect_error(resp, 404, "purchase_not_found").await;
    let resp = app
        .get("/api/billing/purchases/not-a-uuid", Some(&other))
        .await;
    assert_eq!(resp.status(), 400);
    let receipt = format!(
        "/api/billing/purchases/{}/receipt.pdf",
        mine["id"].as_str().unwrap()
    );
    expect_error(
        app.get(&receipt, Some(&other)).await,
        404,
        "purchase_not_found",
    )
    .await;
    expect_error(
        app.get(&receipt, Some(&token)).await,
        409,
        "purchase_not_paid",
    )
    .await;

    // Stripe refusing is a 502 with its message, and the purchase is marked failed.
    fake.fail_with(400, "Amount must be no more than $999,999.99")
        .await;
    let resp = app
        .post(
            "/api/billing/purchases",
            json!({"credits": 50}),
            Some(&token),
        )
        .await;
    let body = expect_error(resp, 502, "payment_provider_error").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("999,999.99")
    );
    assert!(!body.to_string().contains(stripe::SECRET_KEY));
    let failed = purchases::Entity::find()
        .filter(purchases::Column::Status.eq("failed"))
        .count(&app.services.db)
        .await
        .unwrap();
    assert_eq!(failed, 1);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchases_without_stripe_configured_are_503() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let session: Value = app
        .post(
            "/api/auth/register",
            json!({"email": "nostripe@example.com", "password": PASSWORD}),
            None,
        )
        .await
        .success_json()
        .await;
    let mails = app.smtp.wait_for(1, WAIT).await;
    app.post(
        "/api/email/verify",
        json!({ "token": mails[0].link_token() }),
        None,
    )
    .await;
    let resp = app
        .post(
            "/api/billing/purchases",
            json!({"credits": 50}),
            session["token"].as_str(),
        )
        .await;
    expect_error(resp, 503, "payments_not_configured").await;
    let event = stripe::event("checkout.session.completed", json!({}));
    let payload = event.to_string();
    let resp = app
        .client
        .post(app.url("/webhooks/stripe"))
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            stripe::signature(WEBHOOK_SECRET, &payload),
        )
        .body(payload)
        .send()
        .await
        .unwrap();
    expect_error(resp, 503, "payments_not_configured").await;
}

on_both_backends!(
    the_ledger_stays_consistent_under_concurrency,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, user_id) = verified_user(&app, "inv@example.com").await;
        let user_id: uuid::Uuid = user_id.parse().unwrap();
        let db = app.services.db.clone();
        // 100 mixed operations at once: call charges (some repeated), purchases, adjustments.
        let ops = (0..100).map(|i| {
            let db = db.clone();
            async move {
                match i % 4 {
                    0 => {
                        let txn = shared::platform::db::begin_write(&db).await.unwrap();
                        credits::charge_call(
                            &txn,
                            user_id,
                            &format!("conv_{}", i % 20),
                            Some(61 + i),
                            None,
                            None,
                        )
                        .await
                        .unwrap();
                        txn.commit().await.unwrap();
                    }
                    1 => {
                        credits::apply(
                            &db,
                            Entry::new(user_id, TxKind::Purchase, 50, format!("stripe:cs_{i}")),
                        )
                        .await
                        .unwrap();
                    }
                    2 => {
                        credits::apply(
                            &db,
                            Entry::new(user_id, TxKind::AdminAdjustment, -7, format!("admin:{i}")),
                        )
                        .await
                        .unwrap();
                    }
                    _ => {
                        // A duplicate of an earlier reference: must change nothing.
                        credits::apply(
                            &db,
                            Entry::new(
                                user_id,
                                TxKind::Purchase,
                                50,
                                format!("stripe:cs_{}", i - 2),
                            ),
                        )
                        .await
                        .unwrap();
                    }
                }
            }
        });
        futures::future::join_all(ops).await;

        let rows = credit_transactions::Entity::find()
            .filter(credit_transactions::Column::UserId.eq(user_id))
            .order_by_asc(credit_transactions::Column::CreatedAt)
            .order_by_asc(credit_transactions::Column::Id)
            .all(&db)
            .await
            .unwrap();
        let user = users::Entity::find_by_id(user_id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        let sum: i64 = rows.iter().map(|r| r.amount).sum();
        assert_eq!(user.credits, sum, "balance equals the sum of the ledger");
        let mut running = 0;
        for row in &rows {
            running += row.amount;
            assert_eq!(
                row.balance_after, running,
                "balance_after of {}",
                row.reference
            );
        }
        // The signup bonus, 5 distinct calls (each charged five times over), 25 purchases (each
        // also replayed) and 25 adjustments.
        assert_eq!(rows.len(), 1 + 5 + 25 + 25);
        assert_eq!(balance(&app, &token).await, sum);
    }
);

on_both_backends!(
    usage_is_summarised_and_calls_need_credits,
    |backend: Backend| async move {
        let app = TestApp::spawn(backend).await;
        let (token, user_id) = verified_user(&app, "use@example.com").await;
        let user_id: uuid::Uuid = user_id.parse().unwrap();
        let (agent_a, agent_b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        for (conversation, secs, agent) in [
            ("c1", 133, agent_a),
            ("c2", 60, agent_a),
            ("c3", 61, agent_b),
        ] {
            let txn = shared::platform::db::begin_write(&app.services.db)
                .await
                .unwrap();
            credits::charge_call(&txn, user_id, conversation, Some(secs), Some(agent), None)
                .await
                .unwrap();
            txn.commit().await.unwrap();
        }
        // Missing and negative durations are refused.
        let txn = shared::platform::db::begin_write(&app.services.db)
            .await
            .unwrap();
        assert!(
            credits::charge_call(&txn, user_id, "c4", None, None, None)
                .await
                .is_err()
        );
        assert!(
            credits::charge_call(&txn, user_id, "c5", Some(-3), None, None)
                .await
                .is_err()
        );
        drop(txn);

        let usage: Value = app
            .get("/api/credits/usage", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(usage["total_credits"], 6);
        assert_eq!(usage["per_day"].as_array().unwrap().len(), 1);
        assert_eq!(usage["per_day"][0]["credits"], 6);
        let per_agent: std::collections::HashMap<String, i64> = usage["per_agent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["agent_id"].as_str().unwrap().to_string(),
                    a["credits"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(per_agent[&agent_a.to_string()], 4);
        assert_eq!(per_agent[&agent_b.to_string()], 2);
        let inverted = app
            .get(
                "/api/credits/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                Some(&token),
            )
            .await;
        expect_error(inverted, 400, "validation_error").await;
        let too_long = app
            .get(
                "/api/credits/usage?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                Some(&token),
            )
            .await;
        expect_error(too_long, 400, "validation_error").await;
        let bad = app
            .get("/api/credits/transactions?type=gift", Some(&token))
            .await;
        expect_error(bad, 400, "invalid_parameter").await;
        let page: Value = app
            .get("/api/credits/transactions?per_page=2&page=2", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(page["total"], 4);
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        expect_error(
            app.get("/api/credits/transactions?per_page=500", Some(&token))
                .await,
            400,
            "invalid_parameter",
        )
        .await;

        // 15 - 6 = 9 left: a call may start. A long call takes the balance below zero; then not.
        credits::require_positive_balance(&app.services.db, user_id)
            .await
            .unwrap();
        let txn = shared::platform::db::begin_write(&app.services.db)
            .await
            .unwrap();
        credits::charge_call(&txn, user_id, "c6", Some(20 * 60), None, None)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(balance(&app, &token).await, -11);
        let err = credits::require_positive_balance(&app.services.db, user_id)
            .await
            .unwrap_err();
        assert_eq!(
            (err.status(), err.reason().as_str()),
            (402, "insufficient_credits")
        );
    }
);

on_both_backends!(
    platform_analytics_count_accounts_calls_credits_and_revenue,
    |backend: Backend| async move {
        use tests::post_call;
        let fake = FakeStripe::start().await;
        let base = fake.api_base();
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.billing.stripe_secret_key = Some(stripe::SECRET_KEY.into());
            c.billing.stripe_webhook_secret = Some(WEBHOOK_SECRET.into());
            c.billing.stripe_api_base = base;
            c.elevenlabs.webhook_secrets = vec![post_call::SECRET.into()];
        })
        .await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let (busy_token, busy) = verified_user(&app, "busy@example.com").await;
        let (_, quiet) = verified_user(&app, "quiet@example.com").await;
        let busy_agent = post_call::insert_agent(&app, busy.parse().unwrap(), "agent_busy").await;
        post_call::insert_agent(&app, quiet.parse().unwrap(), "agent_quiet").await;
        // 133 s each: 3 credits per call.
        for (agent, conversation) in [
            ("agent_busy", "conv_p1"),
            ("agent_busy", "conv_p2"),
            ("agent_quiet", "conv_p3"),
        ] {
            let event = post_call::transcription(agent, conversation);
            assert_eq!(post_call::deliver(&app, &event, None).await.status(), 200);
        }

        // The admin raises the price; the next purchase is charged at it.
        let changed = app
            .send(
                reqwest::Method::PATCH,
                "/api/admin/settings",
                Some(json!({"values": {"credit_price_cents": 25}})),
                Some(&root),
            )
            .await;
        assert_eq!(changed.status(), 200);
        let purchase = buy(&app, &busy_token, 60).await;
        assert_eq!(purchase["amount_cents"], 1500);
        let sent = fake.sessions().pop().unwrap();
        assert_eq!(
            sent.field("line_items[0][price_data][unit_amount]"),
            Some("25")
        );
        let paid = stripe::completed_session(&sent.session, "pi_analytics");
        let completed = stripe::event("checkout.session.completed", paid);
        assert_eq!(deliver(&app, &completed).await.status(), 200);
        app.wait_for_jobs(WAIT).await;

        let report: Value = app
            .get("/api/admin/analytics", Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(report["users_total"], 3);
        assert_eq!(report["users_new"], 3);
        assert_eq!(report["users_active"], 2);
        assert_eq!(report["calls"], 3);
        assert_eq!(report["minutes"], 6.7);
        assert_eq!(report["credits_consumed"], 9);
        assert_eq!(report["credits_sold"], 60);
        assert_eq!(
            report["revenue"],
            json!([{"currency": "usd", "amount_cents": 1500}])
        );
        let days = report["days"].as_array().unwrap();
        assert_eq!(days.len(), 30);
        let today = days.last().unwrap();
        assert_eq!(today["date"], chrono::Utc::now().date_naive().to_string());
        assert_eq!(today["calls"], 3);
        assert_eq!(today["active_users"], 2);
        assert_eq!(today["new_users"], 3);
        assert!(days[..29].iter().all(|d| d["calls"] == 0));
        assert_eq!(report["top_users"][0]["email"], "busy@example.com");
        assert_eq!(report["top_users"][0]["credits_consumed"], 6);
        assert_eq!(report["top_users"][1]["email"], "quiet@example.com");
        assert_eq!(
            report["top_agents"][0]["agent_id"],
            busy_agent.id.to_string()
        );
        assert_eq!(report["top_agents"][0]["owner_email"], "busy@example.com");
        assert_eq!(report["top_agents"][0]["calls"], 2);

        // A range without activity, and ranges that make no sense.
        let old: Value = app
            .get(
                "/api/admin/analytics?from=2025-01-01&to=2025-01-07",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        assert_eq!(old["days"].as_array().unwrap().len(), 7);
        assert_eq!(old["calls"], 0);
        assert_eq!(old["top_users"], json!([]));
        for (query, field) in [
            ("from=2025-02-01&to=2025-01-01", "to"),
            ("from=2020-01-01&to=2025-01-01", "to"),
        ] {
            let body = expect_error(
                app.get(&format!("/api/admin/analytics?{query}"), Some(&root))
                    .await,
                400,
                "validation_error",
            )
            .await;
            assert!(body["error"]["details"][field].is_string(), "{}", body);
        }
        expect_error(
            app.get("/api/admin/analytics?from=yesterday", Some(&root))
                .await,
            400,
            "invalid_parameter",
        )
        .await;
    }
);

/// The purchase modal's flow: a PaymentIntent purchase, confirmed by the buyer and by Stripe.
async fn open_intent(app: &TestApp, token: &str, credits: i64) -> Value {
    let body: Value = app
        .post(
            "/api/billing/purchase",
            json!({"amount": credits}),
            Some(token),
        )
        .await
        .expect_json(201)
        .await;
    assert_eq!(body["success"], true);
    body["data"].clone()
}

async fn confirm(app: &TestApp, token: &str, intent: &str) -> reqwest::Response {
    app.post(
        "/api/billing/purchase/confirm",
        json!({"paymentIntentId": intent}),
        Some(token),
    )
    .await
}

async fn purchase_grants(app: &TestApp, purchase: &str) -> Vec<credit_transactions::Model> {
    credit_transactions::Entity::find()
        .filter(credit_transactions::Column::Kind.eq("purchase"))
        .filter(credit_transactions::Column::PurchaseId.eq(purchase.parse::<uuid::Uuid>().unwrap()))
        .all(&app.services.db)
        .await
        .unwrap()
}

on_both_backends!(
    a_payment_intent_is_granted_once_whoever_confirms_it,
    |backend: Backend| async move {
        let fake = FakeStripe::start().await;
        let app = billing_app(backend, &fake).await;
        let (token, _) = verified_user(&app, "intent-buyer@example.com").await;
        let (other, _) = verified_user(&app, "intent-other@example.com").await;
        let start = balance(&app, &token).await;

        let pricing: Value = app
            .get("/api/billing/pricing", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            (
                &pricing["data"]["pricePerCredit"],
                &pricing["data"]["currency"]
            ),
            (&json!(0.1), &json!("usd")),
            "dollars, as the modal shows them"
        );

        let opened = open_intent(&app, &token, 50).await;
        let intent = opened["paymentIntentId"].as_str().unwrap().to_string();
        let purchase = opened["purchaseId"].as_str().unwrap().to_string();
        assert!(
            opened["clientSecret"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{intent}_secret_"))
        );
        assert_eq!(
            opened["pricing"],
            json!({"credits": 50, "pricePerCredit": 0.1, "totalPrice": 5.0, "currency": "usd"})
        );
        let held = fake.intent(&intent);
        assert_eq!(
            (&held["amount"], &held["currency"]),
            (&json!(500), &json!("usd"))
        );
        assert_eq!(held["metadata"]["purchase_id"], purchase.as_str());
        assert_eq!(
            fake.intent_keys.lock().unwrap()[0].as_deref(),
            Some(format!("purchase-intent-{purchase}").as_str())
        );

        // Before Stripe.js has confirmed it, the buyer's word is not enough.
        let early = confirm(&app, &token, &intent).await;
        let err = expect_error(early, 409, "payment_not_completed").await;
        assert_eq!(err["error"]["details"]["status"], "requires_payment_method");
        expect_error(
            confirm(&app, &other, &intent).await,
            404,
            "purchase_not_found",
        )
        .await;
        assert_eq!(balance(&app, &token).await, start);

        // Paid: five confirmations and Stripe's event (delivered three times, under two ids) all
        // at once, then a late failure event: one grant.
        let paid = fake.succeed(&intent);
        let succeeded = stripe::event("payment_intent.succeeded", paid.clone());
        let again = stripe::event("payment_intent.succeeded", paid.clone());
        let confirmations =
            futures::future::join_all((0..5).map(|_| confirm(&app, &token, &intent)));
        let deliveries =
            futures::future::join_all([&succeeded, &succeeded, &again].map(|e| deliver(&app, e)));
        let (confirmations, deliveries) = tokio::join!(confirmations, deliveries);
        for resp in deliveries {
            assert_eq!(resp.status(), 200);
        }
        let mut answers = Vec::new();
        for resp in confirmations {
            let body: Value = resp.expect_json(200).await;
            answers.push(body["data"].clone());
        }
        let failed = stripe::event("payment_intent.payment_failed", fake.intent(&intent));
        assert_eq!(deliver(&app, &failed).await.status(), 200);
        app.wait_for_jobs(WAIT).await;

        assert_eq!(balance(&app, &token).await, start + 50);
        let grants = purchase_grants(&app, &purchase).await;
        assert_eq!(grants.len(), 1, "one grant");
        assert_eq!(grants[0].reference, format!("purchase:{purchase}"));
        assert_eq!(
            grants[0].stripe_payment_id.as_deref(),
            Some(intent.as_str())
        );
        assert!(
            answers
                .iter()
                .all(|a| a["creditsAdded"] == 50 && a["transactionId"] == json!(grants[0].id))
        );
        assert!(answers.iter().filter(|a| a["newlyGranted"] == true).count() <= 1);
        let row: Value = app
            .get(&format!("/api/billing/purchases/{purchase}"), Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            row["status"], "paid",
            "a late failure never undoes a payment"
        );

        // Out of order: Stripe's event first, the buyer's confirmation after — still one grant,
        // and the former path answers too.
        let second = open_intent(&app, &token, 60).await;
        let second_intent = second["paymentIntentId"].as_str().unwrap().to_string();
        let paid = fake.succeed(&second_intent);
        assert_eq!(
            deliver(&app, &stripe::event("payment_intent.succeeded", paid))
                .await
                .status(),
            200
        );
        app.wait_for_jobs(WAIT).await;
        let late: Value = app
            .post(
                "/api/billing/confirm-payment",
                json!({"paymentIntentId": second_intent}),
                Some(&token),
            )
            .await
            .expect_json(200)
            .await;
        assert_eq!(
            (&late["data"]["creditsAdded"], &late["data"]["newlyGranted"]),
            (&json!(60), &json!(false))
        );
        assert_eq!(balance(&app, &token).await, start + 110);
        let second_purchase = second["purchaseId"].as_str().unwrap();
        assert_eq!(purchase_grants(&app, second_purchase).await.len(), 1);

        // A Checkout purchase's PaymentIntent succeeds too: its two events grant once.
        let checkout = buy(&app, &token, 50).await;
        let sent = fake.sessions().last().unwrap().clone();
        let mut intent_event = json!({"id": "pi_test_checkout", "object": "payment_intent", "amount": 500,
            "amount_received": 500, "currency": "usd", "status": "succeeded",
            "metadata": {"purchase_id": checkout["id"]}});
        intent_event["livemode"] = json!(false);
        let completed = stripe::completed_session(&sent.session, "pi_test_checkout");
        for event in [
            stripe::event("payment_intent.succeeded", intent_event),
            stripe::event("checkout.session.completed", completed),
        ] {
            assert_eq!(deliver(&app, &event).await.status(), 200);
        }
        app.wait_for_jobs(WAIT).await;
        assert_eq!(balance(&app, &token).await, start + 160);
        assert_eq!(
            purchase_grants(&app, checkout["id"].as_str().unwrap())
                .await
                .len(),
            1
        );

        // Bad input changes nothing.
        expect_error(
            app.post("/api/billing/purchase", json!({"amount": 1}), Some(&token))
                .await,
            400,
            "validation_error",
        )
        .await;
        expect_error(
            confirm(&app, &token, "pi_unknown").await,
            404,
            "purchase_not_found",
        )
        .await;
        let history: Value = app
            .get("/api/billing/payment-history?limit=2", Some(&token))
            .await
            .success_json()
            .await;
        assert_eq!(
            history["data"]["total"], 3,
            "the refused purchase was never stored"
        );
        let payments = history["data"]["payments"].as_array().unwrap();
        assert_eq!(payments.len(), 2);
        assert_eq!(
            (
                &payments[0]["amount"],
                &payments[0]["credits"],
                &payments[0]["status"]
            ),
            (&json!(500), &json!(50), &json!("paid"))
        );
        assert_eq!(balance(&app, &token).await, start + 160);
    }
);
