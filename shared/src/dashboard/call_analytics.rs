//! The Calling Agent's figures: the Analytics tab (KPIs, lead quality, funnel, intent against
//! budget, the phone/internet breakdown) and the call logs' statistics, all read from the hourly
//! counters of phone agents' conversations (so the cost follows the period, not the account).
//!
//! Definitions (as on the Overview): a *call* is a finished conversation of a call agent
//! (completed or failed); a *lead* is a call that produced a lead score; *qualified* leads are
//! tagged Hot or Warm, *converted* ones Hot; a call is *successful* when ElevenLabs evaluated it
//! `success`; the *pending follow-ups* are calls in which the caller agreed to a follow-up.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IdenStatic, PaginatorTrait,
    QueryFilter,
};

use super::{Counters, Period, Scope, rollups};
use crate::{
    calls::presentation::CallSource,
    entities::{
        agents,
        call_rollups::{self, Column as C},
        calls::{self, CallStatus, Channel},
    },
    platform::error::AppResult,
};

/// One source's share of a period's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceFigures {
    pub calls: i64,
    pub connected: i64,
    pub successful: i64,
    pub duration_secs: i64,
    pub credits: i64,
    pub leads: i64,
    pub hot: i64,
    pub demos: i64,
}

impl SourceFigures {
    pub fn failed(&self) -> i64 {
        self.calls - self.connected
    }

    /// Successful calls per connected call, in percent.
    pub fn success_rate(&self) -> f64 {
        percent(self.successful, self.connected)
    }

    /// Hot leads per call, in percent.
    pub fn conversion_rate(&self) -> f64 {
        percent(self.hot, self.calls)
    }

    /// Minutes per connected call.
    pub fn average_minutes(&self) -> f64 {
        if self.connected == 0 {
            0.0
        } else {
            self.duration_secs as f64 / 60.0 / self.connected as f64
        }
    }

    /// Credits per lead (none without leads).
    pub fn cost_per_lead(&self) -> f64 {
        if self.leads == 0 {
            0.0
        } else {
            self.credits as f64 / self.leads as f64
        }
    }
}

/// `part` of `whole` in percent, one decimal; 0 of nothing.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// The period's calls split by where they came from: the web widget's are counted apart, the
/// rest came over the phone.
pub fn by_source(c: &Counters) -> [(CallSource, SourceFigures); 2] {
    let web = SourceFigures {
        calls: c.get(C::WebCalls),
        connected: c.get(C::WebConnected),
        successful: c.get(C::WebSuccessful),
        duration_secs: c.get(C::WebDurationSecs),
        credits: c.get(C::WebCredits),
        leads: c.get(C::WebScored),
        hot: c.get(C::WebHot),
        demos: c.get(C::WebDemos),
    };
    let phone = SourceFigures {
        calls: c.get(C::Calls) - web.calls,
        connected: c.get(C::Connected) - web.connected,
        successful: c.get(C::Successful) - web.successful,
        duration_secs: c.get(C::DurationSecs) - web.duration_secs,
        credits: c.get(C::Credits) - web.credits,
        leads: c.get(C::Scored) - web.leads,
        hot: c.get(C::Hot) - web.hot,
        demos: c.get(C::Demos) - web.demos,
    };
    [(CallSource::Phone, phone), (CallSource::Internet, web)]
}

/// The funnel's stages with their counts.
pub fn funnel(c: &Counters) -> [(&'static str, i64); 5] {
    [
        ("Total Calls", c.get(C::Calls)),
        ("Connected", c.get(C::Connected)),
        ("Qualified Leads", c.get(C::Hot) + c.get(C::Warm)),
        ("Hot Leads", c.get(C::Hot)),
        ("Demos Scheduled", c.get(C::Demos)),
    ]
}

/// The names of the intent and budget thirds (0–33, 34–66, 67–100).
pub const THIRDS: [&str; 3] = ["Low", "Medium", "High"];

/// Scored calls by intent third and budget third, with their count (cells with none left out).
pub fn intent_budget(c: &Counters) -> Vec<(usize, usize, i64)> {
    let mut cells = Vec::new();
    for (i, row) in rollups::INTENT_BUDGET.iter().enumerate() {
        for (j, column) in row.iter().enumerate() {
            let n = c.get(*column);
            if n > 0 {
                cells.push((i, j, n));
            }
        }
    }
    cells
}

/// The call agents' counters of a period and of the one before it.
pub async fn figures(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
) -> AppResult<(Counters, Counters)> {
    super::overview_of(db, scope, period, Some(Channel::Call), &rollups::COLUMNS).await
}

/// What the call logs' statistics add to the counters.
#[derive(Debug, Clone, Default)]
pub struct CallStats {
    pub now: Counters,
    pub before: Counters,
    /// Calls dialling or talking now (any time).
    pub in_progress: u64,
    /// The agent with the most successful calls in the period.
    pub top_agent: Option<String>,
}

pub async fn call_stats(
    db: &DatabaseConnection,
    scope: Scope,
    period: &Period,
) -> AppResult<CallStats> {
    let (now, before) = figures(db, scope, period).await?;
    let mut live = calls::Entity::find()
        .filter(calls::Column::UserId.eq(scope.owner))
        .filter(calls::Column::Channel.eq(Channel::Call))
        .filter(calls::Column::Status.is_in([CallStatus::Initiated, CallStatus::InProgress]));
    if let Some(agent) = scope.agent {
        live = live.filter(calls::Column::AgentId.eq(agent));
    }
    let in_progress = live.count(db).await?;
    let per_agent = db
        .query_all(&rollups::sums(
            rollups::between_in(scope, period.from, period.to, Some(Channel::Call)),
            Some(C::AgentId),
            &[C::Successful],
        ))
        .await?;
    let mut best: Option<(uuid::Uuid, i64)> = None;
    for row in &per_agent {
        let agent: uuid::Uuid = row.try_get("", call_rollups::Column::AgentId.as_str())?;
        let successful = rollups::counters_of(row, &[C::Successful])?.get(C::Successful);
        if !agent.is_nil() && successful > 0 && best.is_none_or(|(_, n)| successful > n) {
            best = Some((agent, successful));
        }
    }
    let top_agent = match best {
        Some((id, _)) => agents::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|a| a.name),
        None => None,
    };
    Ok(CallStats {
        now,
        before,
        in_progress,
        top_agent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_is_the_total_less_the_web_widget() {
        let mut c = Counters::default();
        let set = |c: &mut Counters, column: C, n: i64| {
            let i = rollups::COLUMNS
                .iter()
                .position(|x| std::mem::discriminant(x) == std::mem::discriminant(&column))
                .unwrap();
            c.0[i] = n;
        };
        set(&mut c, C::Calls, 10);
        set(&mut c, C::Connected, 8);
        set(&mut c, C::Hot, 3);
        set(&mut c, C::WebCalls, 4);
        set(&mut c, C::WebConnected, 4);
        set(&mut c, C::WebHot, 1);
        let [(phone_source, phone), (web_source, web)] = by_source(&c);
        assert_eq!(
            (phone_source, web_source),
            (CallSource::Phone, CallSource::Internet)
        );
        assert_eq!(
            (phone.calls, phone.connected, phone.failed(), phone.hot),
            (6, 4, 2, 2)
        );
        assert_eq!((web.calls, web.failed(), web.hot), (4, 0, 1));
        assert_eq!(phone.conversion_rate(), 33.3);
        assert_eq!(percent(1, 0), 0.0);
    }
}
