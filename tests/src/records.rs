//! Rows inserted directly, for tests that need history (calls and their lead scores) without
//! running the post-call pipeline.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;
use shared::entities::{
    calls::{self, CallStatus, Channel, Direction},
    lead_analytics,
};
use uuid::Uuid;

use crate::TestApp;

/// A finished call of `user`.
pub struct CallRow<'a> {
    pub user: Uuid,
    pub agent: Option<Uuid>,
    pub contact: Option<Uuid>,
    pub secs: i32,
    pub status: CallStatus,
    pub success: Option<&'a str>,
}

pub async fn call(app: &TestApp, row: CallRow<'_>) -> calls::Model {
    let now = Utc::now();
    calls::ActiveModel {
        id: Set(shared::platform::ids::next()),
        user_id: Set(row.user),
        agent_id: Set(row.agent),
        contact_id: Set(row.contact),
        channel: Set(Channel::Call),
        direction: Set(Direction::Outbound),
        elevenlabs_conversation_id: Set(Some(format!("conv_{}", Uuid::new_v4().simple()))),
        phone_number: Set(Some("+14155552671".into())),
        status: Set(row.status),
        failure_reason: Set(None),
        duration_secs: Set(row.secs),
        credits_charged: Set(i64::from((row.secs + 59) / 60)),
        summary: Set(None),
        summary_title: Set(None),
        call_successful: Set(row.success.map(String::from)),
        recording_key: Set(None),
        metadata: Set(json!({})),
        started_at: Set(Some(now)),
        completed_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        transcript_text: Set(None),
        lead_score: Set(None),
        lead_tag: Set(None),
    }
    .insert(&app.services.db)
    .await
    .unwrap()
}

/// A lead score of `call` with this tag and total, copied to the call and made its contact's
/// latest as the post-call job does.
pub async fn lead(
    app: &TestApp,
    call: &calls::Model,
    tag: &str,
    total: i32,
) -> lead_analytics::Model {
    let lead = lead_analytics::ActiveModel {
        id: Set(shared::platform::ids::next()),
        call_id: Set(call.id),
        user_id: Set(call.user_id),
        contact_id: Set(call.contact_id),
        intent_level: Set(None),
        intent_score: Set(0),
        urgency_level: Set(None),
        urgency_score: Set(0),
        budget_constraint: Set(None),
        budget_score: Set(0),
        fit_alignment: Set(None),
        fit_score: Set(0),
        engagement_health: Set(None),
        engagement_score: Set(0),
        total_score: Set(total),
        lead_status_tag: Set(tag.into()),
        reasoning: Set(json!({})),
        cta_interactions: Set(json!({})),
        data_collection: Set(json!({})),
        score_status: Set(lead_analytics::ScoreStatus::Scored),
        demo_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&app.services.db)
    .await
    .unwrap();
    let mut scored: calls::ActiveModel = call.clone().into();
    scored.lead_score = Set(Some(total));
    scored.lead_tag = Set(Some(tag.into()));
    scored.update(&app.services.db).await.unwrap();
    if let Some(contact) = call.contact_id {
        shared::contacts::record_interaction(&app.services.db, contact, call, &lead, Utc::now())
            .await
            .unwrap();
    }
    lead
}
