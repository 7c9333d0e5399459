//! Admin > Phone numbers: only the ElevenLabs workspace's numbers come onto the platform, each
//! once; assigning one to an agent makes the agent call from it (its outbound number here) and
//! answer it (its inbound routing on ElevenLabs); deactivating takes it off its agent; every
//! change is audited and a refusal changes nothing.

use serde_json::{Value, json};
use tests::{
    Backend, Decode, TestApp, WorkerMode,
    elevenlabs::{self, FakeElevenLabs, SIP_NUMBER_ID, TWILIO_NUMBER_ID},
    expect_error, on_both_backends,
    users::signed_in,
};

const PATH: &str = "/api/admin/phone-numbers";

fn agent_body(name: &str) -> Value {
    json!({"name": name, "type": "call", "language": "en", "voice_id": "voice_rachel",
           "first_message": "Hi!", "system_prompt": "Qualify leads."})
}

on_both_backends!(
    admins_bring_workspace_numbers_to_agents,
    |backend: Backend| async move {
        let fake = FakeElevenLabs::start().await;
        let base = fake.uri();
        let app = TestApp::spawn_with(backend, WorkerMode::InProcess, |c| {
            c.elevenlabs.api_key = Some(elevenlabs::API_KEY.into());
            c.elevenlabs.api_base = base;
            c.elevenlabs.backoff_base_ms = 10;
        })
        .await;
        let (root, _) = tests::users::signed_in_admin(&app, "root@example.com").await;
        let (member, _) = signed_in(&app, "member@example.com").await;
        let made: Value = app
            .post("/api/agents", agent_body("Sales caller"), Some(&member))
            .await
            .expect_json(201)
            .await;
        let agent_id = made["data"]["id"].as_str().unwrap().to_string();
        let el_agent = made["data"]["elevenlabsAgentId"]
            .as_str()
            .unwrap()
            .to_string();

        expect_error(app.get(PATH, Some(&member)).await, 403, "admin_required").await;

        // Refusals: not E.164, not in the workspace, an unknown agent. Nothing is stored.
        for (body, status, reason) in [
            (
                json!({"name": "Bad", "phone_number": "call me"}),
                400,
                "validation_error",
            ),
            (
                json!({"name": "Elsewhere", "phone_number": "+14155550999"}),
                400,
                "validation_error",
            ),
            (
                json!({"name": " ", "phone_number": "+14155550100"}),
                400,
                "validation_error",
            ),
            (
                json!({"name": "Sales", "phone_number": "+14155550100",
                       "assigned_to_agent_id": uuid::Uuid::new_v4()}),
                404,
                "agent_not_found",
            ),
        ] {
            expect_error(app.post(PATH, body, Some(&root)).await, status, reason).await;
        }
        let empty: Value = app.get(PATH, Some(&root)).await.success_json().await;
        assert_eq!(empty["data"], json!([]));
        assert_eq!(empty["pagination"]["total"], 0);

        // A workspace number (written without its `+`), assigned at once.
        let sales: Value = app
            .post(
                PATH,
                json!({"name": "Sales line", "phone_number": "14155550100",
                       "assigned_to_agent_id": agent_id}),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        let sales_id = sales["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(sales["data"]["phone_number"], "+14155550100");
        assert_eq!(
            sales["data"]["elevenlabs_phone_number_id"],
            TWILIO_NUMBER_ID
        );
        assert_eq!(sales["data"]["assigned_to_agent_id"], agent_id.as_str());
        assert_eq!(sales["data"]["agent_name"], "Sales caller");
        assert_eq!(sales["data"]["user_email"], "member@example.com");
        assert_eq!(sales["data"]["created_by_admin_email"], "root@example.com");
        // ElevenLabs routes the number to the agent; the agent calls from it.
        assert_eq!(
            fake.phone_numbers.lock().unwrap()[TWILIO_NUMBER_ID]["assigned_agent"]["agent_id"],
            el_agent.as_str()
        );
        let own: Value = app
            .get(&format!("/api/agents/{agent_id}"), Some(&member))
            .await
            .success_json()
            .await;
        assert_eq!(own["data"]["phoneNumberId"], TWILIO_NUMBER_ID, "{own}");

        // Each number once.
        expect_error(
            app.post(
                PATH,
                json!({"name": "Again", "phone_number": "+1 415 555 0100"}),
                Some(&root),
            )
            .await,
            409,
            "phone_number_taken",
        )
        .await;

        // A second number moves the agent to it and frees the first.
        let trunk: Value = app
            .post(
                PATH,
                json!({"name": "Trunk", "phone_number": "+14155550101"}),
                Some(&root),
            )
            .await
            .expect_json(201)
            .await;
        let trunk_id = trunk["data"]["id"].as_str().unwrap().to_string();
        app.post(
            &format!("{PATH}/{trunk_id}/assign"),
            json!({"agent_id": agent_id}),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        let listed: Value = app
            .get(&format!("{PATH}?assigned_to=unassigned"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);
        assert_eq!(listed["data"][0]["id"], sales_id.as_str());
        assert_eq!(listed["data"][0]["assigned_to_agent_id"], Value::Null);
        let own: Value = app
            .get(&format!("/api/agents/{agent_id}"), Some(&member))
            .await
            .success_json()
            .await;
        assert_eq!(own["data"]["phoneNumberId"], SIP_NUMBER_ID);

        // Deactivating takes it off its agent; an inactive number cannot be assigned.
        app.send(
            reqwest::Method::DELETE,
            &format!("{PATH}/{trunk_id}"),
            None,
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        assert_eq!(
            fake.phone_numbers.lock().unwrap()[SIP_NUMBER_ID]["assigned_agent"],
            Value::Null
        );
        let own: Value = app
            .get(&format!("/api/agents/{agent_id}"), Some(&member))
            .await
            .success_json()
            .await;
        assert_eq!(own["data"]["phoneNumberId"], Value::Null);
        expect_error(
            app.post(
                &format!("{PATH}/{trunk_id}/assign"),
                json!({"agent_id": agent_id}),
                Some(&root),
            )
            .await,
            409,
            "phone_number_inactive",
        )
        .await;
        let inactive: Value = app
            .get(&format!("{PATH}?is_active=inactive"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(inactive["data"][0]["id"], trunk_id.as_str());
        app.post(
            &format!("{PATH}/{trunk_id}/activate"),
            json!({}),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;

        // Renamed; searched by name or number.
        app.send(
            reqwest::Method::PUT,
            &format!("{PATH}/{sales_id}"),
            Some(json!({"name": "Sales (US)"})),
            Some(&root),
        )
        .await
        .success_json::<Value>()
        .await;
        let found: Value = app
            .get(&format!("{PATH}?search=Sales%20(US)"), Some(&root))
            .await
            .success_json()
            .await;
        assert_eq!(found["data"].as_array().unwrap().len(), 1);
        expect_error(
            app.get(&format!("{PATH}?is_active=maybe"), Some(&root))
                .await,
            400,
            "validation_error",
        )
        .await;

        // Every change is in the audit log.
        let log: Value = app
            .get(
                "/api/admin/audit?resourceType=phone_number&limit=100",
                Some(&root),
            )
            .await
            .success_json()
            .await;
        let mut actions: Vec<&str> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        actions.sort();
        assert_eq!(
            actions,
            [
                "phone_number.activated",
                "phone_number.assigned",
                "phone_number.created",
                "phone_number.created",
                "phone_number.deactivated",
                "phone_number.updated"
            ]
        );
    }
);
