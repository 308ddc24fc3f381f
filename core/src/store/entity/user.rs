//! A person who signs in. Roles are per workspace or brand, in `membership`.
super::entity! {
    table = "users";
    pub struct Model {
        pub email: String,
        pub display_name: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// argon2id in PHC format; none until a password is set. Never serialised.
        #[serde(skip)]
        pub password_hash: Option<String>,
    }
}
