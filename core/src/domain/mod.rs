//! Plain domain types and their invariants. Nothing here touches the database or the
//! network; the enums double as database columns (stored as short strings).

mod account;
mod audience;
mod delivery;
mod media;
mod names;
mod post;
mod schedule;
mod segment;
mod tenancy;
mod tone;
mod zone;

pub use account::AccountStatus;
pub use audience::{
    AudienceScale, Basis, COMPANY_SIZES, ENGAGEMENT_KINDS, EVENT_KINDS, GENDERS, JOB_FUNCTIONS, RELATIONS, SENIORITIES,
    TagFacet, Vocabulary, country_code, currency_exponent, language_code, money_minor, tag,
};
pub use delivery::{DeliveryStatus, FailureKind, idempotency_key};
pub use media::MediaKind;
pub use names::{PlatformId, Slug};
pub use post::{PostDraft, PostOptions, PostStatus, normalize_hashtag};
pub use schedule::CronSchedule;
pub use segment::{FunnelStage, PersonaDemographics, PersonaProfile, SegmentCanvas, SegmentKind, SegmentWhy};
pub use tenancy::{Role, WorkspaceKind};
pub use tone::{EmojiUse, Formality, GlossaryEntry, HashtagPlacement, PortableAudience, TargetingMode, ToneProfile};
pub use zone::Zone;

/// A new, time-ordered id (UUIDv7): sortable by creation, unguessable across tenants.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
