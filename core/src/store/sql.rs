//! How trust values are spelled in SQLite: their stable lowercase names.
//!
//! A value this build cannot read (written by a newer release, or edited by
//! hand) fails the query with a message naming the column's type and value,
//! rather than being guessed.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::trust::{Actor, ItemKind, ServerOrigin, ServerState, Severity, ToolState};

use super::activity::{ActivityKind, DecisionAction, DiscoveryAction};

macro_rules! sql_spelling {
    ($($ty:ty),+ $(,)?) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                <$ty>::parse(text).ok_or_else(|| {
                    FromSqlError::Other(
                        format!(
                            "`{text}` is not a {} this version of Portcullis knows",
                            stringify!($ty)
                        )
                        .into(),
                    )
                })
            }
        }
    )+};
}

sql_spelling!(
    ServerState,
    ServerOrigin,
    ToolState,
    Actor,
    ItemKind,
    Severity,
    ActivityKind,
    DecisionAction,
    DiscoveryAction,
);
