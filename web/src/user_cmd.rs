//! `chorus user create`: people who sign in, and their first role. The password comes from
//! `CHORUS_PASSWORD` or the first line of standard input, never from a flag (`ps` shows flags).

use anyhow::Context;
use chorus_core::domain::Role;
use chorus_core::store::{NewUser, Store};
use std::io::BufRead;

pub struct CreateUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub workspace: Option<&'a str>,
    pub brand: Option<&'a str>,
    pub role: Role,
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("CHORUS_PASSWORD")
        && !p.is_empty()
    {
        return Ok(p);
    }
    eprintln!(
        "password (at least {} characters), then Enter:",
        chorus_core::store::identity::MIN_PASSWORD_CHARS
    );
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn create(store: &Store, c: CreateUser<'_>) -> anyhow::Result<()> {
    let password = read_password()?;
    // Checked before the user exists, so a refused password leaves nothing half made.
    chorus_core::store::identity::hash_password(&password)?;
    let user = match store.users().by_email(c.email).await {
        Ok(u) => u,
        Err(chorus_core::StoreError::NotFound { .. }) => {
            store
                .users()
                .create(NewUser {
                    email: c.email.into(),
                    display_name: c.name.into(),
                })
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    store.identity().set_password(user.id, &password).await?;
    if let Some(slug) = c.workspace {
        let ws = store.workspaces().by_slug(slug).await?;
        let t = store.tenant(ws.id);
        let brand = match c.brand {
            Some(b) => Some(t.brands().by_slug(b).await?.id),
            None => None,
        };
        t.memberships().grant(user.id, brand, c.role).await?;
        println!(
            "{} can sign in; {} of {}{}",
            user.email,
            c.role.as_str(),
            ws.slug,
            c.brand.map(|b| format!(" (brand {b})")).unwrap_or_default()
        );
    } else {
        println!(
            "{} can sign in (no workspace role yet: add --workspace SLUG)",
            user.email
        );
    }
    Ok(())
}
