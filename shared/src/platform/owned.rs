//! Tenant scoping by type: a table whose rows belong to one user says so by implementing
//! `Owned`, and one lookup finds a row of an owner's. Another owner's row and no row at all get
//! the same 404, so an id reveals nothing about other tenants (the isolation test enumerates
//! every route that takes an id).

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PrimaryKeyTrait, QueryFilter, Select,
};
use uuid::Uuid;

use crate::{
    entities::{
        agents, calls, contact_imports, contacts, customers, lead_tasks, notifications, purchases,
    },
    platform::error::{AppError, AppResult},
    platform::ids::UserId,
};

/// A table with an owner column.
pub trait Owned: EntityTrait {
    /// What a 404 calls one of its rows.
    const WHAT: &'static str;
    fn owner_column() -> Self::Column;
}

/// The owner's rows of `E`.
pub fn of<E: Owned>(owner: UserId) -> Select<E> {
    E::find().filter(E::owner_column().eq(owner))
}

/// The owner's row `id`; anyone else's, or none, is a 404 naming `E::WHAT`.
pub async fn find<E, C>(db: &C, owner: UserId, id: Uuid) -> AppResult<E::Model>
where
    E: Owned,
    C: ConnectionTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    find_where::<E, C>(db, owner, id, Condition::all(), E::WHAT).await
}

/// `find`, narrowed by `also` (a channel, a state), with the 404 naming `what`.
pub async fn find_where<E, C>(
    db: &C,
    owner: UserId,
    id: Uuid,
    also: Condition,
    what: &'static str,
) -> AppResult<E::Model>
where
    E: Owned,
    C: ConnectionTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    E::find_by_id(id)
        .filter(E::owner_column().eq(owner))
        .filter(also)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(what))
}

macro_rules! owned {
    ($($module:ident => $what:literal),* $(,)?) => {
        $(impl Owned for $module::Entity {
            const WHAT: &'static str = $what;
            fn owner_column() -> Self::Column {
                $module::Column::UserId
            }
        })*
    };
}

owned!(
    agents => "agent",
    calls => "call",
    contacts => "contact",
    contact_imports => "import",
    customers => "customer",
    lead_tasks => "follow_up",
    notifications => "notification",
    purchases => "purchase",
);
