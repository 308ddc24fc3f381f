//! `chorus queue`: what the delivery queue holds, for the person on call.

use crate::config::Settings;
use chorus_core::domain::DeliveryStatus;
use serde_json::json;

pub async fn show(settings: &Settings, limit: u64, json_out: bool) -> anyhow::Result<()> {
    let store = crate::cli::open_store(settings, false).await?;
    let q = store.queue();
    let depth = q.depth().await?;
    let now = chrono::Utc::now();
    let next_due = q.next_due().await?;
    // How late the most overdue claimable delivery is (0 when nothing is overdue).
    let lateness_s = next_due.map_or(0, |d| (now - d).num_seconds().max(0));
    let held = q.held(limit).await?;
    let pending = q.pending_by_reason().await?;
    // Held by a worker now, and waiting to try again: who holds what, and why it waits.
    let mut in_flight = Vec::new();
    for status in DeliveryStatus::LEASED {
        in_flight.extend(q.in_state(*status, limit).await?);
    }
    let mut retrying = Vec::new();
    for status in [DeliveryStatus::Retrying, DeliveryStatus::OutcomeUnknown] {
        retrying.extend(q.in_state(status, limit).await?);
    }
    let mut stuck = Vec::new();
    for status in [DeliveryStatus::Dead, DeliveryStatus::Failed] {
        for d in q.in_state(status, limit).await? {
            stuck.push(d);
        }
    }
    if json_out {
        let states: serde_json::Map<String, serde_json::Value> =
            depth.iter().map(|d| (d.status.to_string(), json!(d.count))).collect();
        let out = json!({
            "states": states,
            "pending_by_reason": pending.iter().map(|(r, n)| (r.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "next_due": next_due,
            "oldest_due_late_seconds": lateness_s,
            "in_flight": in_flight.iter().map(|d| json!({
                "id": d.id, "workspace_id": d.workspace_id, "post_id": d.post_id, "status": d.status,
                "account_id": d.social_account_id, "worker": d.claimed_by, "lease_expires_at": d.lease_expires_at,
                "attempts": d.attempts,
            })).collect::<Vec<_>>(),
            "retrying": retrying.iter().map(|d| json!({
                "id": d.id, "workspace_id": d.workspace_id, "post_id": d.post_id, "status": d.status,
                "error_kind": d.error_kind, "reason": d.last_error, "attempts": d.attempts, "next_try": d.run_at,
                "looks_up_first": d.lookup_first,
            })).collect::<Vec<_>>(),
            "held": held.iter().map(|d| json!({
                "id": d.id, "workspace_id": d.workspace_id, "post_id": d.post_id,
                "account_id": d.social_account_id, "reason": d.last_error, "next_look": d.run_at,
            })).collect::<Vec<_>>(),
            "not_published": stuck.iter().map(|d| json!({
                "id": d.id, "workspace_id": d.workspace_id, "post_id": d.post_id, "status": d.status,
                "error_kind": d.error_kind, "reason": d.last_error, "attempts": d.attempts,
                "scheduled_at": d.scheduled_at, "updated_at": d.updated_at,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let widest = depth.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    println!("deliveries by state");
    for d in &depth {
        // A bar per state: the chart people read at a glance.
        let bar = "█".repeat(((d.count * 40).div_ceil(widest)) as usize);
        println!("  {:<16} {:>8}  {bar}", d.status.to_string(), d.count);
        if d.status == DeliveryStatus::Pending && d.count > 0 {
            // Pending is not one thing: say what each pending delivery waits for.
            let why: Vec<String> = pending.iter().map(|(r, n)| format!("{n} {}", reason(r))).collect();
            println!("  {:<16} {:>8}  ({})", "", "", why.join(", "));
        }
    }
    let in_flight_count: u64 = depth
        .iter()
        .filter(|d| DeliveryStatus::LEASED.contains(&d.status))
        .map(|d| d.count)
        .sum();
    println!("in flight: {in_flight_count}");
    for d in &in_flight {
        println!(
            "  {} {} by {}, lease until {}",
            d.id,
            d.status,
            d.claimed_by.as_deref().unwrap_or("?"),
            d.lease_expires_at.map_or("?".to_owned(), |t| t.to_rfc3339())
        );
    }
    if !retrying.is_empty() {
        println!("waiting to try again:");
        for d in &retrying {
            let lookup = if d.lookup_first {
                ", looked up on the platform first"
            } else {
                ""
            };
            println!(
                "  {} {} after {} attempt(s), next at {}{lookup}: {}",
                d.id,
                d.status,
                d.attempts,
                d.run_at.map_or("?".to_owned(), |t| t.to_rfc3339()),
                d.last_error.as_deref().unwrap_or("(no reason recorded)")
            );
        }
    }
    match next_due {
        Some(at) if at <= now => println!("oldest due delivery is {lateness_s} s late (due {at})"),
        Some(at) => println!("next delivery due at {at}"),
        None => println!("nothing waiting"),
    }
    if !held.is_empty() {
        println!("held until a person acts (they wait; they do not fail):");
        for d in &held {
            println!("  {} {}", d.id, d.last_error.as_deref().unwrap_or_default());
        }
    }
    if !stuck.is_empty() {
        println!("not published (retry with the post's retry once the reason is fixed):");
        for d in &stuck {
            let kind = d.error_kind.as_deref().unwrap_or("-");
            let hint = if kind == "denied" {
                " [a policy setting of the operator]"
            } else {
                ""
            };
            println!(
                "  {} {} after {} attempt(s), {kind}{hint}: {}",
                d.id,
                d.status,
                d.attempts,
                d.last_error.as_deref().unwrap_or("(no reason recorded)")
            );
        }
    }
    store.close().await?;
    Ok(())
}

/// What a pending delivery waits for, in words.
fn reason(r: &str) -> &str {
    match r {
        "recurring_template" => "recurring templates (copied for each occurrence)",
        "draft" => "in drafts",
        "in_review" => "awaiting approval",
        "approved" => "approved, not yet scheduled",
        other => other,
    }
}
