//! The settler: a scheduled post whose deliveries have all ended takes its final state
//! (published, partially published, failed, or cancelled), so lists and the calendar say
//! what happened without reading every delivery. Each move is fenced on the post's state.

use crate::StoreError;
use crate::domain::PostStatus;
use crate::store::Store;

/// Settles up to `limit` posts; returns how many moved.
pub async fn settle(store: &Store, limit: u64) -> Result<u64, StoreError> {
    let mut moved = 0;
    for s in store.posts_to_settle(limit).await? {
        let posts = store.tenant(s.workspace_id).posts();
        let outcome = s.outcome();
        let result = if outcome == PostStatus::Cancelled {
            posts
                .transition(
                    s.id,
                    PostStatus::Scheduled,
                    PostStatus::Cancelled,
                    None,
                    Some("every delivery was cancelled"),
                )
                .await
        } else {
            match posts
                .transition(s.id, PostStatus::Scheduled, PostStatus::Publishing, None, None)
                .await
            {
                Ok(_) => {
                    posts
                        .transition(s.id, PostStatus::Publishing, outcome, None, None)
                        .await
                }
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(_) => moved += 1,
            // Another node, or a person, moved it first.
            Err(StoreError::Stale { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(moved)
}
