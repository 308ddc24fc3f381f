//! A person who signs in. Roles are per workspace or brand, in `membership`.
super::entity! {
    table = "users";
    pub struct Model {
        pub email: String,
        pub display_name: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
