//! Conversations with the planner (`conversations`, `messages`): one
//! conversation per planner thread, its messages in order, and the last
//! event sequence number used in its stream. Scoped by organization.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Store, StoreError, dispatch, now};

/// A conversation (a planner thread).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct Conversation {
    /// Id; the planner's thread id is this id's hyphenated text.
    pub id: Uuid,
    /// The first question, shortened.
    pub title: Option<String>,
    /// The last event `seq` sent on the thread (0 before any).
    pub last_seq: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Time of the last message.
    pub updated_at: DateTime<Utc>,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
pub struct StoredMessage {
    /// Id (uuid v7, so ids sort in writing order).
    pub id: Uuid,
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
    /// Extra data (tool calls made, citations, usage).
    #[sqlx(json)]
    pub metadata: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// The conversation `id` of `org`, created with `title` if missing.
    pub async fn ensure_conversation(
        &self,
        org: Uuid,
        id: Uuid,
        title: &str,
    ) -> Result<Conversation, StoreError> {
        let at = now();
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO conversations (id, organization_id, title, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(org)
            .bind(title)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("create a conversation"))?;
        });
        self.conversation(org, id)
            .await?
            .ok_or_else(|| StoreError::InvalidData {
                field: "conversations.id",
                reason: format!("conversation {id} belongs to another organization"),
            })
    }

    /// The conversation `id` of `org`, if any.
    pub async fn conversation(
        &self,
        org: Uuid,
        id: Uuid,
    ) -> Result<Option<Conversation>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT id, title, last_seq, created_at, updated_at FROM conversations \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("look up a conversation"))
        })
    }

    /// `org`'s conversations, most recently updated first, at most `limit`.
    pub async fn conversations(
        &self,
        org: Uuid,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT id, title, last_seq, created_at, updated_at FROM conversations \
                 WHERE organization_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2",
            )
            .bind(org)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list conversations"))
        })
    }

    /// Appends a message to conversation `id` of `org` and marks the
    /// conversation updated. A conversation of another organization is
    /// [`StoreError::NotFound`].
    pub async fn append_message(
        &self,
        org: Uuid,
        conversation: Uuid,
        role: &str,
        content: &str,
        metadata: &Value,
    ) -> Result<StoredMessage, StoreError> {
        let message = StoredMessage {
            id: Uuid::now_v7(),
            role: role.to_string(),
            content: content.to_string(),
            metadata: metadata.clone(),
            created_at: now(),
        };
        let updated = dispatch!(self, |pool| {
            sqlx::query(
                "UPDATE conversations SET updated_at = $3 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(conversation)
            .bind(message.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db("update a conversation"))?
            .rows_affected()
        });
        if updated != 1 {
            return Err(StoreError::NotFound {
                entity: "conversation",
                id: conversation,
            });
        }
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO messages \
                 (id, organization_id, conversation_id, role, content, metadata, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(message.id)
            .bind(org)
            .bind(conversation)
            .bind(role)
            .bind(content)
            .bind(Json(metadata))
            .bind(message.created_at)
            .execute(pool)
            .await
            .map_err(StoreError::db("append a message"))?;
        });
        Ok(message)
    }

    /// The messages of conversation `id` of `org`, oldest first.
    pub async fn conversation_messages(
        &self,
        org: Uuid,
        conversation: Uuid,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT id, role, content, metadata, created_at FROM messages \
                 WHERE organization_id = $1 AND conversation_id = $2 ORDER BY created_at, id",
            )
            .bind(org)
            .bind(conversation)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list messages"))
        })
    }

    /// Records `seq` as the last event number sent on conversation `id`
    /// (never lowers it).
    pub async fn set_conversation_seq(
        &self,
        org: Uuid,
        conversation: Uuid,
        seq: i64,
    ) -> Result<(), StoreError> {
        dispatch!(self, |pool| {
            sqlx::query(
                "UPDATE conversations SET last_seq = $3 \
                 WHERE organization_id = $1 AND id = $2 AND last_seq < $3",
            )
            .bind(org)
            .bind(conversation)
            .bind(seq)
            .execute(pool)
            .await
            .map_err(StoreError::db("record a conversation's event number"))?;
        });
        Ok(())
    }
}
