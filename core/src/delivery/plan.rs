//! From a post to deliveries: a post is composed once with its targets (accounts ×
//! segments, or everyone), each target is adapted by its platform's plugin
//! (`adapt-segments`, one call per account for all its segments) and stored as a delivery
//! with its lineage; then the post is scheduled, held for approval, edited (its deliveries
//! that have not gone out are adapted again), cancelled or retried.
//!
//! The post's own lifecycle is `crate::domain::PostStatus`; the deliveries' is
//! `crate::domain::DeliveryStatus`. This module is the one place that moves both together.
//! (The store persists; the audience answers sizes; this module decides.)

use super::recurrence;
use crate::audience::{Audience, AudienceError};
use crate::domain::{CronSchedule, DeliveryStatus, PostDraft, PostStatus, Zone, new_id};
use crate::plugins::convert::SegmentView;
use crate::plugins::{CallErrorKind, Invocation, Plugin, PluginRegistry, types};
use crate::store::entity::{delivery, post, social_account};
use crate::store::{NewDelivery, Readaptation, Tenant};
use crate::{Invalid, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

/// One destination of a post: an account, for one segment or for everyone who sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub account_id: Uuid,
    pub segment_id: Option<Uuid>,
}

/// When a post goes out.
#[derive(Debug, Clone)]
pub enum When {
    /// At an instant a person planned on a zone's wall clock (stored in UTC with the zone).
    At(DateTime<Utc>, Zone),
    /// As soon as a worker is free.
    Now,
    /// Each account's next free posting slot ("add to queue").
    NextSlot,
    /// On every slot of a cron schedule on a zone's wall clock, until `until`.
    Every {
        cron: CronSchedule,
        zone: Zone,
        until: Option<DateTime<Utc>>,
    },
}

/// What planning did.
#[derive(Debug, Clone)]
pub struct Planned {
    pub post: post::Model,
    pub deliveries: Vec<delivery::Model>,
    /// The brand requires approval and the post is not approved: its deliveries keep their
    /// planned instants and wait (`pending`) until it is.
    pub held_for_approval: bool,
    /// Deliveries the request did not change, and why (an edit leaves what went out alone).
    pub not_changed: Vec<Skipped>,
}

/// One target's adapted variant of a draft, as [`Planner::preview`] shows it.
#[derive(Debug, Clone)]
pub struct Preview {
    pub target: Target,
    pub platform: String,
    pub handle: String,
    pub plugin_id: String,
    pub adapted: types::Adapted,
    /// The native targeting that would be sent, as JSON.
    pub targeting: Option<serde_json::Value>,
}

/// What a person asked for that could not be done to some deliveries.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Skipped {
    pub id: Uuid,
    pub status: String,
    pub reason: String,
}

/// Plans, schedules, edits, cancels and retries one workspace's posts.
pub struct Planner<'a> {
    tenant: Tenant<'a>,
    plugins: &'a PluginRegistry,
}

impl<'a> Planner<'a> {
    pub fn new(tenant: Tenant<'a>, plugins: &'a PluginRegistry) -> Self {
        Self { tenant, plugins }
    }

    /// Stores a draft post and one pending delivery per target, each adapted by its
    /// platform's plugin. Nothing is stored when any target cannot be adapted: the error
    /// names the target and the plugin's reason.
    pub async fn compose(
        &self,
        brand_id: Uuid,
        author: Option<Uuid>,
        draft: PostDraft,
        targets: &[Target],
    ) -> Result<Planned, StoreError> {
        let draft = draft.validated()?;
        if targets.is_empty() {
            return Err(Invalid::new(
                "targets",
                "a post needs at least one account to go to (an account, optionally with segments)",
            )
            .into());
        }
        let mut seen = HashSet::new();
        if let Some(dup) = targets.iter().position(|t| !seen.insert(*t)) {
            return Err(Invalid::new(format!("targets[{dup}]"), "this account and segment are listed twice").into());
        }
        self.tenant.brands().get(brand_id).await?;
        let id = new_id();
        let adapted = self
            .adapt_all(
                &as_plugin_post(id, &draft, &self.media_refs(&draft.media).await?),
                &draft.options,
                brand_id,
                targets,
            )
            .await?;
        let post = self.tenant.posts().create_with_id(id, brand_id, author, draft).await?;
        let mut deliveries = Vec::with_capacity(targets.len());
        for (target, a) in targets.iter().zip(adapted) {
            deliveries.push(
                self.tenant
                    .deliveries()
                    .create(NewDelivery {
                        post_id: post.id,
                        account_id: target.account_id,
                        segment_id: target.segment_id,
                        adapted_text: Some(a.adapted.text.clone()),
                        adaptation: Some(to_json(&a.adapted)?),
                        targeting: a.targeting(),
                        scheduled_at: None,
                        timezone: a.account.timezone.clone(),
                        plugin: Some((a.plugin.id().to_owned(), a.plugin.manifest.version.clone())),
                        occurrence: None,
                    })
                    .await?,
            );
        }
        Ok(Planned {
            post,
            deliveries,
            held_for_approval: false,
            not_changed: Vec::new(),
        })
    }

