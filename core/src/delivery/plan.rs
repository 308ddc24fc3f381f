//! From a planned delivery to a stored one, with the checks that need more than the store:
//! the audience decides whether a segment is large enough for the platform's native
//! targeting. (The store persists; it never calls up into audiences.)

use crate::audience::{Audience, AudienceError};
use crate::store::entity::delivery;
use crate::store::{NewDelivery, Tenant};
use crate::{Invalid, StoreError};

/// Stores `new`, refusing a scheduled, targeted delivery to a segment that reaches fewer
/// people than `targeting_minimum` (the platform plugin's `min-targeting-audience`), before
/// it is scheduled rather than when the platform rejects it.
pub async fn create_delivery(
    tenant: Tenant<'_>,
    new: NewDelivery,
    targeting_minimum: Option<u32>,
) -> Result<delivery::Model, StoreError> {
    if let (Some(min), Some(segment_id), Some(_), Some(_)) =
        (targeting_minimum, new.segment_id, &new.targeting, new.scheduled_at)
    {
        let segment = tenant.segments().get(segment_id).await?;
        let account = tenant.accounts().get(new.account_id).await?;
        let audience = Audience::new(tenant, segment.brand_id).await.map_err(audience_error)?;
        let size = audience.targeting_size(&segment).await.map_err(audience_error)?;
        if size < u64::from(min) {
            return Err(Invalid::new(
                "delivery.targeting",
                format!(
                    "segment {:?} reaches {size} people; {} needs at least {min} for native targeting. \
                     Widen the segment, or schedule without targeting",
                    segment.name, account.platform
                ),
            )
            .into());
        }
    }
    tenant.deliveries().create(new).await
}

fn audience_error(e: AudienceError) -> StoreError {
    match e {
        AudienceError::Invalid(i) => StoreError::Invalid(i),
        AudienceError::Store(s) => s,
    }
}