    /// What composing `draft` for `targets` would store, without storing anything: each
    /// target's adaptation by its platform's plugin, with the same checks and errors as
    /// [`Self::compose`]. Cheap enough to call on every keystroke (plugins answer in about a
    /// millisecond).
    pub async fn preview(
        &self,
        brand_id: Uuid,
        draft: PostDraft,
        targets: &[Target],
    ) -> Result<Vec<Preview>, StoreError> {
        let draft = draft.validated()?;
        if targets.is_empty() {
            return Err(Invalid::new("targets", "pick at least one account to preview for").into());
        }
        self.tenant.brands().get(brand_id).await?;
        let post = as_plugin_post(new_id(), &draft, &self.media_refs(&draft.media).await?);
        let adapted = self.adapt_all(&post, &draft.options, brand_id, targets).await?;
        Ok(targets
            .iter()
            .zip(adapted)
            .map(|(t, a)| Preview {
                target: *t,
                platform: a.account.platform.clone(),
                handle: a.account.handle.clone(),
                plugin_id: a.plugin.id().to_owned(),
                targeting: a.targeting(),
                adapted: a.adapted,
            })
            .collect())
    }

    /// Schedules a post's deliveries that have not gone out. A post of a brand that requires
    /// approval and is not approved yet is submitted for review instead: its deliveries keep
    /// the planned instant and stay `pending` until [`Self::approve`].
    pub async fn schedule(&self, post_id: Uuid, when: When, actor: Option<Uuid>) -> Result<Planned, StoreError> {
        let post = self.tenant.posts().get(post_id).await?;
        let brand = self.tenant.brands().get(post.brand_id).await?;
        let schedulable = [
            PostStatus::Draft,
            PostStatus::InReview,
            PostStatus::Approved,
            PostStatus::Scheduled,
        ];
        if !schedulable.contains(&post.status) {
            return Err(Invalid::new(
                "post.status",
                format!(
                    "a {} post cannot be scheduled; schedule a draft, in_review, approved or scheduled post \
                     (retry a failed one instead)",
                    post.status
                ),
            )
            .into());
        }
        let deliveries = self.open_deliveries(post_id).await?;
        if deliveries.is_empty() {
            return Err(Invalid::new("post", "the post has no delivery left to schedule").into());
        }
        let held = brand.requires_approval && !matches!(post.status, PostStatus::Approved | PostStatus::Scheduled);
        let now = Utc::now();
        // A new plan replaces the old one: a recurrence's waiting occurrences go (the new rule
        // makes its own), a one-off plan ends the recurrence, and a recurrence turns the
        // post's deliveries back into templates.
        let deliveries = if let When::Every { cron, zone, until } = &when {
            self.tenant.recurrences().drop_waiting_occurrences(post_id).await?;
            self.tenant
                .recurrences()
                .set(post_id, cron.as_str(), *zone, *until, !held, now)
                .await?;
            let mut templates = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                templates.push(if is_template(&d) {
                    d
                } else {
                    self.tenant.deliveries().unplan(d.id).await?
                });
            }
            templates
        } else {
            self.tenant.recurrences().remove(post_id).await?;
            deliveries
        };
        if !held {
            self.check_targeting(&deliveries).await?;
        }
        // Each delivery's instant (none for a recurring post's templates).
        let mut planned = Vec::with_capacity(deliveries.len());
        let mut taken: Vec<(Uuid, DateTime<Utc>)> = Vec::new();
        for d in &deliveries {
            let at = match &when {
                When::At(at, zone) => Some((*at, zone.to_string())),
                When::Now => Some((now, d.timezone.clone())),
                When::NextSlot => {
                    let account = self.tenant.accounts().get(d.social_account_id).await?;
                    let busy: Vec<DateTime<Utc>> = taken
                        .iter()
                        .filter(|(a, _)| *a == account.id)
                        .map(|(_, t)| *t)
                        .collect();
                    let (slot, zone) = self.tenant.schedules().next_free_slot(&account, now, &busy).await?;
                    taken.push((account.id, slot));
                    Some((slot, zone.to_string()))
                }
                When::Every { .. } => None,
            };
            planned.push(at);
        }
        let mut out = Vec::with_capacity(deliveries.len());
        for (d, at) in deliveries.iter().zip(planned) {
            let Some((at, zone)) = at else {
                out.push(d.clone());
                continue;
            };
            let row = if held {
                self.tenant.deliveries().plan(d.id, at, &zone).await?
            } else {
                self.tenant.deliveries().schedule(d.id, at, &zone).await?
            };
            out.push(row);
        }
        let post = if held {
            self.move_post(&post, &[PostStatus::InReview], actor, Some("submitted for approval"))
                .await?
        } else {
            self.move_post(
                &post,
                &[PostStatus::Approved, PostStatus::Scheduled],
                actor,
                (!brand.requires_approval).then_some("the brand does not require approval"),
            )
            .await?
        };
        if matches!(when, When::Every { .. }) && !held {
            recurrence::materialize_post(self.tenant, post_id, now).await?;
        }
        if !held {
            self.tenant.notify_due().await;
        }
        Ok(Planned {
            post,
            deliveries: out,
            held_for_approval: held,
            not_changed: Vec::new(),
        })
    }

    /// An approver accepts a post in review: its held deliveries are scheduled at their
    /// planned instants (now, if that instant has passed) and a held recurrence starts.
    pub async fn approve(&self, post_id: Uuid, actor: Option<Uuid>, note: Option<&str>) -> Result<Planned, StoreError> {
        let post = self.tenant.posts().get(post_id).await?;
        let post = self
            .tenant
            .posts()
            .transition(post.id, post.status, PostStatus::Approved, actor, note)
            .await?;
        let deliveries = self.open_deliveries(post_id).await?;
        let now = Utc::now();
        let recurring = self.tenant.recurrences().get(post_id).await?;
        let planned: Vec<_> = deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending && d.scheduled_at.is_some())
            .collect();
        if planned.is_empty() && recurring.is_none() {
            // Approved, but not yet planned: the person schedules it next.
            return Ok(Planned {
                post,
                deliveries,
                held_for_approval: false,
                not_changed: Vec::new(),
            });
        }
        self.check_targeting(&deliveries).await?;
        let mut out = Vec::new();
        for d in deliveries {
            match d.scheduled_at {
                Some(at) if d.status == DeliveryStatus::Pending => out.push(
                    self.tenant
                        .deliveries()
                        .schedule(d.id, at.max(now), &d.timezone)
                        .await?,
                ),
                _ => out.push(d),
            }
        }
        let post = self
            .tenant
            .posts()
            .transition(post.id, PostStatus::Approved, PostStatus::Scheduled, actor, None)
            .await?;
        if recurring.is_some() {
            self.tenant.recurrences().enable(post_id, true).await?;
            recurrence::materialize_post(self.tenant, post_id, now).await?;
        }
        self.tenant.notify_due().await;
        Ok(Planned {
            post,
            deliveries: out,
            held_for_approval: false,
            not_changed: Vec::new(),
        })
    }

    /// An approver sends a post in review back to its author with a comment.
    pub async fn reject(&self, post_id: Uuid, actor: Option<Uuid>, comment: &str) -> Result<post::Model, StoreError> {
        if comment.trim().is_empty() {
            return Err(Invalid::new("comment", "say what should change; the author reads it").into());
        }
        self.tenant
            .posts()
            .transition(post_id, PostStatus::InReview, PostStatus::Draft, actor, Some(comment))
            .await
    }

    /// Replaces the post's content (the caller last saw `revision`) and adapts again every
    /// delivery that has not gone out; a delivery that is publishing, published, or whose
    /// post may already be on the platform keeps what it sent. When the brand requires
    /// approval, the edited post goes back to draft and its scheduled deliveries are held.
    pub async fn edit(
        &self,
        post_id: Uuid,
        revision: i32,
        actor: Option<Uuid>,
        draft: PostDraft,
    ) -> Result<Planned, StoreError> {
        let draft = draft.validated()?;
        let before = self.tenant.posts().get(post_id).await?;
        let brand = self.tenant.brands().get(before.brand_id).await?;
        let (readaptable, not_changed) = self.editable(post_id).await?;
        let targets: Vec<Target> = readaptable
            .iter()
            .map(|d| Target {
                account_id: d.social_account_id,
                segment_id: d.segment_id,
            })
            .collect();
        // Adapt before storing anything: an edit the plugins refuse changes nothing.
        let adapted = self
            .adapt_all(
                &as_plugin_post(post_id, &draft, &self.media_refs(&draft.media).await?),
                &draft.options,
                before.brand_id,
                &targets,
            )
            .await?;
        let post = self
            .tenant
            .posts()
            .edit(post_id, revision, actor, draft, brand.requires_approval)
            .await?;
        let mut out = Vec::with_capacity(readaptable.len());
        for (d, a) in readaptable.iter().zip(adapted) {
            let mut row = self
                .tenant
                .deliveries()
                .readapt(
                    d.id,
                    Readaptation {
                        adapted_text: Some(a.adapted.text.clone()),
                        adaptation: Some(to_json(&a.adapted)?),
                        targeting: a.targeting(),
                        post_revision: post.revision,
                        plugin: Some((a.plugin.id().to_owned(), a.plugin.manifest.version.clone())),
                    },
                )
                .await?;
            if post.status == PostStatus::Draft && row.status == DeliveryStatus::Scheduled {
                row = self.tenant.deliveries().hold(row.id).await?;
            }
            out.push(row);
        }
        if post.status == PostStatus::Draft {
            self.tenant.recurrences().enable(post_id, false).await?;
        }
        Ok(Planned {
            post,
            deliveries: out,
            held_for_approval: brand.requires_approval && before.status != PostStatus::Draft,
            not_changed,
        })
    }

    /// The post's deliveries an edit may change, and the others with the reason. A delivery
    /// that did not publish but may be on the platform (its last attempt sent it, then
    /// failed or lost the answer) is looked up first with its plugin's `find-published`:
    /// found, it is recorded as published and keeps what it sent; not found, it is changed
    /// like the rest (so "fix the post, then retry" sends the fixed post); if the platform
    /// cannot be asked now, it keeps what it sent and says so.
    async fn editable(&self, post_id: Uuid) -> Result<(Vec<delivery::Model>, Vec<Skipped>), StoreError> {
        let mut editable = Vec::new();
        let mut skipped = Vec::new();
        let skip = |d: &delivery::Model, reason: String| Skipped {
            id: d.id,
            status: d.status.to_string(),
            reason,
        };
        for d in self.tenant.deliveries().list_for_post(post_id).await? {
            if !DeliveryStatus::EDITABLE.contains(&d.status) {
                let reason = match d.status {
                    DeliveryStatus::Published => "published; what went out stays as it was".to_owned(),
                    DeliveryStatus::Claimed | DeliveryStatus::Publishing => {
                        "on its way to the platform now; it sends what it has".to_owned()
                    }
                    DeliveryStatus::OutcomeUnknown => "the answer to its last attempt was lost; the next \
                                                        attempt looks for it on the platform and sends \
                                                        what it has only if it is not there"
                        .to_owned(),
                    _ => "waiting for its next attempt, which sends what it has (cancel it, then retry \
                          the post, to send the edit)"
                        .to_owned(),
                };
                skipped.push(skip(&d, reason));
                continue;
            }
            if !d.lookup_first {
                editable.push(d);
                continue;
            }
            if !DeliveryStatus::RETRYABLE_BY_PERSON.contains(&d.status) {
                // Still in the queue: a worker may take it while the platform is asked; its
                // next attempt looks it up first anyway.
                skipped.push(skip(
                    &d,
                    "its last attempt may have reached the platform; the next attempt looks for it there \
                     first and sends what it has only if it is not there"
                        .to_owned(),
                ));
                continue;
            }
            match self.find_on_platform(&d).await {
                Ok(Some(found)) => {
                    let post = published_post(&found);
                    let reason = format!(
                        "found on the platform ({}): it went out before it failed, so it is published and \
                         keeps what it sent",
                        found.url.as_deref().unwrap_or(&found.remote_id)
                    );
                    skipped.push(skip(&d, reason));
                    self.tenant
                        .deliveries()
                        .found_on_platform(d.id, d.status, &post)
                        .await?;
                }
                Ok(None) => editable.push(self.tenant.deliveries().clear_lookup(d.id, d.status).await?),
                Err(why) => skipped.push(skip(
                    &d,
                    format!(
                        "its last attempt may have reached the platform and it could not be checked now \
                         ({why}); it keeps what it sent, and a retry looks it up first"
                    ),
                )),
            }
        }
        Ok((editable, skipped))
    }

    /// Whether the platform has a delivery, by its plugin's `find-published` with its marker
    /// and what was sent; `Err` says why it could not be asked.
    async fn find_on_platform(&self, d: &delivery::Model) -> Result<Option<types::Published>, String> {
        let account = self
            .tenant
            .accounts()
            .get(d.social_account_id)
            .await
            .map_err(|e| e.to_string())?;
        let plugin = self
            .plugins
            .for_platform(&account.platform, d.plugin_id.as_deref())
            .ok_or_else(|| format!("no plugin for {} is installed", account.platform))?;
        let adapted: types::Adapted = d
            .adaptation
            .clone()
            .map(crate::plugins::convert::stored_adaptation)
            .transpose()
            .map_err(|e| format!("the stored adaptation cannot be read: {e}"))?
            .ok_or("nothing was stored of what was sent")?;
        let creds = self
            .tenant
            .accounts()
            .credentials(account.id)
            .await
            .map_err(|e| e.to_string())?;
        let inv = Invocation {
            workspace: d.workspace_id,
            token: Some(creds.access_token),
            api_base: account.api_base.clone(),
            ..Invocation::default()
        };
        let acc = types::Account {
            id: account.id.to_string(),
            handle: account.handle.clone(),
            remote_id: account.remote_id.clone(),
            timezone: account.timezone.clone(),
        };
        plugin
            .find_published(&d.idempotency_key, &adapted, &acc, &inv)
            .await
            .map_err(|e| e.to_string())
    }

    /// Cancels every delivery of the post that is not on its way to the platform, and the
    /// post itself when nothing of it went out. Returns the deliveries that could not be
    /// cancelled (publishing, published, or whose outcome is being looked up).
    pub async fn cancel(&self, post_id: Uuid, actor: Option<Uuid>) -> Result<(post::Model, Vec<Skipped>), StoreError> {
        let post = self.tenant.posts().get(post_id).await?;
        self.tenant.recurrences().enable(post_id, false).await?;
        let mut skipped = Vec::new();
        for d in self.tenant.deliveries().list_for_post(post_id).await? {
            if d.status == DeliveryStatus::Cancelled {
                continue;
            }
            if !DeliveryStatus::CANCELLABLE.contains(&d.status) {
                skipped.push(Skipped {
                    id: d.id,
                    status: d.status.to_string(),
                    reason: match d.status {
                        DeliveryStatus::Published => "already published".into(),
                        DeliveryStatus::Failed | DeliveryStatus::Dead => "already ended without publishing".into(),
                        s => format!("{s}: a worker holds it, or the platform may have it"),
                    },
                });
                continue;
            }
            if let Err(e) = self.tenant.deliveries().cancel(d.id).await {
                // A worker claimed it between the read and the cancel.
                skipped.push(Skipped {
                    id: d.id,
                    status: "claimed".into(),
                    reason: e.to_string(),
                });
                continue;
            }
            if d.lookup_first {
                // Its last attempt may have reached the platform. Now that no worker can
                // take it, ask the platform.
                match self.find_on_platform(&d).await {
                    Ok(Some(found)) => {
                        let post = published_post(&found);
                        self.tenant
                            .deliveries()
                            .found_on_platform(d.id, DeliveryStatus::Cancelled, &post)
                            .await?;
                        skipped.push(Skipped {
                            id: d.id,
                            status: DeliveryStatus::Published.to_string(),
                            reason: format!(
                                "already on the platform ({}): its last attempt reached it, so it is published",
                                found.url.as_deref().unwrap_or(&found.remote_id)
                            ),
                        });
                    }
                    Ok(None) => {
                        self.tenant
                            .deliveries()
                            .clear_lookup(d.id, DeliveryStatus::Cancelled)
                            .await?;
                    }
                    Err(why) => skipped.push(Skipped {
                        id: d.id,
                        status: DeliveryStatus::Cancelled.to_string(),
                        reason: format!(
                            "cancelled, but its last attempt may have reached the platform and it could not \
                             be checked now ({why}); look on the platform"
                        ),
                    }),
                }
            }
        }
        let went_out = skipped
            .iter()
            .any(|s| s.status != "failed" && s.status != "dead" && s.status != "cancelled");
        let post = if !went_out && post.status.can_move_to(PostStatus::Cancelled) {
            self.tenant
                .posts()
                .transition(post_id, post.status, PostStatus::Cancelled, actor, None)
                .await?
        } else {
            post
        };
        Ok((post, skipped))
    }

    /// Retries the post's deliveries that did not publish (failed, dead or cancelled ones),
    /// due now; a delivery that published is never sent again.
    pub async fn retry(&self, post_id: Uuid, actor: Option<Uuid>) -> Result<Planned, StoreError> {
        let post = self.tenant.posts().get(post_id).await?;
        if matches!(
            post.status,
            PostStatus::Cancelled | PostStatus::Draft | PostStatus::InReview
        ) {
            return Err(Invalid::new(
                "post.status",
                format!("a {} post is not retried; schedule it instead", post.status),
            )
            .into());
        }
        let now = Utc::now();
        let mut out = Vec::new();
        for d in self.tenant.deliveries().list_for_post(post_id).await? {
            if DeliveryStatus::RETRYABLE_BY_PERSON.contains(&d.status) && !is_template(&d) {
                out.push(self.tenant.deliveries().retry(d.id, now).await?);
            }
        }
        if out.is_empty() {
            return Err(Invalid::new("post", "no delivery of this post failed, died or was cancelled").into());
        }
        self.tenant.notify_due().await;
        let post = if matches!(post.status, PostStatus::Failed | PostStatus::PartiallyPublished) {
            self.tenant
                .posts()
                .transition(post_id, post.status, PostStatus::Scheduled, actor, Some("retried"))
                .await?
        } else {
            post
        };
        Ok(Planned {
            post,
            deliveries: out,
            held_for_approval: false,
            not_changed: Vec::new(),
        })
    }

    /// Deliveries that may still be (re)scheduled: pending or scheduled.
    async fn open_deliveries(&self, post_id: Uuid) -> Result<Vec<delivery::Model>, StoreError> {
        Ok(self
            .tenant
            .deliveries()
            .list_for_post(post_id)
            .await?
            .into_iter()
            .filter(|d| {
                matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Scheduled) && d.occurrence.is_none()
            })
            .collect())
    }

    /// Moves the post through `path` from where it is (skipping steps it already took).
    async fn move_post(
        &self,
        post: &post::Model,
        path: &[PostStatus],
        actor: Option<Uuid>,
        note: Option<&str>,
    ) -> Result<post::Model, StoreError> {
        let mut current = post.clone();
        let start = path.iter().position(|s| *s == current.status).map_or(0, |i| i + 1);
        for next in &path[start..] {
            current = self
                .tenant
                .posts()
                .transition(current.id, current.status, *next, actor, note)
                .await?;
        }
        Ok(current)
    }

    /// Refuses a targeted delivery to a segment that reaches fewer people than its
    /// platform's `min-targeting-audience`, when it is scheduled rather than when the
    /// platform rejects it.
    async fn check_targeting(&self, deliveries: &[delivery::Model]) -> Result<(), StoreError> {
        for d in deliveries {
            let (Some(segment_id), Some(_)) = (d.segment_id, &d.targeting) else {
                continue;
            };
            let account = self.tenant.accounts().get(d.social_account_id).await?;
            let Some(min) = self
                .plugins
                .for_platform(&account.platform, d.plugin_id.as_deref())
                .and_then(|p| p.description.min_targeting_audience)
            else {
                continue;
            };
            ensure_targeting_reach(self.tenant, segment_id, &account.platform, min).await?;
        }
        Ok(())
    }

    async fn media_refs(&self, ids: &[Uuid]) -> Result<Vec<types::MediaRef>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(types::MediaRef::from(&self.tenant.media().get(*id).await?));
        }
        Ok(out)
    }

    /// Adapts `post` for every target, one `adapt-segments` call per account.
    async fn adapt_all(
        &self,
        post: &types::Post,
        options: &crate::domain::PostOptions,
        brand_id: Uuid,
        targets: &[Target],
    ) -> Result<Vec<Adaptation>, StoreError> {
        let mut out: Vec<Option<Adaptation>> = (0..targets.len()).map(|_| None).collect();
        let mut accounts: Vec<Uuid> = targets.iter().map(|t| t.account_id).collect();
        accounts.dedup();
        let mut done = HashSet::new();
        let audience = if targets.iter().any(|t| t.segment_id.is_some()) {
            Some(Audience::new(self.tenant, brand_id).await.map_err(audience_error)?)
        } else {
            None
        };
        for account_id in accounts {
            if !done.insert(account_id) {
                continue;
            }
            let index = |i: usize| format!("targets[{i}]");
            let first = targets.iter().position(|t| t.account_id == account_id).unwrap_or(0);
            let account = self.tenant.accounts().get(account_id).await?;
            if account.brand_id != brand_id {
                return Err(Invalid::new(index(first), "the account belongs to another brand than the post").into());
            }
            let plugin = self.plugins.for_platform(&account.platform, None).ok_or_else(|| {
                Invalid::new(
                    index(first),
                    format!(
                        "no plugin for platform {:?} is installed (see `chorus plugin list`)",
                        account.platform
                    ),
                )
            })?;
            // The post's media against the platform's rules, before anything is adapted:
            // said now, with the platform and the rule, not at publish.
            let broken = crate::media::rules::check(&plugin.description.name, &plugin.description.media, &post.media);
            if let Some(b) = broken.first() {
                let all: Vec<&str> = broken.iter().map(|b| b.message.as_str()).collect();
                return Err(Invalid::new(
                    b.field.clone(),
                    format!("for account @{} ({}): {}", account.handle, index(first), all.join("; ")),
                )
                .into());
            }
            let mine: Vec<usize> = (0..targets.len())
                .filter(|i| targets[*i].account_id == account_id)
                .collect();
            let mut segments = Vec::with_capacity(mine.len());
            for i in &mine {
                segments.push(match (targets[*i].segment_id, &audience) {
                    (Some(s), Some(aud)) => Some(segment_view(aud, s).await.map_err(audience_error)?),
                    _ => None,
                });
            }
            let acc = plugin_account(&account);
            let inv = Invocation {
                workspace: self.tenant.workspace_id(),
                media_refs: post.media.clone(),
                ..Invocation::default()
            };
            let what = |seg: &Option<types::Segment>| {
                format!(
                    "{} account @{}{}",
                    account.platform,
                    account.handle,
                    seg.as_ref()
                        .map(|s| format!(", segment {:?}", s.name))
                        .unwrap_or_default()
                )
            };
            let post = types::Post {
                options: options.for_account(&account.platform, account.id),
                ..post.clone()
            };
            let results = plugin
                .adapt_segments(&post, &segments, &acc, &inv)
                .await
                .map_err(|e| Invalid::new(index(first), format!("{}: the plugin failed: {e}", what(&None))))?;
            for ((i, seg), r) in mine.iter().zip(&segments).zip(results) {
                let adapted = r.map_err(|e| {
                    let why = match &e.kind {
                        CallErrorKind::Plugin(types::PluginError::InvalidInput(v)) => {
                            format!("{}: {}", v.field, v.message)
                        }
                        _ => e.to_string(),
                    };
                    Invalid::new(index(*i), format!("{} refused the post: {why}", what(seg)))
                })?;
                out[*i] = Some(Adaptation {
                    adapted,
                    plugin: plugin.clone(),
                    account: account.clone(),
                });
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

/// Refuses native targeting of a segment that reaches fewer than `min` people (the
/// platform plugin's `min-targeting-audience`): the platform would refuse it at publish.
pub async fn ensure_targeting_reach(
    tenant: Tenant<'_>,
    segment_id: Uuid,
    platform: &str,
    min: u32,
) -> Result<(), StoreError> {
    let segment = tenant.segments().get(segment_id).await?;
    let audience = Audience::new(tenant, segment.brand_id).await.map_err(audience_error)?;
    let size = audience.targeting_size(&segment).await.map_err(audience_error)?;
    if size < u64::from(min) {
        return Err(Invalid::new(
            "delivery.targeting",
            format!(
                "segment {:?} reaches {size} people; {platform} needs at least {min} for native targeting. \
                 Widen the segment, or schedule without targeting",
                segment.name
            ),
        )
        .into());
    }
    Ok(())
}

/// A recurring post's template deliveries are never claimed; their occurrences are.
pub fn is_template(d: &delivery::Model) -> bool {
    d.occurrence.is_none() && d.status == DeliveryStatus::Pending && d.scheduled_at.is_none()
}

/// One target's adaptation, with the plugin that made it.
struct Adaptation {
    adapted: types::Adapted,
    plugin: Arc<Plugin>,
    account: social_account::Model,
}

impl Adaptation {
    fn targeting(&self) -> Option<serde_json::Value> {
        self.adapted
            .targeting
            .as_deref()
            .map(|t| serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.to_owned())))
    }
}

/// What the store records of a post the platform has.
fn published_post(found: &types::Published) -> crate::store::PublishedPost {
    crate::store::PublishedPost {
        remote_id: found.remote_id.clone(),
        remote_url: found.url.clone(),
        extra_ids: found.extra_ids.clone(),
    }
}

fn to_json(a: &types::Adapted) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(a).map_err(|e| Invalid::new("adaptation", format!("cannot be stored: {e}")).into())
}

/// The post as plugins see it.
pub fn as_plugin_post(id: Uuid, draft: &PostDraft, media: &[types::MediaRef]) -> types::Post {
    types::Post {
        // Set per account when adapted (see `PostOptions::for_account`).
        options: vec![],
        id: id.to_string(),
        title: draft.title.clone(),
        body: draft.body.clone(),
        link: draft.link.clone(),
        hashtags: draft.hashtags.clone(),
        locale: draft.locale.clone(),
        media: media.to_vec(),
    }
}

/// The account as plugins see it.
pub fn plugin_account(account: &social_account::Model) -> types::Account {
    types::Account {
        id: account.id.to_string(),
        handle: account.handle.clone(),
        remote_id: account.remote_id.clone(),
        timezone: account.timezone.clone(),
    }
}

/// A segment as plugins see it: its name, tone and portable audience with its size.
pub async fn segment_view(audience: &Audience<'_>, segment_id: Uuid) -> Result<types::Segment, AudienceError> {
    let seg = audience.tenant().segments().get(segment_id).await?;
    let mut portable = crate::audience::segments::portable_audience(&seg)?;
    if portable.estimated_size.is_none() {
        portable.estimated_size = Some(audience.size_of(&seg).await?.size);
    }
    let view = SegmentView {
        id: seg.id.to_string(),
        name: seg.name.clone(),
        tone: crate::audience::segments::tone_profile(&seg)?,
        audience: portable,
    };
    Ok(types::Segment::from(&view))
}

fn audience_error(e: AudienceError) -> StoreError {
    match e {
        AudienceError::Invalid(i) => StoreError::Invalid(i),
        AudienceError::Store(s) => s,
    }
}
